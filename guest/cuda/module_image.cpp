#include "guest/cuda/module_image.h"

#include <algorithm>
#include <cstring>

#include "guest/cuda/fatbin.h"
#include "vgpu/protocol/limits.h"

namespace vgpu::cuda {
namespace {

constexpr unsigned char kElfMagic[4] = {0x7f, 'E', 'L', 'F'};

// An ELF64 file ends with its section header table, or its program header table if that lies
// further (nvcc's cubins put the section headers last).
std::optional<ImageExtent> elf_extent(const void* image) {
  struct Header {
    unsigned char ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
  } h;
  static_assert(sizeof(Header) == 64);
  std::memcpy(&h, image, sizeof h);
  if (h.ident[4] != 2) return std::nullopt;  // ELFCLASS64 only: every cubin is
  const uint64_t sections = h.shoff + uint64_t{h.shnum} * h.shentsize;
  const uint64_t programs = h.phoff + uint64_t{h.phnum} * h.phentsize;
  const uint64_t size = std::max({sections, programs, uint64_t{sizeof h}});
  if (size > limits::kMaxModuleImage) return std::nullopt;
  return ImageExtent{image, size};
}

}  // namespace

std::optional<ImageExtent> module_image_extent(const void* image) {
  if (image == nullptr) return std::nullopt;
  if (std::memcmp(image, kElfMagic, sizeof kElfMagic) == 0) return elf_extent(image);
  uint32_t magic = 0;
  std::memcpy(&magic, image, sizeof magic);
  if (magic == cuda::kFatbinWrapperMagic) {
    const auto found = cuda::find_module_image(image);
    if (!found) return std::nullopt;
    return ImageExtent{found->data, found->size};
  }
  if (magic == cuda::kFatbinMagic) {
    struct {
      uint32_t magic;
      uint16_t version, header_size;
      uint64_t fat_size;
    } h;
    std::memcpy(&h, image, sizeof h);
    if (h.header_size < sizeof h || h.fat_size > limits::kMaxModuleImage - h.header_size) return std::nullopt;
    return ImageExtent{image, h.header_size + h.fat_size};
  }
  // Text: PTX, or the test double's images. The NUL travels too.
  const size_t length = strnlen(static_cast<const char*>(image), limits::kMaxModuleImage);
  if (length == 0 || length >= limits::kMaxModuleImage) return std::nullopt;
  return ImageExtent{image, length + 1};
}

bool is_text_image(const void* image) {
  if (image == nullptr || std::memcmp(image, kElfMagic, sizeof kElfMagic) == 0) return false;
  uint32_t magic = 0;
  std::memcpy(&magic, image, sizeof magic);
  return magic != kFatbinWrapperMagic && magic != kFatbinMagic;
}

}  // namespace vgpu::cuda
