#include "guest/cudart/launch_check.h"

#include <cuda.h>

#include <cstdint>

#include "guest/cudart/device_props.h"

namespace vgpu::cudart {
namespace {

bool exceeds(uint64_t value, int limit) { return limit > 0 && value > static_cast<uint64_t>(limit); }

}  // namespace

LaunchLimits launch_limits(const proto::DeviceGetInfoReply& info) {
  LaunchLimits l;
  l.max_threads_per_block = device_attribute(info, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
  l.max_block[0] = device_attribute(info, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X);
  l.max_block[1] = device_attribute(info, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y);
  l.max_block[2] = device_attribute(info, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z);
  l.max_grid[0] = device_attribute(info, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X);
  l.max_grid[1] = device_attribute(info, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y);
  l.max_grid[2] = device_attribute(info, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z);
  return l;
}

cudaError_t check_launch_config(dim3 grid, dim3 block, const LaunchLimits& limits) {
  const unsigned g[3] = {grid.x, grid.y, grid.z};
  const unsigned b[3] = {block.x, block.y, block.z};
  for (int i = 0; i < 3; ++i) {
    if (g[i] == 0 || b[i] == 0) return cudaErrorInvalidValue;
    if (exceeds(g[i], limits.max_grid[i]) || exceeds(b[i], limits.max_block[i])) {
      return cudaErrorInvalidValue;
    }
  }
  // x * y fits in 64 bits; saturate the last factor rather than wrap.
  uint64_t xy = uint64_t{b[0]} * b[1];
  uint64_t threads = xy > UINT64_MAX / b[2] ? UINT64_MAX : xy * b[2];
  if (exceeds(threads, limits.max_threads_per_block)) return cudaErrorInvalidValue;
  return cudaSuccess;
}

}  // namespace vgpu::cudart
