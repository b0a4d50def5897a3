// Stream ids on the wire.
#pragma once
#include <driver_types.h>

#include <cstdint>

#include "guest/cudart/state.h"

namespace vgpu::cudart {

// The wire id for `stream`: 0 for the legacy default stream, the calling thread's per-thread
// stream (created with StreamCreate on first use, per device) for cudaStreamPerThread or, in
// _ptsz/_ptds entry points, for 0; otherwise the id the handle carries.
cudaError_t wire_stream(Runtime& rt, cudaStream_t stream, bool per_thread_default, uint64_t* out);

}  // namespace vgpu::cudart
