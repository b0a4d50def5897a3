#include "guest/cuda/unsupported.h"

#include <cuda.h>

#include "guest/client/log.h"

namespace vgpu::cuda {

static_assert(kNotSupported == CUDA_ERROR_NOT_SUPPORTED);

int unsupported_call(const char* name, std::atomic<bool>* said) noexcept {
  // Once per entry point: a program may call an unsupported function in a loop, and one line
  // says all there is to say.
  if (!said->exchange(true, std::memory_order_relaxed)) {
    guest::log(guest::LogLevel::Warn, "%s is not supported by vgpu", name);
  }
  return kNotSupported;
}

}  // namespace vgpu::cuda
