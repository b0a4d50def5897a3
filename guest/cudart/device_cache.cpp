#include "guest/cudart/device_cache.h"

#include <cstddef>
#include <memory>
#include <span>

#include "guest/cudart/device_props.h"
#include "guest/cudart/status_map.h"

namespace vgpu::cudart {

cudaError_t DeviceCache::get(guest::Channel& channel, uint32_t device, const DeviceInfo** out) {
  if (device >= limits::kMaxDevices) return cudaErrorInvalidDevice;
  if (const DeviceInfo* cached = entries_[device].load(std::memory_order_acquire)) {
    *out = cached;
    return cudaSuccess;
  }

  auto info = std::make_unique<DeviceInfo>();
  proto::DeviceGetInfoRequest request{device, 0};
  auto reply = std::span(reinterpret_cast<uint8_t*>(&info->raw), sizeof info->raw);
  guest::CallResult r = channel.call(proto::CallId::DeviceGetInfo, {{&request, sizeof request}}, reply);
  if (r.status != 0) return to_cuda_error(r.status);
  constexpr uint32_t kFixedPart = offsetof(proto::DeviceGetInfoReply, attributes);
  if (r.payload_size < kFixedPart) return cudaErrorUnknown;
  // Only attributes that actually arrived count, whatever attribute_count claims.
  uint32_t arrived = (r.payload_size - kFixedPart) / sizeof(int32_t);
  if (info->raw.attribute_count > arrived) info->raw.attribute_count = arrived;
  info->raw.name[sizeof info->raw.name - 1] = '\0';
  fill_device_prop(info->raw, &info->prop);

  // Two threads may race to fill the same device; the first one's answer wins.
  const DeviceInfo* expected = nullptr;
  if (entries_[device].compare_exchange_strong(expected, info.get(), std::memory_order_acq_rel)) {
    *out = info.release();
  } else {
    *out = expected;
  }
  return cudaSuccess;
}

}  // namespace vgpu::cudart
