// The copy behind cudaMemcpy*, cudaMemcpy*Async, the symbol copies and the peer copies: picks
// the direction, then the driver's copy for it. The driver shim chooses the wire path (shared
// heap DMA, inline in the message, or staged through the bulk rings).
#pragma once
#include <driver_types.h>

#include <cstddef>

namespace vgpu::cudart {

struct CopyArgs {
  void* dst;
  const void* src;
  size_t count;
  cudaMemcpyKind kind;
  cudaStream_t stream;
  bool per_thread_default;  // a _ptds/_ptsz entry point
  bool async;               // cudaMemcpyAsync: return before the copy is done where possible
};

// Runs in the thread's context (entry.h's context_call).
cudaError_t copy_memory(const CopyArgs& args);

}  // namespace vgpu::cudart
