#include "guest/cudart/device_cache.h"

#include <cuda.h>

#include <cstring>
#include <memory>

#include "guest/cudart/device_props.h"
#include "guest/cudart/status_map.h"

namespace vgpu::cudart {
namespace {

// The device's facts in the layout fill_device_prop reads (vgpud's DeviceGetInfo reply),
// asked of the driver one by one.
cudaError_t driver_facts(int device, proto::DeviceGetInfoReply* facts) {
  if (CUresult r = cuDeviceGetName(facts->name, sizeof facts->name, device); r != CUDA_SUCCESS) return to_cuda_error(r);
  facts->name[sizeof facts->name - 1] = '\0';
  CUuuid uuid{};
  if (CUresult r = cuDeviceGetUuid(&uuid, device); r != CUDA_SUCCESS) return to_cuda_error(r);
  static_assert(sizeof uuid.bytes == sizeof facts->uuid);
  std::memcpy(facts->uuid, uuid.bytes, sizeof facts->uuid);
  size_t total = 0;
  if (CUresult r = cuDeviceTotalMem(&total, device); r != CUDA_SUCCESS) return to_cuda_error(r);
  facts->total_memory = total;
  facts->attribute_count = limits::kMaxDeviceAttributes;
  for (uint32_t a = 0; a < limits::kMaxDeviceAttributes; ++a) {
    int value = 0;
    // An attribute this driver does not know reads 0, as an unreported one does.
    if (cuDeviceGetAttribute(&value, static_cast<CUdevice_attribute>(a), device) != CUDA_SUCCESS) value = 0;
    facts->attributes[a] = value;
  }
  return cudaSuccess;
}

}  // namespace

cudaError_t DeviceCache::get(int device, const cudaDeviceProp** out) {
  if (device < 0 || static_cast<uint32_t>(device) >= limits::kMaxDevices) return cudaErrorInvalidDevice;
  std::atomic<const cudaDeviceProp*>& entry = entries_[device];
  if (const cudaDeviceProp* cached = entry.load(std::memory_order_acquire)) {
    *out = cached;
    return cudaSuccess;
  }
  auto facts = std::make_unique<proto::DeviceGetInfoReply>();
  if (cudaError_t e = driver_facts(device, facts.get()); e != cudaSuccess) return e;
  auto prop = std::make_unique<cudaDeviceProp>();
  fill_device_prop(*facts, prop.get());
  // Two threads may race to fill the same device; the first one's answer wins.
  const cudaDeviceProp* expected = nullptr;
  if (entry.compare_exchange_strong(expected, prop.get(), std::memory_order_acq_rel)) {
    *out = prop.release();
  } else {
    *out = expected;
  }
  return cudaSuccess;
}

}  // namespace vgpu::cudart
