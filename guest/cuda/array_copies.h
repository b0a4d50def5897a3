// Copies with a CUDA array at one end or both (docs/design.md §23): cuMemcpy2D/3D with
// CU_MEMORYTYPE_ARRAY ends, and the 1D array copies (cuMemcpyHtoA, ...). Each is made of
// MEMCPY_ARRAY messages, as many as where the other end lies needs:
//   device memory, an array          one message; posted when asynchronous
//   page-locked memory (the heap)    one message naming the heap's bytes: DMA; posted when
//                                    asynchronous
//   other host memory, ≤ 32 KiB      one message, the bytes packed in it (to the array) or in
//                                    its reply (from it)
//   other host memory, larger        pieces through a staging block of the shared heap: the
//                                    program's rows are packed into the block (or out of it)
//                                    around one answered message per piece; where the heap has
//                                    no room, pieces of 32 KiB inside the messages
// A copy from or to other host memory completes before it returns, as the driver's pageable
// copies do. The array's box is checked here against the array's extent; vgpud checks it again,
// with every other range.
#pragma once
#include <cuda.h>

#include <cstddef>

#include "guest/cuda/arrays.h"

namespace vgpu::cuda {

struct CopyEnd {
  enum class Kind { Host, Device, Array };
  Kind kind = Kind::Host;
  const void* host = nullptr;    // Host: the buffer's first byte
  CUdeviceptr device = 0;        // Device: the buffer's first byte
  ArrayObject* array = nullptr;  // Array
  size_t x = 0, y = 0, z = 0;    // bytes, rows, slices
  size_t pitch = 0, rows = 0;    // Host and Device: bytes between rows, rows between slices
};

// width bytes by height rows by depth slices.
struct CopyExtent {
  size_t width, height, depth;
};

// One end at least is an array. `wait`: complete when it returns (cuMemcpy2D), else ordered on
// `stream` (cuMemcpy2DAsync). Call inside guarded().
CUresult copy_with_array(const CopyEnd& src, const CopyEnd& dst, const CopyExtent& extent, CUstream stream,
                         bool wait);

}  // namespace vgpu::cuda
