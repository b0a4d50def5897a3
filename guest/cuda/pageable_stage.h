// Pageable host memory in a graph: a captured copy (cuMemcpy*Async during stream capture) or a
// memcpy node whose host end is ordinary memory. The graph's copy runs on the host at each of its
// launches, where vgpud cannot reach this process's memory, so it goes through a staging block
// of the shared heap, and a host function (host_functions.h) moves the bytes between the block
// and the program's memory in the same place of the graph: before the copy when it reads host
// memory, after it when it writes there. As the driver reads and writes pageable memory when
// the node runs, so does the function. docs/design.md §20.
#pragma once
#include <cuda.h>

#include <cstddef>
#include <cstdint>

#include "guest/client/channel.h"

namespace vgpu::cuda {

// `height` rows of `width` bytes, `pitch` apart, in the program's memory.
struct HostRows {
  void* host;
  size_t pitch;
  size_t width;
  size_t height;
};

// A staging block (packed rows: pitch = width) and the host function that fills it from the
// rows (to_device) or empties it into them: the function is kept, held once for the caller
// (add_host_function), and frees the block when it is forgotten.
struct Stage {
  uint64_t function = 0;
  uint64_t heap_offset = 0;
};
CUresult make_stage(guest::Channel& ch, HostRows rows, bool to_device, Stage* out) noexcept;

// A pageable copy posted on `stream` (vgpud's id) while that stream is captured into `capture`:
// the staging copy and its host function, in the order above, kept for the capture's graph.
CUresult captured_pageable_copy(guest::Channel& ch, uint64_t capture, uint64_t stream, CUdeviceptr device,
                                void* host, size_t size, bool to_device) noexcept;

}  // namespace vgpu::cuda
