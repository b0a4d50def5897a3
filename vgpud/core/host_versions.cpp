#include "vgpud/core/host_versions.h"

#include <dlfcn.h>

#include <fstream>

#include "vgpud/executor/host_nvml.h"

namespace vgpud {

namespace {

constexpr int kNvmlSuccess = 0;
constexpr unsigned int kTextSize = 80;  // NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE

using InitFn = int (*)();
using TextFn = int (*)(char*, unsigned int);

std::string ask(void* lib, const char* name) {
  auto fn = reinterpret_cast<TextFn>(dlsym(lib, name));
  if (fn == nullptr) return {};
  char text[kTextSize] = {};
  if (fn(text, sizeof text) != kNvmlSuccess) return {};
  text[sizeof text - 1] = '\0';
  return text;
}

std::string kernel_module_release() {
  std::ifstream in("/sys/module/nvidia/version");
  std::string release;
  std::getline(in, release);
  return release;
}

}  // namespace

HostVersions read_host_versions(const std::string& driver_path) {
  HostVersions v;
  const std::string path = HostNvml::library_path(driver_path);
  // Shut down but left loaded: unloading a driver's library gains nothing and its thread-local
  // state may outlive it. The channel workers load NVML themselves (host_nvml.h).
  if (void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL); lib != nullptr) {
    auto init = reinterpret_cast<InitFn>(dlsym(lib, "nvmlInit_v2"));
    auto shutdown = reinterpret_cast<InitFn>(dlsym(lib, "nvmlShutdown"));
    if (init != nullptr && shutdown != nullptr && init() == kNvmlSuccess) {
      v.driver_release = ask(lib, "nvmlSystemGetDriverVersion");
      v.nvml_version = ask(lib, "nvmlSystemGetNVMLVersion");
      shutdown();
    }
  }
  if (v.driver_release.empty()) v.driver_release = kernel_module_release();
  return v;
}

}  // namespace vgpud
