// The error API: the thread's last error and the error tables. None of it needs vgpud.
#include "guest/client/log.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/error_table.h"

namespace {

constexpr const char* kUnrecognized = "unrecognized error code";

}  // namespace

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

// Purely thread-local, with no round trip and no lock: errors vgpud reports for posted work
// are picked up by the next call that talks to vgpud.
VGPU_EXPORT cudaError_t cudaGetLastError() {
  trace_api("cudaGetLastError");
  return take_last_error();
}

VGPU_EXPORT cudaError_t cudaPeekAtLastError() {
  trace_api("cudaPeekAtLastError");
  return peek_last_error();
}

VGPU_EXPORT const char* cudaGetErrorName(cudaError_t error) {
  trace_api("cudaGetErrorName error=%d", static_cast<int>(error));
  const char* name = cuda_error_name(error);
  return name ? name : kUnrecognized;
}

VGPU_EXPORT const char* cudaGetErrorString(cudaError_t error) {
  trace_api("cudaGetErrorString error=%d", static_cast<int>(error));
  const char* text = cuda_error_text(error);
  return text ? text : kUnrecognized;
}
