// The launch-configuration checks CUDA does synchronously at the launch call. vgpud would catch
// them too, but only when the posted launch runs: checking here gives the application the
// error from the launch itself (cudaGetLastError right after <<<>>>), as native CUDA does.
#pragma once
#include <cuda.h>
#include <vector_types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "vgpu/protocol/messages.h"

namespace vgpu::cuda {

struct LaunchLimits {
  // 0 means unknown (the device did not report it): that check is skipped.
  int max_threads_per_block = 0;
  int max_block[3] = {0, 0, 0};
  int max_grid[3] = {0, 0, 0};
};

LaunchLimits launch_limits(const proto::DeviceGetInfoReply& info);

// CUDA_ERROR_INVALID_VALUE for empty or oversized grids and blocks: CUDA 13 with driver 580
// answers every bad configuration so (measured on an H100), not cudaErrorInvalidConfiguration.
CUresult check_launch_config(dim3 grid, dim3 block, const LaunchLimits& limits);

// Dynamic shared memory. CUDA refuses, at the launch call, a launch asking for more than the
// kernel's CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES (48 KiB less the kernel's static
// shared memory until cudaFuncSetAttribute raises it). The shim learns that limit from vgpud
// once per kernel and keeps it, so that launches stay posted messages without a round trip.

// A limit that checks nothing: vgpud did not report a usable one, so it stays the judge (the
// launch fails when it runs, and the error comes back asynchronously).
inline constexpr int64_t kNoSharedLimit = INT64_MAX;

// Whether a launch must know the kernel's limit before it may be posted. Any dynamic shared
// memory at all: the default limit is 48 KiB *less the static shared memory*, which the shim
// does not know without asking, so a lower threshold (48 KiB, say) would let a kernel with
// static shared memory through with a launch that fails natively. The cost is one
// FuncGetAttributes round trip per kernel, on its first launch with dynamic shared memory;
// launches without any, the common case, never ask.
bool needs_shared_limit(size_t shared_mem);

// The limit a FuncGetAttributes reply reports. kNoSharedLimit when the value did not arrive,
// or is 0: vgpud reports an attribute the driver failed to give as 0, and refusing every launch
// on that would be worse than the rare kernel whose static shared memory takes all 48 KiB.
int64_t shared_limit_from(const proto::FuncGetAttributesReply& reply);

// CUDA_ERROR_INVALID_VALUE above the limit, as CUDA 13 answers (measured on an H100).
CUresult check_dynamic_shared(size_t shared_mem, int64_t limit);

// One kernel's limit as the shim knows it, shared by every thread that launches the kernel.
class SharedLimitCache {
 public:
  // The limit, or -1 while nothing is known yet.
  int64_t get() const { return value_.load(std::memory_order_acquire); }
  // A fetched limit. It counts only while nothing is known: a fetch that raced with a
  // cudaFuncSetAttribute may carry the value from before it. Returns the limit now in force.
  int64_t learn(int64_t fetched);
  // cudaFuncSetAttribute(MaxDynamicSharedMemorySize) succeeded: that value is the limit now.
  void set(int64_t value) { value_.store(value, std::memory_order_release); }

  static constexpr int64_t kUnknown = -1;

 private:
  std::atomic<int64_t> value_{kUnknown};
};

}  // namespace vgpu::cuda
