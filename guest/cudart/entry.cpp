#include "guest/cudart/entry.h"

#include "guest/cudart/status_map.h"

namespace vgpu::cudart {
namespace {

// Trivially destructible, so it stays usable while threads and the process exit.
thread_local cudaError_t t_last_error = cudaSuccess;

}  // namespace

void record_error(cudaError_t error) noexcept {
  if (error != cudaSuccess && error != cudaErrorNotReady) t_last_error = error;
}

cudaError_t peek_last_error() noexcept { return t_last_error; }

cudaError_t take_last_error() noexcept {
  cudaError_t e = t_last_error;
  t_last_error = cudaSuccess;
  return e;
}

cudaError_t finish_call(Runtime* rt, cudaError_t result, bool collect_async) noexcept {
  if (rt != nullptr && collect_async) {
    int32_t async = 0;
    try {
      async = rt->channel->take_async_error();
    } catch (...) {
      async = 0;
    }
    if (async != 0) {
      cudaError_t late = to_cuda_error(async);
      record_error(late);
      if (result == cudaSuccess || result == cudaErrorNotReady) result = late;
    }
  }
  record_error(result);
  return result;
}

}  // namespace vgpu::cudart
