#include "guest/cuda/fatbin.h"

#include <cstring>

#include "vgpu/protocol/limits.h"

namespace vgpu::cuda {
namespace {

constexpr char kFakeMagic[] = "FAKECUBIN";
constexpr std::size_t kFakeMagicLength = sizeof kFakeMagic - 1;

bool is_fake_image(const void* p) {
  // strncmp stops at the first difference or NUL, so a short buffer is never overread.
  return std::strncmp(static_cast<const char*>(p), kFakeMagic, kFakeMagicLength) == 0;
}

std::optional<ModuleImage> fake_image(const void* p) {
  std::size_t length = strnlen(static_cast<const char*>(p), limits::kMaxModuleImage);
  if (length >= limits::kMaxModuleImage) return std::nullopt;
  return ModuleImage{p, length + 1};  // the NUL travels too: the parser on the host wants it
}

struct FatbinHeader {
  uint32_t magic;
  uint16_t version;
  uint16_t header_size;
  uint64_t fat_size;
};
static_assert(sizeof(FatbinHeader) == 16);

struct FatbinWrapper {
  int32_t magic;
  int32_t version;
  const void* data;
  void* unused;
};

}  // namespace

std::optional<ModuleImage> find_module_image(const void* fat_cubin) {
  if (fat_cubin == nullptr) return std::nullopt;
  if (is_fake_image(fat_cubin)) return fake_image(fat_cubin);

  FatbinWrapper wrapper;
  std::memcpy(&wrapper, fat_cubin, sizeof wrapper);  // no alignment assumptions
  if (static_cast<uint32_t>(wrapper.magic) != kFatbinWrapperMagic || wrapper.data == nullptr) {
    return std::nullopt;
  }
  if (is_fake_image(wrapper.data)) return fake_image(wrapper.data);

  FatbinHeader header;
  std::memcpy(&header, wrapper.data, sizeof header);
  if (header.magic != kFatbinMagic || header.header_size < sizeof header) return std::nullopt;
  if (header.fat_size > limits::kMaxModuleImage - header.header_size) return std::nullopt;
  return ModuleImage{wrapper.data, header.header_size + header.fat_size};
}

}  // namespace vgpu::cuda
