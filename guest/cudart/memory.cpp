// Allocation entry points over the driver: device memory (cudaMalloc/cudaFree), page-locked
// host memory (cudaMallocHost/cudaHostAlloc/cudaFreeHost, from the process's shared heap in the
// driver shim), what a pointer is (cudaPointerGetAttributes) and how much memory is free.
#include <cstring>

#include "guest/client/log.h"
#include "guest/cudart/entry.h"

namespace vgpu::cudart {
namespace {

static_assert(cudaHostAllocPortable == CU_MEMHOSTALLOC_PORTABLE && cudaHostAllocMapped == CU_MEMHOSTALLOC_DEVICEMAP &&
              cudaHostAllocWriteCombined == CU_MEMHOSTALLOC_WRITECOMBINED);

cudaError_t host_alloc(void** ptr, size_t size, unsigned flags) {
  constexpr unsigned kKnownFlags = cudaHostAllocPortable | cudaHostAllocMapped | cudaHostAllocWriteCombined;
  return context_call([&](Runtime&) {
    if (ptr == nullptr || (flags & ~kKnownFlags) != 0) return cudaErrorInvalidValue;
    return to_cuda_error(cuMemHostAlloc(ptr, size, flags));
  });
}

// One attribute, or `fallback` where the driver has none for this pointer.
template <typename T>
T pointer_attribute(CUpointer_attribute which, const void* ptr, T fallback) {
  T value{};
  return cuPointerGetAttribute(&value, which, reinterpret_cast<CUdeviceptr>(ptr)) == CUDA_SUCCESS ? value : fallback;
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT cudaError_t cudaMalloc(void** devPtr, size_t size) {
  trace_api("cudaMalloc size=%zu", size);
  return context_call([&](Runtime&) {
    if (devPtr == nullptr) return cudaErrorInvalidValue;
    if (size == 0) {  // CUDA: success, and a null pointer (the driver refuses 0 bytes)
      *devPtr = nullptr;
      return cudaSuccess;
    }
    CUdeviceptr address = 0;
    if (CUresult r = cuMemAlloc(&address, size); r != CUDA_SUCCESS) return to_cuda_error(r);
    *devPtr = reinterpret_cast<void*>(address);
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaFree(void* devPtr) {
  trace_api("cudaFree ptr=%p", devPtr);
  // CUDA: freeing null succeeds (and initializes the runtime, which programs rely on).
  return context_call([&](Runtime&) {
    if (devPtr == nullptr) return cudaSuccess;
    return to_cuda_error(cuMemFree(reinterpret_cast<CUdeviceptr>(devPtr)));
  });
}

VGPU_EXPORT cudaError_t cudaMallocHost(void** ptr, size_t size) {
  trace_api("cudaMallocHost size=%zu", size);
  return host_alloc(ptr, size, cudaHostAllocDefault);
}

VGPU_EXPORT cudaError_t cudaHostAlloc(void** pHost, size_t size, unsigned int flags) {
  trace_api("cudaHostAlloc size=%zu flags=%u", size, flags);
  return host_alloc(pHost, size, flags);
}

VGPU_EXPORT cudaError_t cudaFreeHost(void* ptr) {
  trace_api("cudaFreeHost ptr=%p", ptr);
  return context_call([&](Runtime&) {
    if (ptr == nullptr) return cudaSuccess;
    // Like CUDA, wait for the device first: a copy still queued on a stream may target this
    // memory, and the block could otherwise be handed out again under it.
    const CUresult synced = cuCtxSynchronize();
    if (CUresult r = cuMemFreeHost(ptr); r != CUDA_SUCCESS) return to_cuda_error(r);
    return to_cuda_error(synced);
  });
}

VGPU_EXPORT cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attributes, const void* ptr) {
  trace_api("cudaPointerGetAttributes ptr=%p", ptr);
  return local_call([&](Runtime&) {
    if (attributes == nullptr) return cudaErrorInvalidValue;
    std::memset(attributes, 0, sizeof *attributes);
    const auto type = pointer_attribute<unsigned>(CU_POINTER_ATTRIBUTE_MEMORY_TYPE, ptr, 0);
    if (type == CU_MEMORYTYPE_DEVICE && pointer_attribute<unsigned>(CU_POINTER_ATTRIBUTE_IS_MANAGED, ptr, 0) != 0) {
      attributes->type = cudaMemoryTypeManaged;  // one address for the CPU and the GPU
      attributes->device = pointer_attribute<int>(CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, ptr, 0);
      attributes->devicePointer = const_cast<void*>(ptr);
      attributes->hostPointer = const_cast<void*>(ptr);
    } else if (type == CU_MEMORYTYPE_DEVICE) {
      attributes->type = cudaMemoryTypeDevice;
      attributes->device = pointer_attribute<int>(CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, ptr, 0);
      attributes->devicePointer = const_cast<void*>(ptr);
    } else if (type == CU_MEMORYTYPE_HOST) {
      attributes->type = cudaMemoryTypeHost;
      attributes->device = pointer_attribute<int>(CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, ptr, 0);
      attributes->hostPointer = const_cast<void*>(ptr);
      attributes->devicePointer = pointer_attribute<void*>(CU_POINTER_ATTRIBUTE_DEVICE_POINTER, ptr, nullptr);
    } else {
      attributes->type = cudaMemoryTypeUnregistered;
      attributes->device = -2;  // what CUDA reports for memory it does not know
      attributes->hostPointer = const_cast<void*>(ptr);
    }
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
  trace_api("cudaMemGetInfo");
  return context_call([&](Runtime&) {
    size_t f = 0, t = 0;
    if (CUresult r = cuMemGetInfo(&f, &t); r != CUDA_SUCCESS) return to_cuda_error(r);
    if (free) *free = f;
    if (total) *total = t;
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaHostGetDevicePointer(void** pDevice, void* pHost, unsigned int flags) {
  trace_api("cudaHostGetDevicePointer ptr=%p", pHost);
  return context_call([&](Runtime&) {
    if (pDevice == nullptr || flags != 0) return cudaErrorInvalidValue;
    CUdeviceptr device = 0;
    if (CUresult r = cuMemHostGetDevicePointer(&device, pHost, 0); r != CUDA_SUCCESS) return to_cuda_error(r);
    *pDevice = reinterpret_cast<void*>(device);
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaHostGetFlags(unsigned int* pFlags, void* pHost) {
  trace_api("cudaHostGetFlags ptr=%p", pHost);
  return context_call([&](Runtime&) { return to_cuda_error(cuMemHostGetFlags(pFlags, pHost)); });
}

// Guest pages cannot be handed to the GPU; the driver shim remembers the range and stages its
// copies, which keeps the semantics (host_memory.h in the driver shim).
VGPU_EXPORT cudaError_t cudaHostRegister(void* ptr, size_t size, unsigned int flags) {
  trace_api("cudaHostRegister ptr=%p size=%zu flags=%u", ptr, size, flags);
  static_assert(cudaHostRegisterPortable == CU_MEMHOSTREGISTER_PORTABLE &&
                cudaHostRegisterMapped == CU_MEMHOSTREGISTER_DEVICEMAP &&
                cudaHostRegisterIoMemory == CU_MEMHOSTREGISTER_IOMEMORY &&
                cudaHostRegisterReadOnly == CU_MEMHOSTREGISTER_READ_ONLY);
  return context_call([&](Runtime&) { return to_cuda_error(cuMemHostRegister(ptr, size, flags)); });
}

VGPU_EXPORT cudaError_t cudaHostUnregister(void* ptr) {
  trace_api("cudaHostUnregister ptr=%p", ptr);
  return context_call([&](Runtime&) { return to_cuda_error(cuMemHostUnregister(ptr)); });
}
