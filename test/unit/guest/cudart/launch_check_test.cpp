#include "guest/cudart/launch_check.h"

#include <catch2/catch.hpp>
#include <cuda.h>

using namespace vgpu::cudart;

namespace {

LaunchLimits h100() {
  LaunchLimits l;
  l.max_threads_per_block = 1024;
  l.max_block[0] = 1024;
  l.max_block[1] = 1024;
  l.max_block[2] = 64;
  l.max_grid[0] = 2147483647;
  l.max_grid[1] = 65535;
  l.max_grid[2] = 65535;
  return l;
}

}  // namespace

TEST_CASE("valid launch configurations pass", "[cudart][launch]") {
  CHECK(check_launch_config(dim3(1), dim3(1), h100()) == cudaSuccess);
  CHECK(check_launch_config(dim3(2147483647u), dim3(1024), h100()) == cudaSuccess);
  CHECK(check_launch_config(dim3(4, 65535, 65535), dim3(16, 8, 8), h100()) == cudaSuccess);
}

TEST_CASE("invalid launch configurations are refused", "[cudart][launch]") {
  CHECK(check_launch_config(dim3(0), dim3(32), h100()) == cudaErrorInvalidValue);
  CHECK(check_launch_config(dim3(1), dim3(0), h100()) == cudaErrorInvalidValue);
  CHECK(check_launch_config(dim3(1), dim3(32, 1, 0), h100()) == cudaErrorInvalidValue);
  CHECK(check_launch_config(dim3(1), dim3(2048), h100()) == cudaErrorInvalidValue);
  CHECK(check_launch_config(dim3(1), dim3(32, 32, 2), h100()) == cudaErrorInvalidValue);  // 2048 threads
  CHECK(check_launch_config(dim3(1), dim3(1, 1, 65), h100()) == cudaErrorInvalidValue);
  CHECK(check_launch_config(dim3(1, 65536), dim3(1), h100()) == cudaErrorInvalidValue);
  // A product that would wrap 64 bits still counts as too many threads.
  LaunchLimits only_threads;
  only_threads.max_threads_per_block = 1024;
  CHECK(check_launch_config(dim3(1), dim3(0xffffffffu, 0xffffffffu, 0xffffffffu), only_threads) ==
        cudaErrorInvalidValue);
}

TEST_CASE("limits come from the device's attributes", "[cudart][launch]") {
  vgpu::proto::DeviceGetInfoReply info{};
  info.attribute_count = 16;
  info.attributes[CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK] = 256;
  info.attributes[CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X] = 256;
  LaunchLimits l = launch_limits(info);
  CHECK(l.max_threads_per_block == 256);
  CHECK(check_launch_config(dim3(1), dim3(256), l) == cudaSuccess);
  CHECK(check_launch_config(dim3(1), dim3(257), l) == cudaErrorInvalidValue);
  // Unreported limits are not enforced.
  CHECK(check_launch_config(dim3(1u << 30, 1u << 20), dim3(1, 200), l) == cudaSuccess);
}
