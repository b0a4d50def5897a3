// cudaMemcpy and cudaMemcpyAsync, and the copy they share with the symbol and peer copies.
// cudaMemcpy waits for its copy (the driver's synchronous copies); cudaMemcpyAsync uses the
// driver's asynchronous ones, which return before the copy is done wherever the memory allows.
// A _ptds cudaMemcpy is an asynchronous copy on the thread's per-thread stream, waited for.
#include "guest/cudart/copy.h"

#include <cuda.h>

#include <cstring>

#include "guest/client/log.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/pointer_class.h"
#include "guest/cudart/streams.h"

namespace vgpu::cudart {
namespace {

CUdeviceptr device_address(const void* p) { return reinterpret_cast<CUdeviceptr>(p); }

CUresult copy_async(Direction direction, const CopyArgs& a, CUstream stream) {
  switch (direction) {
    case Direction::HostToDevice:
      return cuMemcpyHtoDAsync(device_address(a.dst), a.src, a.count, stream);
    case Direction::DeviceToHost:
      return cuMemcpyDtoHAsync(a.dst, device_address(a.src), a.count, stream);
    case Direction::DeviceToDevice:
      return cuMemcpyDtoDAsync(device_address(a.dst), device_address(a.src), a.count, stream);
    case Direction::HostToHost:
      break;
  }
  return CUDA_ERROR_INVALID_VALUE;
}

CUresult copy_sync(Direction direction, const CopyArgs& a) {
  switch (direction) {
    case Direction::HostToDevice:
      return cuMemcpyHtoD(device_address(a.dst), a.src, a.count);
    case Direction::DeviceToHost:
      return cuMemcpyDtoH(a.dst, device_address(a.src), a.count);
    case Direction::DeviceToDevice:
      return cuMemcpyDtoD(device_address(a.dst), device_address(a.src), a.count);
    case Direction::HostToHost:
      break;
  }
  return CUDA_ERROR_INVALID_VALUE;
}

cudaError_t memcpy_api(void* dst, const void* src, size_t count, cudaMemcpyKind kind, cudaStream_t stream,
                       bool per_thread_default, bool async) {
  return context_call([&](Runtime&) {
    return copy_memory(CopyArgs{dst, src, count, kind, stream, per_thread_default, async});
  });
}

}  // namespace

cudaError_t copy_memory(const CopyArgs& a) {
  if (a.count == 0) return cudaSuccess;
  if (a.dst == nullptr || a.src == nullptr) return cudaErrorInvalidValue;
  const std::optional<Direction> direction = copy_direction(a.kind, pointer_kind(a.dst), pointer_kind(a.src));
  if (!direction) return cudaErrorInvalidMemcpyDirection;
  if (*direction == Direction::HostToHost) {
    std::memmove(a.dst, a.src, a.count);
    return cudaSuccess;
  }
  if (!a.async && !a.per_thread_default) return to_cuda_error(copy_sync(*direction, a));
  const CUstream stream = driver_stream(a.stream, a.per_thread_default);
  CUresult r = copy_async(*direction, a, stream);
  if (r == CUDA_SUCCESS && !a.async) r = cuStreamSynchronize(stream);
  return to_cuda_error(r);
}

}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  trace_api("cudaMemcpy dst=%p src=%p count=%zu kind=%d", dst, src, count, static_cast<int>(kind));
  return memcpy_api(dst, src, count, kind, nullptr, false, false);
}

VGPU_EXPORT cudaError_t cudaMemcpy_ptds(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  trace_api("cudaMemcpy_ptds dst=%p src=%p count=%zu kind=%d", dst, src, count, static_cast<int>(kind));
  return memcpy_api(dst, src, count, kind, nullptr, true, false);
}

VGPU_EXPORT cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind kind,
                                        cudaStream_t stream) {
  trace_api("cudaMemcpyAsync dst=%p src=%p count=%zu kind=%d stream=%p", dst, src, count, static_cast<int>(kind),
            static_cast<void*>(stream));
  return memcpy_api(dst, src, count, kind, stream, false, true);
}

VGPU_EXPORT cudaError_t cudaMemcpyAsync_ptsz(void* dst, const void* src, size_t count, cudaMemcpyKind kind,
                                             cudaStream_t stream) {
  trace_api("cudaMemcpyAsync_ptsz dst=%p src=%p count=%zu kind=%d stream=%p", dst, src, count,
            static_cast<int>(kind), static_cast<void*>(stream));
  return memcpy_api(dst, src, count, kind, stream, true, true);
}
