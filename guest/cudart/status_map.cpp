#include "guest/cudart/status_map.h"

#include "guest/cudart/error_table.h"

namespace vgpu::cudart {

cudaError_t to_cuda_error(CUresult result) noexcept {
  if (result == CUDA_SUCCESS) return cudaSuccess;
  const int code = static_cast<int>(result);
  if (code > 0 && is_cuda_error(code)) return static_cast<cudaError_t>(code);
  return cudaErrorUnknown;
}

}  // namespace vgpu::cudart
