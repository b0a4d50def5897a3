#include "guest/cudart/pointer_class.h"

namespace vgpu::cudart {

PtrClass classify_pointer(const void* p, uint64_t count, HeapRange heap, const AddressMap& allocations,
                          const AddressMap& symbols) {
  auto address = reinterpret_cast<uintptr_t>(p);
  if (uint64_t offset = 0; heap.offset_of(p, count, &offset)) return {PtrKind::Heap, offset};
  if (allocations.find(address) || symbols.find(address)) return {PtrKind::Device, 0};
  return {PtrKind::Pageable, 0};
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
