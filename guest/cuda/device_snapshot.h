// One device's facts that never change while the process runs, as vgpud reported them in one
// DeviceGetInfo: name, UUID, memory size and every attribute.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <optional>

#include "vgpu/protocol/messages.h"

namespace vgpu::cuda {

struct DeviceSnapshot {
  proto::DeviceGetInfoReply info;

  const char* name() const { return info.name; }
  const uint8_t* uuid() const { return info.uuid; }  // 16 bytes
  uint64_t total_memory() const { return info.total_memory; }
  // The attribute's value; nullopt for one this snapshot does not hold.
  std::optional<int> attribute(int attribute) const;
};

// Sets to 0 the attributes that announce a feature vgpu does not give a guest (managed memory,
// virtual memory management, memory pools, IPC, external memory and semaphores, GPUDirect RDMA),
// so that a program that asks first takes the path without it, as on a GPU that lacks it,
// rather than fail at the call. Applied once, to the snapshot every answer comes from; the
// runtime shim reads the same answers.
void hide_unsupported_features(proto::DeviceGetInfoReply& info);

}  // namespace vgpu::cuda
