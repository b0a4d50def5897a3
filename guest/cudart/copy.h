// The copy engine behind cudaMemcpy*, cudaMemcpy*Async and the symbol copies: classifies both
// sides, then picks the cheapest wire path (shared heap DMA, inline in the message, or staged
// through the bulk rings).
#pragma once
#include <driver_types.h>

#include <cstddef>

#include "guest/cudart/state.h"

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

cudaError_t copy_memory(Runtime& rt, const CopyArgs& args);

}  // namespace vgpu::cudart
