#include "guest/cuda/device_snapshot.h"

namespace vgpu::cuda {

std::optional<int> DeviceSnapshot::attribute(int attribute) const {
  if (attribute <= 0 || static_cast<uint32_t>(attribute) >= info.attribute_count) return std::nullopt;
  return info.attributes[attribute];
}

}  // namespace vgpu::cuda
