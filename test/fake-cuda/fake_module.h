// fake-cuda (test double, never ships): builds images in the fake module format that the
// fake libcuda.so.1 accepts in cuModuleLoadData. Header-only; for tests.
//
//   auto image = vgpu::fake::module_image({"kernel fake_vector_add 8,8,8,4", "global counter 64"});
//   cuModuleLoadData(&mod, image.c_str());   // the std::string is NUL-terminated
//
// Lines: `kernel <name> [<size>[:<align>],...]` and `global <name> <bytes>`; see README.md.
#pragma once

#include <initializer_list>
#include <string>

namespace vgpu::fake {

inline std::string module_image(std::initializer_list<std::string> lines) {
  std::string image = "FAKECUBIN 1\n";
  for (const std::string& line : lines) {
    image += line;
    image += '\n';
  }
  return image;
}

}  // namespace vgpu::fake
