// Stream-ordered allocation and memory pools (cudaMallocAsync, cudaFreeAsync, cudaMemPool*),
// each the driver's call: the pools are the driver shim's (guest/cuda/mem_pools.h). A
// cudaMemPool_t is a CUmemoryPool, and the runtime's pool types are the driver's.
#include <cstddef>
#include <type_traits>

#include "guest/client/log.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/streams.h"

namespace vgpu::cudart {
namespace {

static_assert(std::is_same_v<cudaMemPool_t, CUmemoryPool>);
static_assert(cudaMemPoolReuseFollowEventDependencies == static_cast<int>(CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES) &&
              cudaMemPoolReuseAllowOpportunistic == static_cast<int>(CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC) &&
              cudaMemPoolReuseAllowInternalDependencies ==
                  static_cast<int>(CU_MEMPOOL_ATTR_REUSE_ALLOW_INTERNAL_DEPENDENCIES) &&
              cudaMemPoolAttrReleaseThreshold == static_cast<int>(CU_MEMPOOL_ATTR_RELEASE_THRESHOLD) &&
              cudaMemPoolAttrReservedMemCurrent == static_cast<int>(CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT) &&
              cudaMemPoolAttrReservedMemHigh == static_cast<int>(CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH) &&
              cudaMemPoolAttrUsedMemCurrent == static_cast<int>(CU_MEMPOOL_ATTR_USED_MEM_CURRENT) &&
              cudaMemPoolAttrUsedMemHigh == static_cast<int>(CU_MEMPOOL_ATTR_USED_MEM_HIGH));
static_assert(cudaMemLocationTypeDevice == static_cast<int>(CU_MEM_LOCATION_TYPE_DEVICE) &&
              cudaMemLocationTypeHost == static_cast<int>(CU_MEM_LOCATION_TYPE_HOST) &&
              cudaMemLocationTypeHostNuma == static_cast<int>(CU_MEM_LOCATION_TYPE_HOST_NUMA));
static_assert(cudaMemAllocationTypePinned == static_cast<int>(CU_MEM_ALLOCATION_TYPE_PINNED) &&
              cudaMemAllocationTypeManaged == static_cast<int>(CU_MEM_ALLOCATION_TYPE_MANAGED));
static_assert(cudaMemHandleTypeNone == static_cast<int>(CU_MEM_HANDLE_TYPE_NONE));
static_assert(cudaMemAccessFlagsProtNone == static_cast<int>(CU_MEM_ACCESS_FLAGS_PROT_NONE) &&
              cudaMemAccessFlagsProtReadWrite == static_cast<int>(CU_MEM_ACCESS_FLAGS_PROT_READWRITE));
static_assert(sizeof(cudaMemLocation) == sizeof(CUmemLocation) && offsetof(cudaMemLocation, id) == offsetof(CUmemLocation, id));
static_assert(sizeof(cudaMemAccessDesc) == sizeof(CUmemAccessDesc) &&
              offsetof(cudaMemAccessDesc, flags) == offsetof(CUmemAccessDesc, flags));
static_assert(sizeof(cudaMemPoolProps) == sizeof(CUmemPoolProps) &&
              offsetof(cudaMemPoolProps, handleTypes) == offsetof(CUmemPoolProps, handleTypes) &&
              offsetof(cudaMemPoolProps, location) == offsetof(CUmemPoolProps, location) &&
              offsetof(cudaMemPoolProps, maxSize) == offsetof(CUmemPoolProps, maxSize) &&
              offsetof(cudaMemPoolProps, usage) == offsetof(CUmemPoolProps, usage));

cudaError_t malloc_async(void** ptr, size_t size, cudaMemPool_t pool, cudaStream_t stream, bool per_thread_default) {
  return context_call([&](Runtime&) {
    if (ptr == nullptr) return cudaErrorInvalidValue;
    if (size == 0) {  // as cudaMalloc: success, and a null pointer (the driver refuses 0 bytes)
      *ptr = nullptr;
      return cudaSuccess;
    }
    CUdeviceptr address = 0;
    const CUstream s = driver_stream(stream, per_thread_default);
    const CUresult r = pool == nullptr ? cuMemAllocAsync(&address, size, s) : cuMemAllocFromPoolAsync(&address, size, pool, s);
    if (r != CUDA_SUCCESS) return to_cuda_error(r);
    *ptr = reinterpret_cast<void*>(address);
    return cudaSuccess;
  });
}

cudaError_t free_async(void* ptr, cudaStream_t stream, bool per_thread_default) {
  return context_call([&](Runtime&) {
    return to_cuda_error(cuMemFreeAsync(reinterpret_cast<CUdeviceptr>(ptr), driver_stream(stream, per_thread_default)));
  });
}

CUmemLocation* driver_location(cudaMemLocation* location) { return reinterpret_cast<CUmemLocation*>(location); }

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

// ---- stream-ordered allocation

VGPU_EXPORT cudaError_t cudaMallocAsync(void** devPtr, size_t size, cudaStream_t stream) {
  trace_api("cudaMallocAsync size=%zu stream=%p", size, static_cast<void*>(stream));
  return malloc_async(devPtr, size, nullptr, stream, false);
}
VGPU_EXPORT cudaError_t cudaMallocAsync_ptsz(void** devPtr, size_t size, cudaStream_t stream) {
  trace_api("cudaMallocAsync_ptsz size=%zu stream=%p", size, static_cast<void*>(stream));
  return malloc_async(devPtr, size, nullptr, stream, true);
}

VGPU_EXPORT cudaError_t cudaMallocFromPoolAsync(void** ptr, size_t size, cudaMemPool_t memPool, cudaStream_t stream) {
  trace_api("cudaMallocFromPoolAsync size=%zu pool=%p stream=%p", size, static_cast<void*>(memPool),
            static_cast<void*>(stream));
  if (memPool == nullptr) return finish_call(cudaErrorInvalidValue);
  return malloc_async(ptr, size, memPool, stream, false);
}
VGPU_EXPORT cudaError_t cudaMallocFromPoolAsync_ptsz(void** ptr, size_t size, cudaMemPool_t memPool,
                                                    cudaStream_t stream) {
  trace_api("cudaMallocFromPoolAsync_ptsz size=%zu pool=%p stream=%p", size, static_cast<void*>(memPool),
            static_cast<void*>(stream));
  if (memPool == nullptr) return finish_call(cudaErrorInvalidValue);
  return malloc_async(ptr, size, memPool, stream, true);
}

VGPU_EXPORT cudaError_t cudaFreeAsync(void* devPtr, cudaStream_t stream) {
  trace_api("cudaFreeAsync ptr=%p stream=%p", devPtr, static_cast<void*>(stream));
  return free_async(devPtr, stream, false);
}
VGPU_EXPORT cudaError_t cudaFreeAsync_ptsz(void* devPtr, cudaStream_t stream) {
  trace_api("cudaFreeAsync_ptsz ptr=%p stream=%p", devPtr, static_cast<void*>(stream));
  return free_async(devPtr, stream, true);
}

// ---- a device's pools

VGPU_EXPORT cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t* memPool, int device) {
  trace_api("cudaDeviceGetDefaultMemPool device=%d", device);
  return local_call([&](Runtime&) { return to_cuda_error(cuDeviceGetDefaultMemPool(memPool, device)); });
}

VGPU_EXPORT cudaError_t cudaDeviceGetMemPool(cudaMemPool_t* memPool, int device) {
  trace_api("cudaDeviceGetMemPool device=%d", device);
  return local_call([&](Runtime&) { return to_cuda_error(cuDeviceGetMemPool(memPool, device)); });
}

VGPU_EXPORT cudaError_t cudaDeviceSetMemPool(int device, cudaMemPool_t memPool) {
  trace_api("cudaDeviceSetMemPool device=%d pool=%p", device, static_cast<void*>(memPool));
  return local_call([&](Runtime&) { return to_cuda_error(cuDeviceSetMemPool(device, memPool)); });
}

VGPU_EXPORT cudaError_t cudaMemGetDefaultMemPool(cudaMemPool_t* memPool, cudaMemLocation* location,
                                                 cudaMemAllocationType type) {
  trace_api("cudaMemGetDefaultMemPool");
  return local_call([&](Runtime&) {
    return to_cuda_error(
        cuMemGetDefaultMemPool(memPool, driver_location(location), static_cast<CUmemAllocationType>(type)));
  });
}

VGPU_EXPORT cudaError_t cudaMemGetMemPool(cudaMemPool_t* memPool, cudaMemLocation* location,
                                          cudaMemAllocationType type) {
  trace_api("cudaMemGetMemPool");
  return local_call([&](Runtime&) {
    return to_cuda_error(cuMemGetMemPool(memPool, driver_location(location), static_cast<CUmemAllocationType>(type)));
  });
}

VGPU_EXPORT cudaError_t cudaMemSetMemPool(cudaMemLocation* location, cudaMemAllocationType type,
                                          cudaMemPool_t memPool) {
  trace_api("cudaMemSetMemPool pool=%p", static_cast<void*>(memPool));
  return local_call([&](Runtime&) {
    return to_cuda_error(cuMemSetMemPool(driver_location(location), static_cast<CUmemAllocationType>(type), memPool));
  });
}

// ---- pools

VGPU_EXPORT cudaError_t cudaMemPoolCreate(cudaMemPool_t* memPool, const cudaMemPoolProps* poolProps) {
  trace_api("cudaMemPoolCreate");
  return local_call([&](Runtime&) {
    return to_cuda_error(cuMemPoolCreate(memPool, reinterpret_cast<const CUmemPoolProps*>(poolProps)));
  });
}

VGPU_EXPORT cudaError_t cudaMemPoolDestroy(cudaMemPool_t memPool) {
  trace_api("cudaMemPoolDestroy pool=%p", static_cast<void*>(memPool));
  return context_call([&](Runtime&) { return to_cuda_error(cuMemPoolDestroy(memPool)); });
}

VGPU_EXPORT cudaError_t cudaMemPoolTrimTo(cudaMemPool_t memPool, size_t minBytesToKeep) {
  trace_api("cudaMemPoolTrimTo pool=%p keep=%zu", static_cast<void*>(memPool), minBytesToKeep);
  return context_call([&](Runtime&) { return to_cuda_error(cuMemPoolTrimTo(memPool, minBytesToKeep)); });
}

VGPU_EXPORT cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t memPool, cudaMemPoolAttr attr, void* value) {
  trace_api("cudaMemPoolSetAttribute pool=%p attr=%d", static_cast<void*>(memPool), static_cast<int>(attr));
  return local_call([&](Runtime&) {
    return to_cuda_error(cuMemPoolSetAttribute(memPool, static_cast<CUmemPool_attribute>(attr), value));
  });
}

