// Guest-side logging: plain lines on stderr, prefixed "[libvgpu-cudart]". The level comes from
// VGPU_LOG (debug|info|warn|error|off, default warn), read once. No dependency beyond libc, so
// the shim stays loadable in any guest. The level and the per-thread API trace live in
// libvgpu-client.so.1, so every shim of a process and the channel share them.
#pragma once
#include <cstdarg>

#include "guest/client/export.h"

namespace vgpu::guest {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3, Off = 4 };

VGPU_CLIENT_API bool log_enabled(LogLevel level);
VGPU_CLIENT_API void log(LogLevel level, const char* fmt, ...)
    __attribute__((format(printf, 2, 3)));

// Per-thread description of the API call in progress ("cudaMalloc size=4096"). The channel
// appends the wire details when it sends, giving one trace line per hop:
//   [libvgpu-cudart] cudaMalloc size=4096 → call_id=0x0030 seq=1
// Only formats when debug logging is on.
VGPU_CLIENT_API void trace_api(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
const char* current_api_trace();  // "" when none

}  // namespace vgpu::guest
