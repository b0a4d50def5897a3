#include "vgpud/worker/jit_cache.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace vgpud {
namespace {

// mkdir -p with 0700 for what it makes; true when `path` is a folder afterwards.
bool make_folders(const std::string& path) {
  for (size_t at = 1; at <= path.size(); ++at) {
    if (at != path.size() && path[at] != '/') continue;
    const std::string prefix = path.substr(0, at);
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) return false;
  }
  struct stat st{};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::optional<std::string> tenant_jit_cache_path(const char* configured, const char* home, std::string_view tenant) {
  std::string base;
  if (configured != nullptr && configured[0] == '/') {
    base = configured;
  } else if (home != nullptr && home[0] == '/') {
    base = home;
    base += "/.nv/ComputeCache";
  } else {
    return std::nullopt;
  }
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  base += "/tenant/";
  base += tenant;  // a tenant name is path-safe: a-z A-Z 0-9 _ . -, never "." or ".."
  return base;
}

std::optional<std::string> use_tenant_jit_cache(std::string_view tenant) {
  const std::optional<std::string> path =
      tenant_jit_cache_path(std::getenv("CUDA_CACHE_PATH"), std::getenv("HOME"), tenant);
  if (path && make_folders(*path) && setenv("CUDA_CACHE_PATH", path->c_str(), 1) == 0) return std::nullopt;
  const int error = errno;
  setenv("CUDA_CACHE_DISABLE", "1", 1);
  std::string why = "the JIT cache is off for this channel: ";
  if (!path) {
    why += "neither CUDA_CACHE_PATH nor HOME is an absolute path";
  } else {
    why += *path;
    why += " cannot be made (";
    why += std::strerror(error);
    why += ")";
  }
  return why;
}

}  // namespace vgpud