VGPU_EXPORT cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t memPool, cudaMemPoolAttr attr, void* value) {
  trace_api("cudaMemPoolGetAttribute pool=%p attr=%d", static_cast<void*>(memPool), static_cast<int>(attr));
  return local_call([&](Runtime&) {
    return to_cuda_error(cuMemPoolGetAttribute(memPool, static_cast<CUmemPool_attribute>(attr), value));
  });
}

VGPU_EXPORT cudaError_t cudaMemPoolSetAccess(cudaMemPool_t memPool, const cudaMemAccessDesc* descList, size_t count) {
  trace_api("cudaMemPoolSetAccess pool=%p count=%zu", static_cast<void*>(memPool), count);
  return local_call([&](Runtime&) {
    return to_cuda_error(cuMemPoolSetAccess(memPool, reinterpret_cast<const CUmemAccessDesc*>(descList), count));
  });
}

VGPU_EXPORT cudaError_t cudaMemPoolGetAccess(cudaMemAccessFlags* flags, cudaMemPool_t memPool,
                                             cudaMemLocation* location) {
  trace_api("cudaMemPoolGetAccess pool=%p", static_cast<void*>(memPool));
  return local_call([&](Runtime&) {
    return to_cuda_error(
        cuMemPoolGetAccess(reinterpret_cast<CUmemAccess_flags*>(flags), memPool, driver_location(location)));
  });
}
