// libFuzzer target for the vgpu.yaml parser. The config is written by an administrator, not a
// guest, but the parser must still never crash, hang or leak on any input: every outcome is a
// DaemonConfig or a ConfigError.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "vgpud/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto result = vgpud::config::parse_config(text, "fuzz.yaml");
  if (result) {
    // What parsed must satisfy the rules the daemon relies on.
    if (result->tenants.empty()) __builtin_trap();
    for (const auto& tenant : result->tenants) {
      if (tenant.gpus.empty()) __builtin_trap();
      // A tenant is reachable some way, and every socket it has is an absolute path.
      if (tenant.local.socket_path.empty() && tenant.vm.socket_path.empty()) __builtin_trap();
      for (const std::string* path : {&tenant.local.socket_path, &tenant.vm.socket_path}) {
        if (!path->empty() && (*path)[0] != '/') __builtin_trap();
      }
      uint64_t staging = tenant.limits.staging_memory;
      if (staging == 0 || (staging & (staging - 1)) != 0) __builtin_trap();
    }
  } else {
    // Every error carries a position.
    if (result.error().line < 1 || result.error().column < 1) __builtin_trap();
    (void)result.error().to_string();
  }
  return 0;
}
