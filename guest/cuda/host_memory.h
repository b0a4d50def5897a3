// Host memory the driver would page-lock: cuMemAllocHost / cuMemHostAlloc memory comes from
// the process's shared heap (guest/client/host_heap.h), which vgpud registered with the GPU, so
// copies from and to it are DMA on the host, and kernels reach it at the heap's device address
// (mapped memory, cuMemHostGetDevicePointer). cuMemHostRegister cannot hand guest pages to the
// GPU: the range is remembered (its flags, pointer attributes) and copies from it are staged,
// which keeps every guarantee a program can observe but the speed.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <optional>

#include "guest/client/channel.h"
#include "guest/client/host_heap.h"
#include "guest/cuda/context.h"

namespace vgpu::cuda {

// Page-locked host memory the program got from this shim.
struct HostRange {
  uintptr_t start = 0;
  uint64_t size = 0;
  unsigned flags = 0;       // CU_MEMHOSTALLOC_* (allocations) or CU_MEMHOSTREGISTER_* (registered)
  bool registered = false;  // cuMemHostRegister'd, not allocated here
  struct Context* owner = nullptr;  // the context current when it was allocated or registered
};

// The range containing p, if p is page-locked memory from this shim.
std::optional<HostRange> find_host_range(const void* p) noexcept;

// Where the shared heap lies (empty before the channel is open).
guest::HeapRange shared_heap() noexcept;

// The device address of allocated page-locked memory at `p` (mapped memory), asked of vgpud
// once per device; CUDA_ERROR_INVALID_VALUE for memory that is not from the shared heap
// (registered guest pages cannot be mapped), CUDA_ERROR_NOT_SUPPORTED where vgpud could not map
// the heap. Call inside a context (enter_context).
CUresult mapped_address(guest::Channel& channel, const void* p, CUdeviceptr* out);

}  // namespace vgpu::cuda
