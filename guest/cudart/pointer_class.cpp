#include "guest/cudart/pointer_class.h"

#include <cuda.h>

namespace vgpu::cudart {

PtrKind pointer_kind(const void* p) noexcept {
  unsigned type = 0;
  if (cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, reinterpret_cast<CUdeviceptr>(p)) != CUDA_SUCCESS)
    return PtrKind::Pageable;
  if (type == CU_MEMORYTYPE_DEVICE) return PtrKind::Device;
  return type == CU_MEMORYTYPE_HOST ? PtrKind::Pinned : PtrKind::Pageable;
}

std::optional<Direction> copy_direction(cudaMemcpyKind kind, PtrKind dst, PtrKind src) {
  switch (kind) {
    case cudaMemcpyHostToHost:
      return Direction::HostToHost;
    case cudaMemcpyHostToDevice:
      return Direction::HostToDevice;
    case cudaMemcpyDeviceToHost:
      return Direction::DeviceToHost;
    case cudaMemcpyDeviceToDevice:
      return Direction::DeviceToDevice;
    case cudaMemcpyDefault: {
      bool dst_device = dst == PtrKind::Device;
      bool src_device = src == PtrKind::Device;
      if (dst_device && src_device) return Direction::DeviceToDevice;
      if (dst_device) return Direction::HostToDevice;
      if (src_device) return Direction::DeviceToHost;
      return Direction::HostToHost;
    }
  }
  return std::nullopt;
}

}  // namespace vgpu::cudart
