// Pure pieces of the handlers for MEMSET_2D, STREAM_WAIT_VALUE / STREAM_WRITE_VALUE and the
// launch-configuration calls (OCCUPANCY_MAX_ACTIVE_CLUSTERS, OCCUPANCY_MAX_CLUSTER_SIZE,
// LAUNCH_KERNEL_EX): what they compute from the guest's numbers before the driver sees them,
// kept apart so that unit tests reach them without a channel.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <optional>

#include "vgpu/protocol/messages.h"

namespace vgpud {

// The bytes a pitched 2D operation touches from its first byte: `height` rows of `width`
// elements of `element_size` bytes, `pitch` apart (unused for one row). 0 when it touches
// nothing (no width or no height); nullopt when the rows overlap (pitch below a row's bytes,
// height > 1) or a product or sum would not fit in 64 bits.
inline std::optional<uint64_t> pitched_span(uint64_t pitch, uint64_t width, uint64_t element_size,
                                            uint64_t height) {
  if (element_size == 0 || width > UINT64_MAX / element_size) return std::nullopt;
  const uint64_t row = width * element_size;
  if (row == 0 || height == 0) return 0;
  if (height == 1) return row;
  if (pitch < row) return std::nullopt;
  // pitch >= row > 0: the division is safe.
  if (height - 1 > (UINT64_MAX - row) / pitch) return std::nullopt;
  return (height - 1) * pitch + row;
}

// The flags each stream memory operation knows (cuda.h); any other bit is refused.
inline constexpr uint32_t kStreamWaitValueFlags = CU_STREAM_WAIT_VALUE_GEQ | CU_STREAM_WAIT_VALUE_EQ |
                                                  CU_STREAM_WAIT_VALUE_AND | CU_STREAM_WAIT_VALUE_NOR |
                                                  CU_STREAM_WAIT_VALUE_FLUSH;
inline constexpr uint32_t kStreamWriteValueFlags =
    CU_STREAM_WRITE_VALUE_DEFAULT | CU_STREAM_WRITE_VALUE_NO_MEMORY_BARRIER;

// A value of `width` bytes at `address`: 4 or 8 bytes, aligned to its width.
inline bool stream_value_shape_ok(uint64_t address, uint32_t width) {
  return (width == 4 || width == 8) && address % width == 0;
}

using vgpu::proto::kLaunchCooperative;
using vgpu::proto::kLaunchPriority;
using vgpu::proto::kLaunchProgrammatic;

// A launch configuration with its attributes inside it: config.attrs points into attrs, so the
// object must not be copied once built (it is neither copyable nor movable).
struct LaunchSetup {
  CUlaunchConfig config{};
  CUlaunchAttribute attrs[4]{};

  // grid, block, dynamic shared memory and stream; a CLUSTER_DIMENSION attribute when `cluster`
  // is not all 0 (a cluster with some 0 dimensions goes to the driver as it is, which refuses
  // it); COOPERATIVE when flags has kLaunchCooperative; PRIORITY (`priority`) when it has
  // kLaunchPriority; PROGRAMMATIC_STREAM_SERIALIZATION when it has kLaunchProgrammatic.
  LaunchSetup(const uint32_t (&grid)[3], const uint32_t (&block)[3], uint32_t shared_mem_bytes, CUstream stream,
              const uint32_t (&cluster)[3], uint32_t flags = 0, int32_t priority = 0) {
    config.gridDimX = grid[0];
    config.gridDimY = grid[1];
    config.gridDimZ = grid[2];
    config.blockDimX = block[0];
    config.blockDimY = block[1];
    config.blockDimZ = block[2];
    config.sharedMemBytes = shared_mem_bytes;
    config.hStream = stream;
    if (cluster[0] != 0 || cluster[1] != 0 || cluster[2] != 0) {
      CUlaunchAttribute& a = attrs[config.numAttrs++];
      a.id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
      a.value.clusterDim.x = cluster[0];
      a.value.clusterDim.y = cluster[1];
      a.value.clusterDim.z = cluster[2];
    }
    if (flags & kLaunchCooperative) {
      CUlaunchAttribute& a = attrs[config.numAttrs++];
      a.id = CU_LAUNCH_ATTRIBUTE_COOPERATIVE;
      a.value.cooperative = 1;
    }
    if (flags & kLaunchPriority) {
      CUlaunchAttribute& a = attrs[config.numAttrs++];
      a.id = CU_LAUNCH_ATTRIBUTE_PRIORITY;
      a.value.priority = priority;
    }
    if (flags & kLaunchProgrammatic) {
      CUlaunchAttribute& a = attrs[config.numAttrs++];
      a.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
      a.value.programmaticStreamSerializationAllowed = 1;
    }
    config.attrs = config.numAttrs != 0 ? attrs : nullptr;
  }
  LaunchSetup(const LaunchSetup&) = delete;
  LaunchSetup& operator=(const LaunchSetup&) = delete;
};

}  // namespace vgpud
