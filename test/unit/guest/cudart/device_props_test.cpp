#include "guest/cudart/device_props.h"

#include <catch2/catch.hpp>
#include <cuda.h>

#include <cstring>
#include <memory>

using namespace vgpu::cudart;

namespace {

std::unique_ptr<vgpu::proto::DeviceGetInfoReply> sample() {
  auto info = std::make_unique<vgpu::proto::DeviceGetInfoReply>();
  std::memset(info.get(), 0, sizeof *info);
  std::strcpy(info->name, "NVIDIA H100 80GB HBM3");
  for (int i = 0; i < 16; ++i) info->uuid[i] = static_cast<uint8_t>(i + 1);
  info->total_memory = 85ull << 30;
  info->attribute_count = CU_DEVICE_ATTRIBUTE_ONLY_PARTIAL_HOST_NATIVE_ATOMIC_SUPPORTED + 1;
  info->attributes[CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK] = 1024;
  info->attributes[CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z] = 64;
  info->attributes[CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y] = 65535;
  info->attributes[CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK] = 49152;
  info->attributes[CU_DEVICE_ATTRIBUTE_WARP_SIZE] = 32;
  info->attributes[CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT] = 132;
  info->attributes[CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR] = 9;
  info->attributes[CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR] = 0;
  info->attributes[CU_DEVICE_ATTRIBUTE_PCI_BUS_ID] = 0x3b;
  info->attributes[CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE] = 52428800;
  info->attributes[CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN] = 232448;
  info->attributes[CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY] = 1;
  info->attributes[CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY] = 1;
  info->attributes[CU_DEVICE_ATTRIBUTE_GPU_PCI_DEVICE_ID] = 0x233010de;
  return info;
}

}  // namespace

TEST_CASE("cudaDeviceProp fields come from the matching attributes", "[cudart][device]") {
  auto info = sample();
  cudaDeviceProp p;
  std::memset(&p, 0x5a, sizeof p);
  fill_device_prop(*info, &p);
  CHECK(std::strcmp(p.name, "NVIDIA H100 80GB HBM3") == 0);
  CHECK(p.uuid.bytes[0] == 1);
  CHECK(p.uuid.bytes[15] == 16);
  CHECK(p.totalGlobalMem == (85ull << 30));
  CHECK(p.maxThreadsPerBlock == 1024);
  CHECK(p.maxThreadsDim[2] == 64);
  CHECK(p.maxGridSize[1] == 65535);
  CHECK(p.sharedMemPerBlock == 49152);
  CHECK(p.warpSize == 32);
  CHECK(p.multiProcessorCount == 132);
  CHECK(p.major == 9);
  CHECK(p.minor == 0);
  CHECK(p.pciBusID == 0x3b);
  CHECK(p.l2CacheSize == 52428800);
  CHECK(p.sharedMemPerBlockOptin == 232448);
  CHECK(p.gpuPciDeviceID == 0x233010deu);
  CHECK(p.regsPerBlock == 0);  // unreported: zero, not the 0x5a filler
  CHECK(p.reserved[0] == 0);
}

TEST_CASE("cudaDeviceProp reports the driver shim's answers as they are", "[cudart][device]") {
  // Hiding what vgpu does not provide is the driver shim's (guest/cuda/device_snapshot.h):
  // the runtime shim's facts are its answers, read back unchanged.
  auto info = sample();
  info->attributes[CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY] = 1;
  cudaDeviceProp p;
  fill_device_prop(*info, &p);
  CHECK(p.canMapHostMemory == 1);
  CHECK(device_attribute(*info, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT) == 132);
}

TEST_CASE("attributes beyond what the device filled are absent", "[cudart][device]") {
  auto info = sample();
  info->attribute_count = CU_DEVICE_ATTRIBUTE_WARP_SIZE;  // WARP_SIZE itself not included
  CHECK_FALSE(has_device_attribute(*info, CU_DEVICE_ATTRIBUTE_WARP_SIZE));
  CHECK(device_attribute(*info, CU_DEVICE_ATTRIBUTE_WARP_SIZE) == 0);
  CHECK(has_device_attribute(*info, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK));
  CHECK_FALSE(has_device_attribute(*info, -1));
  info->attribute_count = 100000;  // a lying count is capped at the table size
  CHECK_FALSE(has_device_attribute(*info, vgpu::limits::kMaxDeviceAttributes));
  std::memset(info->name, 'a', sizeof info->name);  // no NUL: the copy still ends in one
  cudaDeviceProp p;
  fill_device_prop(*info, &p);
  CHECK(std::strlen(p.name) == 255);
}
