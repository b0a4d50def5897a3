// fake-cuda (test double, never ships): parser of the fake module image format.
//
//   FAKECUBIN 1
//   kernel <name> [<param>,<param>,...]     param: <size> or <size>:<align>
//   global <name> <size bytes>
//   managed <name> <size bytes>            a __managed__ variable: a global in managed memory
//
// Blank lines and lines starting with '#' are ignored; anything else makes the image invalid.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vgpu::fake {

struct ImageParam {
  std::size_t size = 0;
  std::size_t align = 0;
  std::size_t offset = 0;
};

struct ImageKernel {
  std::string name;
  std::vector<ImageParam> params;
  std::size_t param_bytes = 0;  // end of the last parameter
};

struct ImageGlobal {
  std::string name;
  std::size_t size = 0;
  bool managed = false;  // `managed`: cuPointerGetAttribute(IS_MANAGED) says 1
};

struct Image {
  std::vector<ImageKernel> kernels;
  std::vector<ImageGlobal> globals;
};

inline constexpr std::string_view kImageMagic = "FAKECUBIN 1";
inline constexpr std::size_t kMaxImageParamBytes = 32764;          // CUDA 12.1+ limit
inline constexpr std::size_t kMaxImageGlobalBytes = 256ull << 20;  // keep tests sane

// True when the NUL-terminated buffer starts with the magic line. Reads no byte past the
// first NUL, so it is safe on short buffers; a real fat binary (0x50 0xED 0x55 0xBA ...) or
// ELF cubin fails here.
bool image_has_magic(const char* image);

// Parses a whole image (text without the terminating NUL). On failure returns nullopt and,
// when `error` is given, a one-line reason.
std::optional<Image> parse_image(std::string_view text, std::string* error = nullptr);

}  // namespace vgpu::fake
