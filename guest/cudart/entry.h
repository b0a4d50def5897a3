// The frame every runtime API entry point runs in:
//  - no exception crosses the C ABI (bad_alloc becomes cudaErrorMemoryAllocation, anything
//    else cudaErrorUnknown);
//  - the runtime is created on the first call that needs it, and a process vgpud cannot
//    serve gets cudaErrorNoDevice from every such call;
//  - errors of earlier posted (stream-ordered) work that vgpud reported since are picked up
//    after each call that talked to vgpud, recorded as the thread's last error, and returned
//    by that call if it had nothing worse to say: as in CUDA, asynchronous errors surface at
//    a later call;
//  - a failing call sets the thread's last error. cudaErrorNotReady is an answer to a query,
//    not a failure, and is never recorded (native CUDA does not either).
#pragma once
#include <new>

#include "guest/cudart/api.h"
#include "guest/cudart/state.h"

namespace vgpu::cudart {

void record_error(cudaError_t error) noexcept;
cudaError_t peek_last_error() noexcept;
cudaError_t take_last_error() noexcept;

// Records `result` (and, with collect_async, any pending asynchronous error); returns what the
// API call returns.
cudaError_t finish_call(Runtime* rt, cudaError_t result, bool collect_async) noexcept;

template <typename F>
cudaError_t contain(F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return cudaErrorMemoryAllocation;
  } catch (...) {
    return cudaErrorUnknown;
  }
}

// A call that talks to vgpud: body(Runtime&) -> cudaError_t.
template <typename F>
cudaError_t remote_call(F&& body) noexcept {
  Runtime* rt = runtime();
  cudaError_t result = rt ? contain([&] { return body(*rt); }) : cudaErrorNoDevice;
  return finish_call(rt, result, true);
}

// A call answered from guest state, which still needs a reachable vgpud (device count, heap).
// It may fill a cache with a round trip; errors that reply carried wait for the next
// remote_call.
template <typename F>
cudaError_t local_call(F&& body) noexcept {
  Runtime* rt = runtime();
  cudaError_t result = rt ? contain([&] { return body(*rt); }) : cudaErrorNoDevice;
  return finish_call(rt, result, false);
}

// A call that needs no runtime at all: body() -> cudaError_t.
template <typename F>
cudaError_t offline_call(F&& body) noexcept {
  return finish_call(nullptr, contain(body), false);
}

}  // namespace vgpu::cudart
