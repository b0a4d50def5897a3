// Pageable host memory in a graph: a captured copy (cuMemcpy*Async during stream capture) or a
// memcpy node whose host end is ordinary memory. The graph's copy runs on the host at each of its
// launches, where vgpud cannot reach this process's memory, so it goes through a staging block
// of the shared heap, and a host function (host_functions.h) moves the bytes between the block
// and the program's memory in the same place of the graph: before the copy when it reads host
// memory, after it when it writes there. As the driver reads and writes pageable memory when
// the node runs, so does the function. A copy larger than kStagingBlock goes in pieces, one after
// the other through the same block (at most half the heap's reserve, guest/client/host_heap.h).
// docs/design.md §20.
#pragma once
#include <cuda.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "guest/client/channel.h"

namespace vgpu::cuda {

// `height` rows of `width` bytes, `pitch` apart, in the program's memory; the device end's rows
// are `device_pitch` apart.
struct HostRows {
  void* host;
  size_t pitch;
  size_t width;
  size_t height;
  size_t device_pitch;
};

// One piece: `height` rows of `width` bytes (or part of the one row), `device_offset` into the
// device end, staged packed at the block's heap offset; `function` fills the block from the
// program's memory (to_device) or empties it into it, and is kept, held once for the caller
// (add_host_function). The block is freed when the last piece's function is forgotten.
struct StagePiece {
  uint64_t function = 0;
  uint64_t heap_offset = 0;
  size_t device_offset = 0;
  size_t width = 0;
  size_t height = 0;
};
inline constexpr size_t kStagingBlock = size_t{4} << 20;
CUresult make_stages(guest::Channel& ch, const HostRows& rows, bool to_device, std::vector<StagePiece>* out) noexcept;

// Whether a host function, or a heap offset, is one of the staging pieces' (a graph's listed
// nodes hide them: the program made one copy node, not a chain).
bool is_staging_function(uint64_t id) noexcept;
bool is_staging_block(uint64_t heap_offset) noexcept;

// A pageable copy posted on `stream` (vgpud's id) while that stream is captured into `capture`:
// each piece's staging copy and host function, in the order above, kept for the capture's graph.
CUresult captured_pageable_copy(guest::Channel& ch, uint64_t capture, uint64_t stream, CUdeviceptr device,
                                void* host, size_t size, bool to_device) noexcept;

}  // namespace vgpu::cuda
