#include "guest/client/log.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace vgpu::guest {

namespace {

LogLevel level_from_env() {
  const char* v = std::getenv("VGPU_LOG");
  if (v == nullptr) return LogLevel::Warn;
  if (std::strcmp(v, "debug") == 0 || std::strcmp(v, "trace") == 0) return LogLevel::Debug;
  if (std::strcmp(v, "info") == 0) return LogLevel::Info;
  if (std::strcmp(v, "error") == 0) return LogLevel::Error;
  if (std::strcmp(v, "off") == 0) return LogLevel::Off;
  return LogLevel::Warn;
}

LogLevel configured_level() {
  static const LogLevel level = level_from_env();
  return level;
}

thread_local char t_api_trace[256];

}  // namespace

bool log_enabled(LogLevel level) { return level >= configured_level(); }

void log(LogLevel level, const char* fmt, ...) {
  if (!log_enabled(level)) return;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "[vgpu] %s\n", line);
}

void trace_api(const char* fmt, ...) {
  if (!log_enabled(LogLevel::Debug)) return;
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(t_api_trace, sizeof t_api_trace, fmt, ap);
  va_end(ap);
}

const char* current_api_trace() { return t_api_trace; }

}  // namespace vgpu::guest
