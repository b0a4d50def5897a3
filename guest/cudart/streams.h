// What a cudaStream_t means to the driver. A cudaStream_t is a CUstream: streams the program
// creates are the driver's, and cudaStreamLegacy / cudaStreamPerThread are the driver's
// CU_STREAM_LEGACY / CU_STREAM_PER_THREAD. Only the null stream depends on the entry point.
#pragma once
#include <cuda.h>
#include <driver_types.h>

namespace vgpu::cudart {

// `per_thread_default` is true for the _ptsz/_ptds entry points, which programs built with
// --default-stream per-thread call: there a null stream means the per-thread stream.
inline CUstream driver_stream(cudaStream_t stream, bool per_thread_default) noexcept {
  if (stream == nullptr && per_thread_default) return CU_STREAM_PER_THREAD;
  return stream;
}

}  // namespace vgpu::cudart
