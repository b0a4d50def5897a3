// The kernel arguments of a launch. cuLaunchKernel takes one pointer per parameter (void**
// kernelParams) and reads each parameter's size, as the driver itself reported it through
// cuFuncGetParamInfo, from behind that pointer. The guest sends all parameters packed in one
// buffer at the offsets vgpud told it (guest/cuda/param_pack.h); vgpud points at them.
// Every pointer is therefore checked to leave the parameter's full size inside the buffer the
// guest sent, or the driver would read past it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "vgpu/protocol/limits.h"
#include "vgpu/protocol/messages.h"
#include "vgpu/common/result.h"
#include "vgpud/protocol_alias.h"

namespace vgpud {

enum class KernelArgsError : uint8_t {
  TooManyParams,       // more parameters than limits::kMaxKernelParams (or than `args` holds)
  BufferTooLarge,      // the expected size is over limits::kMaxKernelParamBytes
  BufferSizeMismatch,  // the guest sent another number of bytes than the layout takes
  ParamOutside,        // a parameter's offset + size runs past the buffer
};

// One line, no trailing period, for logs.
const char* kernel_args_error_message(KernelArgsError e);

// Checks `buffer` (what the guest sent) against the function's layout (`params`, and
// `expected_size`, the bytes the packed buffer takes) and fills args[i] with the address of
// parameter i inside `buffer`. Returns how many entries of `args` it filled (params.size()).
// The pointers are non-const because cuLaunchKernel's signature says so; the driver only
// reads through them.
[[nodiscard]] vgpu::Result<size_t, KernelArgsError> build_kernel_args(
    std::span<const proto::KernelParamInfo> params, uint32_t expected_size,
    std::span<const uint8_t> buffer, std::span<void*> args);

// A launch's inputs to build_kernel_args as one byte string, the input format of
// test/fuzz/fuzz_launch_params.cpp and of its seeds (test/fuzz/corpus/launch_params/), all
// little-endian:
//   u32 expected_size; u32 param_count; param_count x {u32 offset; u32 size}; the buffer
// (every byte after the layout). The corpus recorder records launches in it.
std::vector<uint8_t> encode_launch_params(std::span<const proto::KernelParamInfo> params,
                                          uint32_t expected_size, std::span<const uint8_t> buffer);

}  // namespace vgpud
