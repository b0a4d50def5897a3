// A kernel's parameter layout and a launch's parameter buffer, as vgpud's executor gets them
// (encode_launch_params in vgpud/executor/kernel_args.h: u32 expected_size; u32 param_count;
// param_count x {u32 offset; u32 size}; the buffer, all little-endian). What build_kernel_args
// accepts has every pointer, with its parameter's size, inside the buffer. The guest side
// (guest/cuda/param_pack.h) runs on the same layout: it judges the layout exactly as vgpud
// does, and packing by a layout both accept stays inside the buffer (ASan) and puts each
// parameter's bytes at its offset.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "guest/cuda/param_pack.h"
#include "vgpu/protocol/limits.h"
#include "vgpud/executor/kernel_args.h"

using vgpu::proto::KernelParamInfo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  uint32_t expected = 0, count = 0;
  std::memcpy(&expected, data, 4);
  std::memcpy(&count, data + 4, 4);
  if (count > (size - 8) / sizeof(KernelParamInfo)) return 0;
  std::vector<KernelParamInfo> params(count);
  if (count != 0) std::memcpy(params.data(), data + 8, count * sizeof(KernelParamInfo));
  const size_t layout_end = 8 + size_t{count} * sizeof(KernelParamInfo);
  // The buffer on the heap, exactly as long as sent, so ASan sees any read past it.
  const std::vector<uint8_t> buffer(data + layout_end, data + size);

  static void* args[vgpu::limits::kMaxKernelParams];
  const auto built = vgpud::build_kernel_args(params, expected, buffer, args);
  const bool guest_valid = vgpu::cuda::param_layout_valid(params, expected);

  // Both sides agree on the layout; vgpud also wants the buffer the layout takes.
  if (built.ok() != (guest_valid && buffer.size() == expected)) __builtin_trap();
  if (!built.ok()) {
    const char* message = vgpud::kernel_args_error_message(built.error());
    if (message == nullptr || *message == '\0') __builtin_trap();
    return 0;
  }
  if (*built != params.size() || buffer.size() > vgpu::limits::kMaxKernelParamBytes) __builtin_trap();
  const auto begin = reinterpret_cast<uintptr_t>(buffer.data());
  const uintptr_t end = begin + buffer.size();
  for (size_t i = 0; i < params.size(); ++i) {
    const auto at = reinterpret_cast<uintptr_t>(args[i]);
    if (at != begin + params[i].offset || at < begin || at > end || params[i].size > end - at) __builtin_trap();
    // Every byte the driver would read is there (ASan checks).
    volatile uint8_t sink = 0;
    for (uint32_t b = 0; b < params[i].size; b += 61) sink = sink + static_cast<const uint8_t*>(args[i])[b];
    if (params[i].size != 0) sink = sink + static_cast<const uint8_t*>(args[i])[params[i].size - 1];
  }

  // The guest packs through the same pointers into a buffer of exactly expected bytes: every
  // byte some parameter covers comes back as it was, the rest is zero.
  std::vector<uint8_t> packed(expected);
  if (vgpu::cuda::pack_params(params, expected, args, packed) != CUDA_SUCCESS) __builtin_trap();
  std::vector<int32_t> cover(size_t{expected} + 1, 0);  // +1 at a parameter's start, -1 past its end
  for (const auto& p : params) {
    if (p.size == 0) continue;
    ++cover[p.offset];
    --cover[p.offset + p.size];
  }
  int32_t depth = 0;
  for (size_t b = 0; b < expected; ++b) {
    depth += cover[b];
    if (packed[b] != (depth > 0 ? buffer[b] : 0)) __builtin_trap();
  }
  return 0;
}
