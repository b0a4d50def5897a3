// Device management: counts, selection, properties and attributes (answered from the guest
// cache after one DeviceGetInfo), synchronization, reset and versions.
#include <cstdio>
#include <span>

#include "guest/client/log.h"
#include "guest/cudart/device_props.h"
#include "guest/client/address_reservation.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/registry.h"
#include "guest/cudart/status_map.h"

namespace vgpu::cudart {
namespace {

// CUDART_VERSION of the CUDA 13.0 headers this shim implements.
constexpr int kRuntimeVersion = 13000;
// Every device flag cudaSetDeviceFlags accepts (schedule mode, map host, lmem resize, sync memops).
constexpr unsigned kKnownDeviceFlags = cudaDeviceMask;

cudaError_t device_info(Runtime& rt, int device, const DeviceInfo** out) {
  if (!rt.has_device(device)) return cudaErrorInvalidDevice;
  return rt.devices.get(*rt.channel, static_cast<uint32_t>(device), out);
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::Channel;
using vgpu::guest::trace_api;
using vgpu::proto::CallId;

VGPU_EXPORT cudaError_t cudaGetDeviceCount(int* count) {
  trace_api("cudaGetDeviceCount");
  if (count == nullptr) return offline_call([] { return cudaErrorInvalidValue; });
  *count = 0;  // what an unreachable vgpud leaves
  return local_call([&](Runtime& rt) {
    *count = static_cast<int>(rt.device_count);
    return rt.device_count == 0 ? cudaErrorNoDevice : cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaSetDevice(int device) {
  trace_api("cudaSetDevice device=%d", device);
  return local_call([&](Runtime& rt) {
    if (!rt.has_device(device)) return cudaErrorInvalidDevice;
    // The channel tells vgpud with the thread's next request: no round trip here.
    Channel::set_thread_device(static_cast<uint32_t>(device));
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaGetDevice(int* device) {
  trace_api("cudaGetDevice");
  return local_call([&](Runtime&) {
    if (device == nullptr) return cudaErrorInvalidValue;
    *device = static_cast<int>(Channel::thread_device());
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
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  trace_api("cudaGetDeviceProperties device=%d", device);
  return local_call([&](Runtime& rt) {
    if (prop == nullptr) return cudaErrorInvalidValue;
    const DeviceInfo* info = nullptr;
    if (cudaError_t e = device_info(rt, device, &info); e != cudaSuccess) return e;
    *prop = info->prop;
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  trace_api("cudaDeviceGetAttribute attr=%d device=%d", static_cast<int>(attr), device);
  return local_call([&](Runtime& rt) {
    if (value == nullptr) return cudaErrorInvalidValue;
    const DeviceInfo* info = nullptr;
    if (cudaError_t e = device_info(rt, device, &info); e != cudaSuccess) return e;
    // cudaDeviceAttr values are the CUdevice_attribute values.
    if (!has_device_attribute(info->raw, attr)) return cudaErrorInvalidValue;
    *value = device_attribute(info->raw, attr);
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaDeviceGetPCIBusId(char* pciBusId, int len, int device) {
  trace_api("cudaDeviceGetPCIBusId device=%d", device);
  return local_call([&](Runtime& rt) {
    if (pciBusId == nullptr || len <= 0) return cudaErrorInvalidValue;
    const DeviceInfo* info = nullptr;
    if (cudaError_t e = device_info(rt, device, &info); e != cudaSuccess) return e;
    // The host's bus id, as CUDA formats it: domain:bus:device.function.
    std::snprintf(pciBusId, static_cast<size_t>(len), "%04x:%02x:%02x.0", info->prop.pciDomainID, info->prop.pciBusID,
                  info->prop.pciDeviceID);
    return cudaSuccess;
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
  return remote_call([](Runtime& rt) {
    return to_cuda_error(rt.channel->call(CallId::DeviceSynchronize, {}, {}).status);
  });
}

VGPU_EXPORT cudaError_t cudaDeviceReset() {
  trace_api("cudaDeviceReset");
  return remote_call([](Runtime& rt) {
    int32_t status = rt.channel->call(CallId::DeviceReset, {}, {}).status;
    if (status != 0) return to_cuda_error(status);
    // The device's context is new: every module, kernel, variable address, allocation and
    // stream of it is gone; the other devices keep theirs. Modules reload on next use.
    const uint32_t device = Channel::thread_device();
    registry().invalidate(device);
    rt.symbols.clear_device(device);
    for (const AddressRange& r : rt.allocations.clear_device(device))
      vgpu::guest::release_device_range(r.start, r.size);
    rt.stream_generation[device].fetch_add(1);
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
  trace_api("cudaMemGetInfo");
  return remote_call([&](Runtime& rt) {
    vgpu::proto::MemGetInfoReply reply{};
    vgpu::guest::CallResult r =
        rt.channel->call(CallId::MemGetInfo, {}, std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
    if (r.status != 0) return to_cuda_error(r.status);
    if (r.payload_size < sizeof reply) return cudaErrorUnknown;
    if (free) *free = reply.free_bytes;
    if (total) *total = reply.total_bytes;
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaDeviceGetStreamPriorityRange(int* leastPriority, int* greatestPriority) {
  trace_api("cudaDeviceGetStreamPriorityRange");
  return local_call([&](Runtime&) {
    if (leastPriority) *leastPriority = 0;
    if (greatestPriority) *greatestPriority = -5;
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaDriverGetVersion(int* driverVersion) {
  trace_api("cudaDriverGetVersion");
  if (driverVersion == nullptr) return offline_call([] { return cudaErrorInvalidValue; });
  // CUDA documents 0 and success when no driver is there; deviceQuery-style tools print it.
  Runtime* rt = runtime();
  *driverVersion = rt ? rt->channel->hello().driver_version : 0;
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
