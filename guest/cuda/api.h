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

// Runs an entry point's body: no exception crosses the C ABI.
template <typename Fn>
CUresult guarded(Fn&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return CUDA_ERROR_OUT_OF_MEMORY;
  } catch (...) {
    return CUDA_ERROR_UNKNOWN;
  }
}

}  // namespace vgpu::cuda
