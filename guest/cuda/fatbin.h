// Finds the module image behind what nvcc passes to __cudaRegisterFatBinary, and its size,
// so the image can travel to vgpud once, when the module is first used.
//
// nvcc passes a wrapper {int magic 0x466243b1; int version; const void* data; void* unused}
// whose data points at a fat binary: {uint32 magic 0xBA55ED50; uint16 version;
// uint16 header_size; uint64 fat_size} followed by fat_size bytes. The test double
// (test/fake-cuda) loads text images starting with "FAKECUBIN"; those are NUL-terminated and
// may be passed as the wrapper's data or directly. The pointer must have a wrapper's worth
// (24 bytes) readable, as nvcc's always does.
#pragma once
#include <cstdint>
#include <optional>

namespace vgpu::cuda {

inline constexpr uint32_t kFatbinWrapperMagic = 0x466243b1;
inline constexpr uint32_t kFatbinMagic = 0xBA55ED50;

struct ModuleImage {
  const void* data = nullptr;
  uint64_t size = 0;
};

// nullopt when nothing recognizable is there, or the image claims more than
// limits::kMaxModuleImage bytes.
std::optional<ModuleImage> find_module_image(const void* fat_cubin);

}  // namespace vgpu::cuda
