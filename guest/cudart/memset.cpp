// cudaMemset and cudaMemsetAsync: the driver's byte memsets, stream-ordered. CUDA's cudaMemset
// on device memory does not wait for the device either.
#include "guest/client/log.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/streams.h"

namespace vgpu::cudart {
namespace {

cudaError_t memset_api(void* dst, int value, size_t count, cudaStream_t stream, bool per_thread_default) {
  return context_call([&](Runtime&) {
    if (count == 0) return cudaSuccess;
    if (dst == nullptr) return cudaErrorInvalidValue;
    const auto byte = static_cast<unsigned char>(value);
    return to_cuda_error(cuMemsetD8Async(reinterpret_cast<CUdeviceptr>(dst), byte, count,
                                         driver_stream(stream, per_thread_default)));
  });
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT cudaError_t cudaMemset(void* devPtr, int value, size_t count) {
  trace_api("cudaMemset ptr=%p value=%d count=%zu", devPtr, value, count);
  return memset_api(devPtr, value, count, nullptr, false);
}

VGPU_EXPORT cudaError_t cudaMemset_ptds(void* devPtr, int value, size_t count) {
  trace_api("cudaMemset_ptds ptr=%p value=%d count=%zu", devPtr, value, count);
  return memset_api(devPtr, value, count, nullptr, true);
}

VGPU_EXPORT cudaError_t cudaMemsetAsync(void* devPtr, int value, size_t count, cudaStream_t stream) {
  trace_api("cudaMemsetAsync ptr=%p value=%d count=%zu stream=%p", devPtr, value, count,
            static_cast<void*>(stream));
  return memset_api(devPtr, value, count, stream, false);
}

VGPU_EXPORT cudaError_t cudaMemsetAsync_ptsz(void* devPtr, int value, size_t count, cudaStream_t stream) {
  trace_api("cudaMemsetAsync_ptsz ptr=%p value=%d count=%zu stream=%p", devPtr, value, count,
            static_cast<void*>(stream));
  return memset_api(devPtr, value, count, stream, true);
}
