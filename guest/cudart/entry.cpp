#include "guest/cudart/entry.h"

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

cudaError_t no_runtime_error(CUresult init_error) noexcept {
  // cuInit's "no device" (vgpud unreachable, or it offers none) is the runtime's too; anything
  // else that stops the driver (a version mismatch, say) is one the runtime reports as such.
  if (init_error == CUDA_ERROR_NO_DEVICE || init_error == CUDA_SUCCESS) return cudaErrorNoDevice;
  return to_cuda_error(init_error);
}

}  // namespace vgpu::cudart
