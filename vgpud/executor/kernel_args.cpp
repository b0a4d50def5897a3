#include "vgpud/executor/kernel_args.h"

namespace vgpud {

using vgpu::Err;

vgpu::Result<size_t, KernelArgsError> build_kernel_args(std::span<const proto::KernelParamInfo> params,
                                                        uint32_t expected_size,
                                                        std::span<const uint8_t> buffer,
                                                        std::span<void*> args) {
  if (params.size() > vgpu::limits::kMaxKernelParams || params.size() > args.size())
    return Err{KernelArgsError::TooManyParams};
  if (expected_size > vgpu::limits::kMaxKernelParamBytes) return Err{KernelArgsError::BufferTooLarge};
  if (buffer.size() != expected_size) return Err{KernelArgsError::BufferSizeMismatch};
  // The layout came from the driver, so this holds for every function vgpud built one for;
  // checked anyway, because a pointer that leaves the buffer is a read of vgpud's memory.
  // Written so that nothing overflows: offset and size are each below 2^32.
  for (const auto& p : params)
    if (p.offset > buffer.size() || p.size > buffer.size() - p.offset) return Err{KernelArgsError::ParamOutside};
  // cuLaunchKernel wants void*; it only reads.
  auto* base = const_cast<uint8_t*>(buffer.data());
  for (size_t i = 0; i < params.size(); ++i) args[i] = base + params[i].offset;
  return params.size();
}

std::vector<uint8_t> encode_launch_params(std::span<const proto::KernelParamInfo> params,
                                          uint32_t expected_size, std::span<const uint8_t> buffer) {
  std::vector<uint8_t> out;
  out.reserve(8 + params.size() * 8 + buffer.size());
  auto put32 = [&out](uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  put32(expected_size);
  put32(static_cast<uint32_t>(params.size()));
  for (const auto& p : params) {
    put32(p.offset);
    put32(p.size);
  }
  out.insert(out.end(), buffer.begin(), buffer.end());
  return out;
}

const char* kernel_args_error_message(KernelArgsError e) {
  switch (e) {
    case KernelArgsError::TooManyParams: return "the kernel has more parameters than a launch can carry";
    case KernelArgsError::BufferTooLarge: return "the kernel's parameters take more bytes than a launch can carry";
    case KernelArgsError::BufferSizeMismatch:
      return "the parameter buffer is not the size the kernel's parameters take";
    case KernelArgsError::ParamOutside: return "a parameter lies outside the parameter buffer";
  }
  return "the kernel arguments are invalid";
}

}  // namespace vgpud
