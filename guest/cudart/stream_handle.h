// What a cudaStream_t names. Streams created through the shim are vgpud's stream ids cast to
// cudaStream_t; the special handles name the legacy default stream or the calling thread's
// per-thread default stream.
#pragma once
#include <driver_types.h>

#include <cstdint>

namespace vgpu::cudart {

enum class StreamKind {
  Legacy,     // 0 or cudaStreamLegacy: wire stream 0
  PerThread,  // cudaStreamPerThread, or 0 in a _ptsz/_ptds entry point
  Created,    // an id from StreamCreate
};

struct StreamRef {
  StreamKind kind = StreamKind::Legacy;
  uint64_t id = 0;  // for Created
};

// `per_thread_default` is true for the _ptsz/_ptds entry points, which programs built with
// --default-stream per-thread call: there a null stream means the per-thread stream.
StreamRef classify_stream(cudaStream_t stream, bool per_thread_default);

// A created stream's handle, as the application sees it.
inline cudaStream_t stream_handle(uint64_t id) { return reinterpret_cast<cudaStream_t>(static_cast<uintptr_t>(id)); }

}  // namespace vgpu::cudart
