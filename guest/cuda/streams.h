// A CUstream as vgpud names it.
#pragma once
#include <cuda.h>

#include <cstdint>

#include "guest/cuda/handles.h"

namespace vgpu::cuda {

// The stream priority range of every GPU since compute capability 3.5 (cuCtxGetStreamPriorityRange).
inline constexpr int kLeastPriority = 0;
inline constexpr int kGreatestPriority = -5;

// vgpud's id for the stream; false for a handle that is not a live stream of this process, or
// a per-thread default stream that could not be made. Call after enter_context (the per-thread
// stream is the one on the channel's thread device).
bool wire_stream(CUstream stream, uint64_t* wire) noexcept;

// The stream a _ptsz/_ptds entry point means: null there names the calling thread's per-thread
// default stream.
inline CUstream per_thread(CUstream stream) noexcept { return stream == nullptr ? CU_STREAM_PER_THREAD : stream; }

// The object behind a stream handle: a created stream's, or the legacy or per-thread default
// stream's (static objects); null for a handle that is not a stream.
StreamObject* stream_object(CUstream stream) noexcept;
// cuStreamGetId's answer: unique among the process's streams, never 0.
uint64_t stream_id_of(const StreamObject& stream) noexcept;

}  // namespace vgpu::cuda
