// A 2D or 3D copy between pitched ends, as cudaMemcpy2D/3D and a graph's memcpy node are given
// it, described as the driver's CUDA_MEMCPY3D (guest/cudart/pitched.cpp).
#pragma once
#include <cuda.h>
#include <driver_types.h>

#include <cstddef>
#include <optional>

#include "guest/cudart/pointer_class.h"

namespace vgpu::cudart {

// `dst`/`src` point at the start of each pitched buffer; positions are in bytes (x), rows (y)
// and slices (z). A 2D copy is one of depth 1.
struct Copy3D {
  void* dst;
  size_t dst_pitch, dst_rows;  // rows per slice
  size_t dst_x, dst_y, dst_z;
  const void* src;
  size_t src_pitch, src_rows;
  size_t src_x, src_y, src_z;
  size_t width, height, depth;  // bytes, rows, slices
  cudaMemcpyKind kind;
};

// The copy's direction, from its kind and where its ends are; nothing for a kind that does not
// fit them (cudaErrorInvalidMemcpyDirection).
inline std::optional<Direction> direction_of(const Copy3D& c) {
  return copy_direction(c.kind, pointer_kind(c.dst), pointer_kind(c.src));
}

// The driver's description of a copy in `direction` other than host to host.
inline CUDA_MEMCPY3D describe_copy(const Copy3D& c, Direction direction) {
  const bool dst_device = direction == Direction::HostToDevice || direction == Direction::DeviceToDevice;
  const bool src_device = direction == Direction::DeviceToHost || direction == Direction::DeviceToDevice;
  CUDA_MEMCPY3D m{};
  m.srcXInBytes = c.src_x;
  m.srcY = c.src_y;
  m.srcZ = c.src_z;
  m.srcMemoryType = src_device ? CU_MEMORYTYPE_DEVICE : CU_MEMORYTYPE_HOST;
  m.srcHost = src_device ? nullptr : c.src;
  m.srcDevice = src_device ? reinterpret_cast<CUdeviceptr>(c.src) : 0;
  m.srcPitch = c.src_pitch;
  m.srcHeight = c.src_rows;
  m.dstXInBytes = c.dst_x;
  m.dstY = c.dst_y;
  m.dstZ = c.dst_z;
  m.dstMemoryType = dst_device ? CU_MEMORYTYPE_DEVICE : CU_MEMORYTYPE_HOST;
  m.dstHost = dst_device ? nullptr : c.dst;
  m.dstDevice = dst_device ? reinterpret_cast<CUdeviceptr>(c.dst) : 0;
  m.dstPitch = c.dst_pitch;
  m.dstHeight = c.dst_rows;
  m.WidthInBytes = c.width;
  m.Height = c.height;
  m.Depth = c.depth;
  return m;
}

}  // namespace vgpu::cudart
