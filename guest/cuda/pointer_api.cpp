// cuPointerGetAttribute(s): what a pointer is, answered from what the shim handed out (device
// ranges, page-locked host memory), since a guest cannot ask the GPU's address space.
#include <cstring>

#include "guest/cuda/api.h"
#include "guest/cuda/device_memory.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/host_memory.h"
#include "guest/cuda/ipc.h"

using namespace vgpu::cuda;
namespace guest = vgpu::guest;

namespace {

// What one pointer is, looked up once for all the attributes asked.
struct PointerFacts {
  std::optional<DeviceRange> device;
  std::optional<HostRange> host;
  bool known() const { return device.has_value() || host.has_value(); }
};

PointerFacts facts_of(CUdeviceptr ptr) {
  PointerFacts f;
  f.device = find_device_range(ptr);
  if (!f.device) f.host = find_host_range(reinterpret_cast<const void*>(ptr));
  return f;
}

// The size of what an attribute writes (cuda.h's documentation of each).
size_t attribute_size(CUpointer_attribute which) {
  switch (which) {
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
    case CU_POINTER_ATTRIBUTE_SYNC_MEMOPS:
    case CU_POINTER_ATTRIBUTE_IS_MANAGED:
    case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
    case CU_POINTER_ATTRIBUTE_IS_LEGACY_CUDA_IPC_CAPABLE:
    case CU_POINTER_ATTRIBUTE_MAPPED:
    case CU_POINTER_ATTRIBUTE_IS_GPU_DIRECT_RDMA_CAPABLE:
    case CU_POINTER_ATTRIBUTE_IS_HW_DECOMPRESS_CAPABLE:
      return 4;
    default:
      return 8;
  }
}

template <typename T>
void put(void* data, T value) {
  std::memcpy(data, &value, sizeof value);
}

// One attribute into *data; CUDA_ERROR_INVALID_VALUE for memory the driver would not know.
CUresult attribute(void* data, CUpointer_attribute attribute, CUdeviceptr ptr, const PointerFacts& f) {
  if (!f.known()) return CUDA_ERROR_INVALID_VALUE;
  const bool on_device = f.device.has_value();
  const uint64_t start = on_device ? f.device->range.start : f.host->start;
  const uint64_t size = on_device ? f.device->range.size : f.host->size;
  Context* owner = on_device ? f.device->owner : f.host->owner;
  const uint32_t device = on_device ? f.device->range.device : (owner ? owner->device : 0);
  switch (attribute) {
    case CU_POINTER_ATTRIBUTE_CONTEXT:
      put(data, handle_of(owner));
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
      put(data, static_cast<unsigned>(on_device ? CU_MEMORYTYPE_DEVICE : CU_MEMORYTYPE_HOST));
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_DEVICE_POINTER: {
      if (on_device) {
        put(data, ptr);
        return CUDA_SUCCESS;
      }
      // Page-locked memory in the heap is mapped, registered pages moved into it too; registered
      // pages that stayed where they were are not.
      guest::Channel* ch = channel();
      CUdeviceptr mapped = 0;
      if (ch == nullptr || mapped_address(*ch, reinterpret_cast<const void*>(ptr), &mapped) != CUDA_SUCCESS)
        return CUDA_ERROR_INVALID_VALUE;
      put(data, mapped);
      return CUDA_SUCCESS;
    }
    case CU_POINTER_ATTRIBUTE_HOST_POINTER:
      if (on_device && !f.device->managed) return CUDA_ERROR_INVALID_VALUE;  // managed: one address
      put(data, reinterpret_cast<void*>(ptr));
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_SYNC_MEMOPS:
      put(data, 1);  // vgpu's copies are all synchronous with respect to the host anyway
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_BUFFER_ID:
      put(data, static_cast<unsigned long long>(on_device ? f.device->buffer_id : start));
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_IS_MANAGED:
      put(data, on_device && f.device->managed ? 1 : 0);
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
      put(data, static_cast<int>(device));
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_IS_LEGACY_CUDA_IPC_CAPABLE:
      // cuMemAlloc's memory (ipc_api.cpp): not a global, a mapping, managed memory or memory
      // opened from another process.
      put(data, on_device && f.device->allocation && f.device->owner != nullptr && !f.device->managed &&
                        !find_ipc_range(ptr)
                    ? 1
                    : 0);
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
    case CU_POINTER_ATTRIBUTE_MAPPING_BASE_ADDR:
      put(data, static_cast<CUdeviceptr>(start));
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
    case CU_POINTER_ATTRIBUTE_MAPPING_SIZE:
      put(data, static_cast<size_t>(size));
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_MAPPED:
      put(data, on_device || !f.host->registered || f.host->alias.active() ? 1 : 0);
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_ALLOWED_HANDLE_TYPES:
      put(data, static_cast<unsigned long long>(0));
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_IS_GPU_DIRECT_RDMA_CAPABLE:
    case CU_POINTER_ATTRIBUTE_IS_HW_DECOMPRESS_CAPABLE:
      put(data, 0);
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_ACCESS_FLAGS:
      put(data, static_cast<unsigned long long>(CU_POINTER_ATTRIBUTE_ACCESS_FLAG_READWRITE));
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE:
      put(data, static_cast<void*>(nullptr));
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_MEMORY_BLOCK_ID:
      put(data, static_cast<unsigned long long>(on_device ? f.device->buffer_id : start));
      return CUDA_SUCCESS;
    default:
      return CUDA_ERROR_INVALID_VALUE;
  }
}

}  // namespace

VGPU_DRIVER_API CUresult cuPointerGetAttribute(void* data, CUpointer_attribute which, CUdeviceptr ptr) {
  if (data == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (init_status() != CUDA_SUCCESS) return init_status();
  return guarded([&] { return attribute(data, which, ptr, facts_of(ptr)); });
}

// Unlike cuPointerGetAttribute, memory the driver does not know is no error here: its
// attributes read as zero (the device ordinal as -2, as the driver reports it).
VGPU_DRIVER_API CUresult cuPointerGetAttributes(unsigned int count, CUpointer_attribute* which, void** data,
                                                CUdeviceptr ptr) {
  if (count == 0 || which == nullptr || data == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (init_status() != CUDA_SUCCESS) return init_status();
  return guarded([&] {
    const PointerFacts f = facts_of(ptr);
    for (unsigned i = 0; i < count; ++i) {
      if (data[i] == nullptr) return CUDA_ERROR_INVALID_VALUE;
      if (attribute(data[i], which[i], ptr, f) == CUDA_SUCCESS) continue;
      if (f.known() && which[i] != CU_POINTER_ATTRIBUTE_DEVICE_POINTER && which[i] != CU_POINTER_ATTRIBUTE_HOST_POINTER)
        return CUDA_ERROR_INVALID_VALUE;  // an attribute vgpu does not know
      if (which[i] == CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL)
        put(data[i], -2);
      else
        std::memset(data[i], 0, attribute_size(which[i]));
    }
    return CUDA_SUCCESS;
  });
}
