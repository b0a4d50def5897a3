#include "guest/nvml/unsupported.h"

#include "guest/client/log.h"
#include "guest/nvml/nvml_abi.h"

namespace vgpu::nvml {

static_assert(kNotSupported == NVML_ERROR_NOT_SUPPORTED);

int unsupported_call(const char* name, std::atomic<bool>* said) noexcept {
  if (!said->exchange(true, std::memory_order_relaxed)) {
    guest::log(guest::LogLevel::Debug, "%s is not supported by vgpu", name);
  }
  return kNotSupported;
}

}  // namespace vgpu::nvml
