// The launch-configuration checks CUDA does synchronously at the launch call. vgpud would catch
// them too, but only when the posted launch runs: checking here gives the application the
// error from the launch itself (cudaGetLastError right after <<<>>>), as native CUDA does.
#pragma once
#include <driver_types.h>
#include <vector_types.h>

#include "vgpu/protocol/messages.h"

namespace vgpu::cudart {

struct LaunchLimits {
  // 0 means unknown (the device did not report it): that check is skipped.
  int max_threads_per_block = 0;
  int max_block[3] = {0, 0, 0};
  int max_grid[3] = {0, 0, 0};
};

LaunchLimits launch_limits(const proto::DeviceGetInfoReply& info);

// cudaErrorInvalidValue for empty or oversized grids and blocks: CUDA 13 with driver 580
// answers every bad configuration so (measured on an H100), not cudaErrorInvalidConfiguration.
cudaError_t check_launch_config(dim3 grid, dim3 block, const LaunchLimits& limits);

}  // namespace vgpu::cudart
