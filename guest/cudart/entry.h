// The frame every runtime API entry point runs in:
//  - no exception crosses the C ABI (bad_alloc becomes cudaErrorMemoryAllocation, anything
//    else cudaErrorUnknown);
//  - the driver is initialized on the first call that needs it; a process the driver cannot
//    serve (vgpud unreachable) gets what cuInit answered, as a runtime error, from every such
//    call;
//  - a call that works on a device runs with the thread's context current (state.h);
//  - a failing call sets the thread's last error. cudaErrorNotReady is an answer to a query,
//    not a failure, and is never recorded (native CUDA does not either). Errors of earlier
//    stream-ordered work arrive as the result of a later driver call (the driver shim picks
//    them up), and so become the result of the runtime call that made it.
#pragma once
#include <new>

#include "guest/cudart/api.h"
#include "guest/cudart/state.h"
#include "guest/cudart/status_map.h"

namespace vgpu::cudart {

void record_error(cudaError_t error) noexcept;
cudaError_t peek_last_error() noexcept;
cudaError_t take_last_error() noexcept;

// Records `result`; returns what the API call returns.
inline cudaError_t finish_call(cudaError_t result) noexcept {
  record_error(result);
  return result;
}

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

// What an uninitializable driver means to a runtime call.
cudaError_t no_runtime_error(CUresult init_error) noexcept;

// A call that works in the thread's context: body(Runtime&) -> cudaError_t.
template <typename F>
cudaError_t context_call(F&& body) noexcept {
  CUresult init = CUDA_SUCCESS;
  Runtime* rt = runtime(&init);
  if (rt == nullptr) return finish_call(no_runtime_error(init));
  return finish_call(contain([&] {
    if (cudaError_t e = bind_context(*rt); e != cudaSuccess) return e;
    return body(*rt);
  }));
}

// A call answered from the runtime's and the driver's process-wide state (devices, their
// properties), which needs an initialized driver but no context.
template <typename F>
cudaError_t local_call(F&& body) noexcept {
  CUresult init = CUDA_SUCCESS;
  Runtime* rt = runtime(&init);
  if (rt == nullptr) return finish_call(no_runtime_error(init));
  return finish_call(contain([&] { return body(*rt); }));
}

// A call that needs no driver at all: body() -> cudaError_t.
template <typename F>
cudaError_t offline_call(F&& body) noexcept {
  return finish_call(contain(body));
}

}  // namespace vgpu::cudart
