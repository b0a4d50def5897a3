#include "guest/cuda/device_snapshot.h"

#include <catch2/catch.hpp>

#include <memory>

using namespace vgpu;
using vgpu::cuda::hide_unsupported_features;

namespace {

std::unique_ptr<proto::DeviceGetInfoReply> all_ones() {
  auto info = std::make_unique<proto::DeviceGetInfoReply>();
  info->attribute_count = limits::kMaxDeviceAttributes;
  for (uint32_t a = 0; a < limits::kMaxDeviceAttributes; ++a) info->attributes[a] = 1;
  return info;
}

}  // namespace

TEST_CASE("features vgpu does not provide read as absent", "[cuda][device]") {
  // What NVIDIA's runtime over the driver shim, and the runtime shim, read: a program that
  // checks managedMemory or VMM support first must take the path without it (conjugateGradientUM
  // crashed on cudaMallocManaged's error, vectorAddMMAP failed at cuMemGetAllocationGranularity).
  auto info = all_ones();
  hide_unsupported_features(*info);
  for (CUdevice_attribute a :
       {CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS,
        CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS,
        CU_DEVICE_ATTRIBUTE_MEMPOOL_SUPPORTED_HANDLE_TYPES, CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_FABRIC_SUPPORTED,
        CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_SUPPORTED,
        CU_DEVICE_ATTRIBUTE_CAN_USE_HOST_POINTER_FOR_REGISTERED_MEM}) {
    INFO("attribute " << static_cast<int>(a));
    CHECK(info->attributes[a] == 0);
  }
  // What vgpu does provide keeps the device's answer: mapped and registered page-locked
  // memory, cooperative and cluster launches, memory pools (the guest's, without IPC handle
  // types), virtual memory management and its POSIX file descriptors and IPC events (shared
  // between the tenant's processes, design.md §25), managed memory (the guest's, without
  // concurrent access), and everything that is not a feature flag.
  for (CUdevice_attribute a :
       {CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY, CU_DEVICE_ATTRIBUTE_HOST_REGISTER_SUPPORTED,
        CU_DEVICE_ATTRIBUTE_READ_ONLY_HOST_REGISTER_SUPPORTED, CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH,
        CU_DEVICE_ATTRIBUTE_CLUSTER_LAUNCH, CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING,
        CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED, CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED,
        CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR_SUPPORTED, CU_DEVICE_ATTRIBUTE_IPC_EVENT_SUPPORTED,
        CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT}) {
    INFO("attribute " << static_cast<int>(a));
    CHECK(info->attributes[a] == 1);
  }
}

TEST_CASE("hiding stays inside the attributes the snapshot holds", "[cuda][device]") {
  auto info = all_ones();
  info->attribute_count = CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS;  // CONCURRENT_MANAGED_ACCESS itself not held
  hide_unsupported_features(*info);
  CHECK(info->attributes[CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS] == 1);  // beyond the count: untouched
  info->attribute_count = 1u << 30;  // a count past the array is bounded by it
  hide_unsupported_features(*info);
  CHECK(info->attributes[CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS] == 0);
}
