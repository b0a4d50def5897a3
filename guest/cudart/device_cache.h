// Per-device facts that never change while the process runs (name, limits, attributes):
// fetched with one DeviceGetInfo per device, then answered from guest memory, so
// cudaGetDeviceProperties, cudaDeviceGetAttribute and launch checks cost no round trip.
#pragma once
#include <driver_types.h>

#include <atomic>
#include <cstdint>

#include "guest/client/channel.h"
#include "vgpu/protocol/limits.h"
#include "vgpu/protocol/messages.h"

namespace vgpu::cudart {

struct DeviceInfo {
  proto::DeviceGetInfoReply raw;
  cudaDeviceProp prop;
};

class DeviceCache {
 public:
  // The device's info; the first call for a device asks vgpud. `device` must be below
  // limits::kMaxDevices (cudaErrorInvalidDevice otherwise).
  cudaError_t get(guest::Channel& channel, uint32_t device, const DeviceInfo** out);

 private:
  // Entries are immutable once published and live as long as the process.
  std::atomic<const DeviceInfo*> entries_[limits::kMaxDevices] = {};
};

}  // namespace vgpu::cudart
