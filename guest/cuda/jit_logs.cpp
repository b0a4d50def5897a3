#include "guest/cuda/jit_logs.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace vgpu::cuda {
namespace {

struct Buffers {
  char* info = nullptr;
  size_t info_size = 0;
  char* error = nullptr;
  size_t error_size = 0;
};

Buffers buffers_of(unsigned count, const CUjit_option* options, void* const* values) {
  Buffers b;
  if (options == nullptr || values == nullptr) return b;
  for (unsigned i = 0; i < count; ++i) {
    switch (options[i]) {
      case CU_JIT_INFO_LOG_BUFFER:
        b.info = static_cast<char*>(values[i]);
        break;
      case CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES:
        b.info_size = reinterpret_cast<uintptr_t>(values[i]);
        break;
      case CU_JIT_ERROR_LOG_BUFFER:
        b.error = static_cast<char*>(values[i]);
        break;
      case CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES:
        b.error_size = reinterpret_cast<uintptr_t>(values[i]);
        break;
      default:
        break;
    }
  }
  return b;
}

// The bytes written, with the NUL; 0 where there is no buffer.
size_t put_text(char* buffer, size_t size, std::string_view text) {
  if (buffer == nullptr || size == 0) return 0;
  const size_t n = std::min(text.size(), size - 1);
  if (n > 0) std::memcpy(buffer, text.data(), n);  // an empty view may have no data at all
  buffer[n] = '\0';
  return n + 1;
}

}  // namespace

bool wants_error_log(unsigned count, const CUjit_option* options, void* const* values) noexcept {
  const Buffers b = buffers_of(count, options, values);
  return b.error != nullptr && b.error_size > 0;
}

void answer_jit_options(unsigned count, const CUjit_option* options, void** values, std::string_view info,
                        std::string_view error) noexcept {
  if (options == nullptr || values == nullptr) return;
  const Buffers b = buffers_of(count, options, values);
  const size_t info_written = put_text(b.info, b.info_size, info);
  const size_t error_written = put_text(b.error, b.error_size, error);
  for (unsigned i = 0; i < count; ++i) {
    switch (options[i]) {
      case CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES:
        values[i] = reinterpret_cast<void*>(uintptr_t{info_written});
        break;
      case CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES:
        values[i] = reinterpret_cast<void*>(uintptr_t{error_written});
        break;
      case CU_JIT_WALL_TIME: {
        const float zero = 0.0f;  // the host's compile time is not brought back
        std::memcpy(&values[i], &zero, sizeof zero);
        break;
      }
      default:
        break;
    }
  }
}

}  // namespace vgpu::cuda
