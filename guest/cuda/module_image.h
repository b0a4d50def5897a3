// Where a module image the program hands the driver ends. cuModuleLoadData and
// cuLibraryLoadData get a bare pointer and take the extent from the image itself: a fat-binary
// wrapper (what nvcc registers), a fat binary, an ELF cubin, or PTX text (to its NUL).
#pragma once
#include <cstdint>
#include <optional>

namespace vgpu::cuda {

struct ImageExtent {
  const void* data = nullptr;
  uint64_t size = 0;
};

// nullopt when nothing recognizable is there, or the image is larger than the protocol takes.
std::optional<ImageExtent> module_image_extent(const void* image);

// Whether the image is text (PTX): neither an ELF cubin nor a fat binary, wrapped or not.
bool is_text_image(const void* image);

}  // namespace vgpu::cuda
