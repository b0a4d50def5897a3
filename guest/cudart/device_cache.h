// Per-device facts that never change while the process runs (name, limits, attributes), as a
// cudaDeviceProp: assembled once per device from the driver's answers, which the driver shim
// gives from its snapshot without a round trip, and kept, so that cudaGetDeviceProperties is
// a copy.
#pragma once
#include <driver_types.h>

#include <atomic>

#include "vgpu/protocol/limits.h"

namespace vgpu::cudart {

class DeviceCache {
 public:
  // The device's properties; `device` must be one of the process's (checked by the caller).
  cudaError_t get(int device, const cudaDeviceProp** out);

 private:
  // Entries are immutable once published and live as long as the process.
  std::atomic<const cudaDeviceProp*> entries_[limits::kMaxDevices] = {};
};

}  // namespace vgpu::cudart
