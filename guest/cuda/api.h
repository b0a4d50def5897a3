// What every driver entry point shares: how it is exported, how it keeps exceptions inside the
// library, how vgpud's statuses become CUresult values, and how it finds its channel and
// context.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <new>

#include "guest/client/channel.h"
#include "guest/cuda/context.h"

// An entry point of libcuda.so.1. Default visibility: the library is built with hidden
// visibility, and a hidden definition would not override the generated weak stub's export.
#define VGPU_DRIVER_API extern "C" __attribute__((visibility("default")))

namespace vgpu::cuda {

// vgpud's answer as a CUresult: CUresult values pass through, vgpu's own statuses map to the
// driver error a program can act on. A sticky error ends the calling thread's current context.
CUresult to_cu_result(int32_t status) noexcept;
// Errors after which a context cannot be used again (a kernel fault).
bool is_sticky(CUresult r) noexcept;

// The channel and the calling thread's context, for a call that works in a context:
// CUDA_ERROR_NOT_INITIALIZED before cuInit, CUDA_ERROR_INVALID_CONTEXT without a current context,
// the context's sticky error once it has one.
// Also tells the channel which device the thread works on.
CUresult enter_context(guest::Channel** channel, Context** context) noexcept;
// The same for a call the driver answers without a current context (virtual memory management:
// NVIDIA's memMapIPCDrv makes allocations before it makes a context): with none, the call goes
// to `device`.
CUresult enter_context_or_device(guest::Channel** channel, uint32_t device) noexcept;

// The first error of earlier posted (stream-ordered) work that vgpud reported since the last
// take; CUDA_SUCCESS when none, or before cuInit.
CUresult take_async_error() noexcept;

// Whether the calling thread entered a context (enter_context) since it was last cleared: a
// call that did talks to vgpud, and is one at which asynchronous errors surface.
bool swap_entered(bool value) noexcept;

// Writes "NAME returns ERROR" to the debug log. guarded() passes the name of the function that
// called it (__builtin_FUNCTION(), which GCC and Clang evaluate at the call site; Debian 12's
// Clang has no std::source_location).
void log_failed_call(const char* entry_point, CUresult r) noexcept;

// Runs an entry point's body: no exception crosses the C ABI. A body that entered a context
// and succeeded returns an error of earlier posted work instead, if vgpud reported one: as on
// the driver, an asynchronous error surfaces at a later call. (A launch is posted, so what the
// driver would have refused at the launch itself and the guest's checks did not catch arrives
// this way.) Calls answered in the guest (attributes, pointer queries) never return one.
// An error returned is written to the debug log with the entry point's name: a library that
// gives up after a call failed (cuBLAS answers NOT_SUPPORTED) says nothing of which one.
template <typename Fn>
CUresult guarded(Fn&& body, const char* entry_point = __builtin_FUNCTION()) noexcept {
  const bool outer = swap_entered(false);
  CUresult r;
  try {
    r = body();
  } catch (const std::bad_alloc&) {
    r = CUDA_ERROR_OUT_OF_MEMORY;
  } catch (...) {
    r = CUDA_ERROR_UNKNOWN;
  }
  const bool entered = swap_entered(outer);
  if (entered) swap_entered(true);
  if (entered && (r == CUDA_SUCCESS || r == CUDA_ERROR_NOT_READY)) {
    if (CUresult late = take_async_error(); late != CUDA_SUCCESS) r = late;
  }
  if (r != CUDA_SUCCESS && r != CUDA_ERROR_NOT_READY) log_failed_call(entry_point, r);
  return r;
}

}  // namespace vgpu::cuda
