// Managed memory through the runtime: each call is the driver call (the driver shim keeps the
// memory coherent, guest/cuda/managed_memory.h).
#include <cstddef>

#include "guest/client/log.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/streams.h"

namespace vgpu::cudart {
namespace {

static_assert(cudaMemAttachGlobal == CU_MEM_ATTACH_GLOBAL && cudaMemAttachHost == CU_MEM_ATTACH_HOST &&
              cudaMemAttachSingle == CU_MEM_ATTACH_SINGLE);
static_assert(cudaMemAdviseSetReadMostly == static_cast<int>(CU_MEM_ADVISE_SET_READ_MOSTLY) &&
              cudaMemAdviseUnsetAccessedBy == static_cast<int>(CU_MEM_ADVISE_UNSET_ACCESSED_BY));
static_assert(sizeof(cudaMemLocation) == sizeof(CUmemLocation) && offsetof(cudaMemLocation, id) == offsetof(CUmemLocation, id));

CUmemLocation driver_location(cudaMemLocation location) {
  CUmemLocation l{};
  l.type = static_cast<CUmemLocationType>(location.type);
  l.id = location.id;
  return l;
}

cudaError_t prefetch(const void* ptr, size_t count, cudaMemLocation location, unsigned flags, cudaStream_t stream,
                     bool per_thread_default) {
  return context_call([&](Runtime&) {
    return to_cuda_error(cuMemPrefetchAsync_v2(reinterpret_cast<CUdeviceptr>(ptr), count, driver_location(location),
                                               flags, driver_stream(stream, per_thread_default)));
  });
}

cudaError_t attach(cudaStream_t stream, void* ptr, size_t length, unsigned flags, bool per_thread_default) {
  return context_call([&](Runtime&) {
    return to_cuda_error(cuStreamAttachMemAsync(driver_stream(stream, per_thread_default),
                                                reinterpret_cast<CUdeviceptr>(ptr), length, flags));
  });
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT cudaError_t cudaMallocManaged(void** devPtr, size_t size, unsigned int flags) {
  trace_api("cudaMallocManaged size=%zu flags=%u", size, flags);
  return context_call([&](Runtime&) {
    if (devPtr == nullptr) return cudaErrorInvalidValue;
    if (size == 0) {  // as cudaMalloc: success, and a null pointer
      *devPtr = nullptr;
      return cudaSuccess;
    }
    CUdeviceptr address = 0;
    if (CUresult r = cuMemAllocManaged(&address, size, flags); r != CUDA_SUCCESS) return to_cuda_error(r);
    *devPtr = reinterpret_cast<void*>(address);
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaMemPrefetchAsync(const void* devPtr, size_t count, cudaMemLocation location,
                                             unsigned int flags, cudaStream_t stream) {
  trace_api("cudaMemPrefetchAsync ptr=%p count=%zu", devPtr, count);
  return prefetch(devPtr, count, location, flags, stream, false);
}
VGPU_EXPORT cudaError_t cudaMemPrefetchAsync_ptsz(const void* devPtr, size_t count, cudaMemLocation location,
                                                  unsigned int flags, cudaStream_t stream) {
  trace_api("cudaMemPrefetchAsync_ptsz ptr=%p count=%zu", devPtr, count);
  return prefetch(devPtr, count, location, flags, stream, true);
}

VGPU_EXPORT cudaError_t cudaMemAdvise(const void* devPtr, size_t count, cudaMemoryAdvise advice,
                                      cudaMemLocation location) {
  trace_api("cudaMemAdvise ptr=%p count=%zu advice=%d", devPtr, count, static_cast<int>(advice));
  return context_call([&](Runtime&) {
    return to_cuda_error(cuMemAdvise_v2(reinterpret_cast<CUdeviceptr>(devPtr), count,
                                        static_cast<CUmem_advise>(advice), driver_location(location)));
  });
}

VGPU_EXPORT cudaError_t cudaStreamAttachMemAsync(cudaStream_t stream, void* devPtr, size_t length, unsigned int flags) {
  trace_api("cudaStreamAttachMemAsync ptr=%p length=%zu", devPtr, length);
  return attach(stream, devPtr, length, flags, false);
}
VGPU_EXPORT cudaError_t cudaStreamAttachMemAsync_ptsz(cudaStream_t stream, void* devPtr, size_t length,
                                                      unsigned int flags) {
  trace_api("cudaStreamAttachMemAsync_ptsz ptr=%p length=%zu", devPtr, length);
  return attach(stream, devPtr, length, flags, true);
}
