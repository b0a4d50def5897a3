// "what: <strerror(errno)>", for error values built right after a failed system call.
#pragma once
#include <cerrno>
#include <cstring>
#include <string>

namespace vgpu {

inline std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

}  // namespace vgpu
