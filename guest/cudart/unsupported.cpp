#include "guest/cudart/unsupported.h"

#include "guest/client/log.h"
#include "guest/cudart/entry.h"

namespace vgpu::cudart {

int unsupported_call(const char* name, std::atomic<bool>* said) noexcept {
  guest::trace_api("%s", name);
  unsupported_note(name, said, false);
  record_error(cudaErrorNotSupported);
  return cudaErrorNotSupported;
}

void unsupported_note(const char* name, std::atomic<bool>* said, bool quiet) noexcept {
  if (said->exchange(true)) return;
  guest::log(quiet ? guest::LogLevel::Debug : guest::LogLevel::Warn, "%s is not supported by vgpu", name);
}

}  // namespace vgpu::cudart
