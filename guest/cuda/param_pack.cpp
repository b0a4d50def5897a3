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

namespace {

bool buffer_from_extra(void* const* extra, const void** buffer, size_t* size) {
  *buffer = nullptr;
  *size = 0;
  bool have_size = false;
  for (size_t i = 0; i < 64 && extra[i] != CU_LAUNCH_PARAM_END; i += 2) {
    if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER) {
      *buffer = extra[i + 1];
    } else if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE && extra[i + 1] != nullptr) {
      std::memcpy(size, extra[i + 1], sizeof *size);
      have_size = true;
    } else {
      return false;
    }
  }
  return *buffer != nullptr && have_size;
}

}  // namespace

CUresult pack_arguments(std::span<const proto::KernelParamInfo> params, uint32_t buffer_size, void* const* args,
                        void* const* extra, std::span<uint8_t> out) {
  if (args != nullptr) return pack_params(params, buffer_size, args, out);
  if (extra != nullptr) {
    const void* buffer = nullptr;
    size_t size = 0;
    if (!buffer_from_extra(extra, &buffer, &size) || size < buffer_size || out.size() < buffer_size)
      return CUDA_ERROR_INVALID_VALUE;
    if (buffer_size != 0) std::memcpy(out.data(), buffer, buffer_size);
    return CUDA_SUCCESS;
  }
  return buffer_size == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

}  // namespace vgpu::cuda
