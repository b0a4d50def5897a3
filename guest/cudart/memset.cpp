// cudaMemset and cudaMemsetAsync: posted, stream-ordered. CUDA's cudaMemset on device memory
// does not wait for the device either.
#include "guest/client/log.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/status_map.h"
#include "guest/cudart/streams.h"

namespace vgpu::cudart {
namespace {

cudaError_t memset_api(void* dst, int value, size_t count, cudaStream_t stream, bool per_thread_default) {
  return remote_call([&](Runtime& rt) {
    if (count == 0) return cudaSuccess;
    if (dst == nullptr) return cudaErrorInvalidValue;
    uint64_t wire = 0;
    if (cudaError_t e = wire_stream(rt, stream, per_thread_default, &wire); e != cudaSuccess) return e;
    proto::MemsetRequest request{static_cast<uint64_t>(reinterpret_cast<uintptr_t>(dst)), count, wire,
                                 static_cast<uint32_t>(value) & 0xffu, 0};
    return to_cuda_error(rt.channel->post(proto::CallId::Memset, {{&request, sizeof request}}));
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
