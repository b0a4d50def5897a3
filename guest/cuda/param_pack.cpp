#include "guest/cuda/param_pack.h"

#include <cstring>

#include "vgpu/protocol/limits.h"

namespace vgpu::cuda {

bool param_layout_valid(std::span<const proto::KernelParamInfo> params, uint32_t buffer_size) {
  if (buffer_size > limits::kMaxKernelParamBytes || params.size() > limits::kMaxKernelParams) return false;
  for (const auto& p : params) {
    if (p.offset > buffer_size || p.size > buffer_size - p.offset) return false;
  }
  return true;
}

CUresult pack_params(std::span<const proto::KernelParamInfo> params, uint32_t buffer_size,
                        void* const* args, std::span<uint8_t> out) {
  if (out.size() < buffer_size) return CUDA_ERROR_INVALID_VALUE;
  if (!params.empty() && args == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (buffer_size > 0) std::memset(out.data(), 0, buffer_size);
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& p = params[i];
    if (p.size == 0) continue;
    if (args[i] == nullptr) return CUDA_ERROR_INVALID_VALUE;
    std::memcpy(out.data() + p.offset, args[i], p.size);
  }
  return CUDA_SUCCESS;
}

}  // namespace vgpu::cuda
