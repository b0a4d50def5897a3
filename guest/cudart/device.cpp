// Device management: counts, selection, properties and attributes (answered by the driver
// shim from its snapshot, and cached here as cudaDeviceProp), synchronization, reset and
// versions.
#include <cstdio>

#include "guest/client/log.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/registry.h"

namespace vgpu::cudart {
namespace {

// Every device flag cudaSetDeviceFlags accepts (schedule mode, map host, lmem resize, sync memops).
constexpr unsigned kKnownDeviceFlags = cudaDeviceMask;

cudaError_t device_prop(Runtime& rt, int device, const cudaDeviceProp** out) {
  if (!rt.has_device(device)) return cudaErrorInvalidDevice;
  return rt.devices.get(device, out);
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT cudaError_t cudaGetDeviceCount(int* count) {
  trace_api("cudaGetDeviceCount");
  if (count == nullptr) return offline_call([] { return cudaErrorInvalidValue; });
  *count = 0;  // what an unreachable vgpud leaves
  return local_call([&](Runtime& rt) {
    *count = rt.device_count;
    return rt.device_count == 0 ? cudaErrorNoDevice : cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaSetDevice(int device) {
  trace_api("cudaSetDevice device=%d", device);
  return local_call([&](Runtime& rt) { return select_device(rt, device); });
}

VGPU_EXPORT cudaError_t cudaGetDevice(int* device) {
  trace_api("cudaGetDevice");
  return local_call([&](Runtime&) {
    if (device == nullptr) return cudaErrorInvalidValue;
    *device = thread_device();
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaInitDevice(int device, unsigned int deviceFlags, unsigned int flags) {
  trace_api("cudaInitDevice device=%d", device);
  return local_call([&](Runtime& rt) {
    if (!rt.has_device(device)) return cudaErrorInvalidDevice;
    if ((deviceFlags & ~kKnownDeviceFlags) != 0 || (flags & ~unsigned{cudaInitDeviceFlagsAreValid}) != 0) {
      return cudaErrorInvalidValue;
    }
    if (flags & cudaInitDeviceFlagsAreValid) rt.device_flags.store(deviceFlags);
    CUcontext primary = nullptr;
    return rt.primary(device, &primary);
  });
}

VGPU_EXPORT cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  trace_api("cudaGetDeviceProperties device=%d", device);
  return local_call([&](Runtime& rt) {
    if (prop == nullptr) return cudaErrorInvalidValue;
    const cudaDeviceProp* cached = nullptr;
    if (cudaError_t e = device_prop(rt, device, &cached); e != cudaSuccess) return e;
    *prop = *cached;
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  trace_api("cudaDeviceGetAttribute attr=%d device=%d", static_cast<int>(attr), device);
  return local_call([&](Runtime& rt) {
    if (value == nullptr) return cudaErrorInvalidValue;
    if (!rt.has_device(device)) return cudaErrorInvalidDevice;
    // cudaDeviceAttr values are the CUdevice_attribute values.
    return to_cuda_error(cuDeviceGetAttribute(value, static_cast<CUdevice_attribute>(attr), device));
  });
}

VGPU_EXPORT cudaError_t cudaDeviceGetPCIBusId(char* pciBusId, int len, int device) {
  trace_api("cudaDeviceGetPCIBusId device=%d", device);
  return local_call([&](Runtime& rt) {
    if (pciBusId == nullptr || len <= 0) return cudaErrorInvalidValue;
    if (!rt.has_device(device)) return cudaErrorInvalidDevice;
    return to_cuda_error(cuDeviceGetPCIBusId(pciBusId, len, device));
  });
}

VGPU_EXPORT cudaError_t cudaChooseDevice(int* device, const cudaDeviceProp* prop) {
  trace_api("cudaChooseDevice");
  return local_call([&](Runtime& rt) {
    if (device == nullptr || prop == nullptr) return cudaErrorInvalidValue;
    if (rt.device_count == 0) return cudaErrorNoDevice;
    *device = 0;  // every device vgpu offers a guest is the same kind of GPU
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaGetDeviceFlags(unsigned int* flags) {
  trace_api("cudaGetDeviceFlags");
  return local_call([&](Runtime& rt) {
    if (flags == nullptr) return cudaErrorInvalidValue;
    *flags = rt.device_flags.load();
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaSetDeviceFlags(unsigned int flags) {
  trace_api("cudaSetDeviceFlags flags=%u", flags);
  return local_call([&](Runtime& rt) {
    if ((flags & ~kKnownDeviceFlags) != 0) return cudaErrorInvalidValue;
    // Scheduling is vgpud's business (polling with back-off); the flags are remembered so
    // cudaGetDeviceFlags answers what was set.
    rt.device_flags.store(flags);
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaDeviceSynchronize() {
  trace_api("cudaDeviceSynchronize");
  return context_call([](Runtime&) { return to_cuda_error(cuCtxSynchronize()); });
}

VGPU_EXPORT cudaError_t cudaDeviceReset() {
  trace_api("cudaDeviceReset");
  return local_call([](Runtime& rt) {
    // The device's primary context is reset: every module, variable address, allocation and
    // stream of it is gone; the other devices keep theirs. Modules reload on next use.
    const int device = thread_device();
    if (CUresult r = cuDevicePrimaryCtxReset(device); r != CUDA_SUCCESS) return to_cuda_error(r);
    registry().invalidate(device);
    rt.forget_primary(device);
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaDeviceGetStreamPriorityRange(int* leastPriority, int* greatestPriority) {
  trace_api("cudaDeviceGetStreamPriorityRange");
  return context_call([&](Runtime&) { return to_cuda_error(cuCtxGetStreamPriorityRange(leastPriority, greatestPriority)); });
}

VGPU_EXPORT cudaError_t cudaDriverGetVersion(int* driverVersion) {
  trace_api("cudaDriverGetVersion");
  if (driverVersion == nullptr) return offline_call([] { return cudaErrorInvalidValue; });
  // CUDA documents 0 and success when no driver is there; deviceQuery-style tools print it.
  *driverVersion = 0;
  if (runtime() != nullptr) (void)cuDriverGetVersion(driverVersion);
  return cudaSuccess;
}

VGPU_EXPORT cudaError_t cudaRuntimeGetVersion(int* runtimeVersion) {
  trace_api("cudaRuntimeGetVersion");
  return offline_call([&] {
    if (runtimeVersion == nullptr) return cudaErrorInvalidValue;
    *runtimeVersion = kRuntimeVersion;
    return cudaSuccess;
  });
}

// cudaLimit and CUlimit number the same limits; the driver checks the value.
static_assert(static_cast<int>(cudaLimitStackSize) == CU_LIMIT_STACK_SIZE &&
              static_cast<int>(cudaLimitPrintfFifoSize) == CU_LIMIT_PRINTF_FIFO_SIZE &&
              static_cast<int>(cudaLimitMallocHeapSize) == CU_LIMIT_MALLOC_HEAP_SIZE &&
              static_cast<int>(cudaLimitPersistingL2CacheSize) == CU_LIMIT_PERSISTING_L2_CACHE_SIZE);

VGPU_EXPORT cudaError_t cudaDeviceGetLimit(size_t* pValue, cudaLimit limit) {
  trace_api("cudaDeviceGetLimit limit=%d", static_cast<int>(limit));
  return context_call([&](Runtime&) {
    if (pValue == nullptr) return cudaErrorInvalidValue;
    return to_cuda_error(cuCtxGetLimit(pValue, static_cast<CUlimit>(limit)));
  });
}

VGPU_EXPORT cudaError_t cudaDeviceSetLimit(cudaLimit limit, size_t value) {
  trace_api("cudaDeviceSetLimit limit=%d value=%zu", static_cast<int>(limit), value);
  return context_call([&](Runtime&) { return to_cuda_error(cuCtxSetLimit(static_cast<CUlimit>(limit), value)); });
}
