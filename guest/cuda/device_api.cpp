// Devices: answered from the snapshot cuInit took (driver_state.h), with no round trip: a
// runtime's start-up asks about a hundred attributes of every device.
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "guest/cuda/api.h"
#include "guest/cuda/driver_state.h"

using namespace vgpu::cuda;

namespace {

CUresult find(CUdevice dev, const DeviceSnapshot** out) {
  if (CUresult r = init_status(); r != CUDA_SUCCESS) return r;
  const DeviceSnapshot* d = dev < 0 ? nullptr : device(static_cast<uint32_t>(dev));
  if (d == nullptr) return CUDA_ERROR_INVALID_DEVICE;
  *out = d;
  return CUDA_SUCCESS;
}

}  // namespace

VGPU_DRIVER_API CUresult cuDeviceGetCount(int* count) {
  if (count == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = init_status(); r != CUDA_SUCCESS) return r;
  *count = static_cast<int>(device_count());
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuDeviceGet(CUdevice* out, int ordinal) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const DeviceSnapshot* d = nullptr;
  if (CUresult r = find(ordinal, &d); r != CUDA_SUCCESS) return r;
  *out = ordinal;  // a guest CUdevice is its index among the tenant's GPUs
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuDeviceGetName(char* name, int len, CUdevice dev) {
  if (name == nullptr || len <= 0) return CUDA_ERROR_INVALID_VALUE;
  const DeviceSnapshot* d = nullptr;
  if (CUresult r = find(dev, &d); r != CUDA_SUCCESS) return r;
  const size_t n = std::min<size_t>(strnlen(d->name(), sizeof d->info.name), static_cast<size_t>(len) - 1);
  std::memcpy(name, d->name(), n);
  name[n] = '\0';
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuDeviceGetUuid(CUuuid* uuid, CUdevice dev) {
  if (uuid == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const DeviceSnapshot* d = nullptr;
  if (CUresult r = find(dev, &d); r != CUDA_SUCCESS) return r;
  std::memcpy(uuid->bytes, d->uuid(), sizeof uuid->bytes);
  return CUDA_SUCCESS;
}
VGPU_DRIVER_API CUresult cuDeviceGetUuid_v2(CUuuid* uuid, CUdevice dev) { return cuDeviceGetUuid(uuid, dev); }

VGPU_DRIVER_API CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice dev) {
  if (bytes == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const DeviceSnapshot* d = nullptr;
  if (CUresult r = find(dev, &d); r != CUDA_SUCCESS) return r;
  *bytes = d->total_memory();
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuDeviceGetAttribute(int* value, CUdevice_attribute attribute, CUdevice dev) {
  if (value == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const DeviceSnapshot* d = nullptr;
  if (CUresult r = find(dev, &d); r != CUDA_SUCCESS) return r;
  const std::optional<int> v = d->attribute(static_cast<int>(attribute));
  if (!v) return CUDA_ERROR_INVALID_VALUE;  // as the driver answers an attribute it does not know
  *value = *v;
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuDeviceComputeCapability(int* major, int* minor, CUdevice dev) {
  if (major == nullptr || minor == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = cuDeviceGetAttribute(major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev); r != CUDA_SUCCESS)
    return r;
  return cuDeviceGetAttribute(minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
}

VGPU_DRIVER_API CUresult cuDeviceGetPCIBusId(char* bus_id, int len, CUdevice dev) {
  if (bus_id == nullptr || len <= 0) return CUDA_ERROR_INVALID_VALUE;
  const DeviceSnapshot* d = nullptr;
  if (CUresult r = find(dev, &d); r != CUDA_SUCCESS) return r;
  const int domain = d->attribute(CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID).value_or(0);
  const int bus = d->attribute(CU_DEVICE_ATTRIBUTE_PCI_BUS_ID).value_or(0);
  const int slot = d->attribute(CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID).value_or(0);
  std::snprintf(bus_id, static_cast<size_t>(len), "%08X:%02X:%02X.0", domain, bus, slot);
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuDeviceCanAccessPeer(int* can, CUdevice dev, CUdevice peer) {
  if (can == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const DeviceSnapshot* a = nullptr;
  const DeviceSnapshot* b = nullptr;
  if (CUresult r = find(dev, &a); r != CUDA_SUCCESS) return r;
  if (CUresult r = find(peer, &b); r != CUDA_SUCCESS) return r;
  return guarded([&] {
    const vgpu::proto::DeviceCanAccessPeerRequest request{static_cast<uint32_t>(dev), static_cast<uint32_t>(peer)};
    vgpu::proto::DeviceCanAccessPeerReply reply{};
    const vgpu::guest::CallResult r =
        channel()->call(vgpu::proto::CallId::DeviceCanAccessPeer, {{&request, sizeof request}},
                        std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
    if (r.status != 0) return to_cu_result(r.status);
    *can = dev == peer ? 0 : reply.can_access;
    return CUDA_SUCCESS;
  });
}
