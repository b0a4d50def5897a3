#include "guest/cuda/launch_check.h"

#include <cuda.h>

#include <cstdint>

#include "guest/cudart/device_props.h"
#include "vgpu/protocol/limits.h"

namespace vgpu::cuda {
namespace {

bool exceeds(uint64_t value, int limit) { return limit > 0 && value > static_cast<uint64_t>(limit); }

}  // namespace

LaunchLimits launch_limits(const proto::DeviceGetInfoReply& info) {
  LaunchLimits l;
  l.max_threads_per_block = cudart::device_attribute(info, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
  l.max_block[0] = cudart::device_attribute(info, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X);
  l.max_block[1] = cudart::device_attribute(info, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y);
  l.max_block[2] = cudart::device_attribute(info, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z);
  l.max_grid[0] = cudart::device_attribute(info, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X);
  l.max_grid[1] = cudart::device_attribute(info, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y);
  l.max_grid[2] = cudart::device_attribute(info, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z);
  return l;
}

CUresult check_launch_config(dim3 grid, dim3 block, const LaunchLimits& limits) {
  const unsigned g[3] = {grid.x, grid.y, grid.z};
  const unsigned b[3] = {block.x, block.y, block.z};
  for (int i = 0; i < 3; ++i) {
    if (g[i] == 0 || b[i] == 0) return CUDA_ERROR_INVALID_VALUE;
    if (exceeds(g[i], limits.max_grid[i]) || exceeds(b[i], limits.max_block[i])) {
      return CUDA_ERROR_INVALID_VALUE;
    }
  }
  // x * y fits in 64 bits; saturate the last factor rather than wrap.
  uint64_t xy = uint64_t{b[0]} * b[1];
  uint64_t threads = xy > UINT64_MAX / b[2] ? UINT64_MAX : xy * b[2];
  if (exceeds(threads, limits.max_threads_per_block)) return CUDA_ERROR_INVALID_VALUE;
  return CUDA_SUCCESS;
}

bool needs_shared_limit(size_t shared_mem) { return shared_mem > 0; }

int64_t shared_limit_from(const proto::FuncGetAttributesReply& reply) {
  const uint32_t index = CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES;
  if (index >= reply.count || index >= limits::kMaxFunctionAttributes) return kNoSharedLimit;
  const int32_t value = reply.values[index];
  return value > 0 ? value : kNoSharedLimit;
}

CUresult check_dynamic_shared(size_t shared_mem, int64_t limit) {
  if (limit < 0) return CUDA_SUCCESS;  // unknown: not enforced
  return static_cast<uint64_t>(shared_mem) > static_cast<uint64_t>(limit) ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
}

int64_t SharedLimitCache::learn(int64_t fetched) {
  int64_t expected = kUnknown;
  if (value_.compare_exchange_strong(expected, fetched, std::memory_order_acq_rel)) return fetched;
  return expected;  // what another thread stored first
}

}  // namespace vgpu::cuda
