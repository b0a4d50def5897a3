#include "guest/cuda/device_snapshot.h"

#include <algorithm>

namespace vgpu::cuda {

std::optional<int> DeviceSnapshot::attribute(int attribute) const {
  if (attribute <= 0 || static_cast<uint32_t>(attribute) >= info.attribute_count) return std::nullopt;
  return info.attributes[attribute];
}

namespace {

bool unsupported_feature(int attribute) {
  switch (attribute) {
    // Managed memory is the guest's (managed_memory.h): the CPU may not touch it while the GPU
    // works, and the GPU cannot reach guest pages of its own accord (vgpud's GPU cannot see a
    // guest's page tables).
    case CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS:
    case CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS:
    case CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS_USES_HOST_PAGE_TABLES:
    case CU_DEVICE_ATTRIBUTE_DIRECT_MANAGED_MEM_ACCESS_FROM_HOST:
    case CU_DEVICE_ATTRIBUTE_HOST_NATIVE_ATOMIC_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_ONLY_PARTIAL_HOST_NATIVE_ATOMIC_SUPPORTED:
    // Registered memory is mapped at a device address of its own (host_register.h), not at
    // the host pointer.
    case CU_DEVICE_ATTRIBUTE_CAN_USE_HOST_POINTER_FOR_REGISTERED_MEM:
    // Virtual memory's handles for other processes: only POSIX file descriptors, which the
    // tenant's processes share (shareable_api.cpp), read as the GPU says.
    case CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_WIN32_HANDLE_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_WIN32_KMT_HANDLE_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_FABRIC_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_GENERIC_COMPRESSION_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_DEFERRED_MAPPING_CUDA_ARRAY_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_SPARSE_CUDA_ARRAY_SUPPORTED:  // sparse arrays are not offered (§23)
    case CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED:
    // Memory pools are the guest's own (mem_pools.h): device pools, without IPC handle types
    // (a pool cannot be shared with another process) and without host memory.
    case CU_DEVICE_ATTRIBUTE_MEMPOOL_SUPPORTED_HANDLE_TYPES:
    case CU_DEVICE_ATTRIBUTE_HOST_MEMORY_POOLS_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_HOST_NUMA_MEMORY_POOLS_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_HOST_NUMA_MULTINODE_IPC_SUPPORTED:
    // Sharing with other devices and APIs: external semaphores, RDMA, graphics. (IPC between the
    // tenant's processes is offered, ipc_api.cpp: its attribute reads as the GPU says.)
    case CU_DEVICE_ATTRIBUTE_TIMELINE_SEMAPHORE_INTEROP_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_WITH_CUDA_VMM_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_D3D12_CIG_SUPPORTED:
    case CU_DEVICE_ATTRIBUTE_VULKAN_CIG_SUPPORTED:
      return true;
    default:
      return false;
  }
}

}  // namespace

void hide_unsupported_features(proto::DeviceGetInfoReply& info) {
  const uint32_t count = std::min<uint32_t>(info.attribute_count, limits::kMaxDeviceAttributes);
  for (uint32_t a = 0; a < count; ++a) {
    if (unsupported_feature(static_cast<int>(a))) info.attributes[a] = 0;
  }
}

}  // namespace vgpu::cuda
