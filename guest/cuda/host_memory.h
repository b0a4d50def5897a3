// Host memory the driver would page-lock: cuMemAllocHost / cuMemHostAlloc memory comes from
// the process's shared heap (guest/client/host_heap.h), which vgpud registered with the GPU, so
// copies from and to it are DMA on the host, and kernels reach it at the heap's device address
// (mapped memory, cuMemHostGetDevicePointer). cuMemHostRegister moves the program's pages into
// the heap where it safely can (guest/cuda/host_register.h), with the same effect; where it
// cannot, the range is only remembered (its flags, pointer attributes), copies from it are
// staged, and it has no device address: every guarantee a program can observe but the speed and
// the mapping.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <optional>

#include "guest/client/channel.h"
#include "guest/client/host_heap.h"
#include "guest/cuda/context.h"
#include "guest/cuda/host_register.h"

namespace vgpu::cuda {

// Page-locked host memory the program got from this shim.
struct HostRange {
  uintptr_t start = 0;
  uint64_t size = 0;
  unsigned flags = 0;       // CU_MEMHOSTALLOC_* (allocations) or CU_MEMHOSTREGISTER_* (registered)
  bool registered = false;  // cuMemHostRegister'd, not allocated here
  struct Context* owner = nullptr;  // the context current when it was allocated or registered
  PageAlias alias;                  // registered: its pages, moved into the heap (zero-copy)
  const char* not_moved = nullptr;  // registered and not moved: why (a static sentence)
  bool warned = false;              // that sentence was logged
};

// The range containing p, if p is page-locked memory from this shim.
std::optional<HostRange> find_host_range(const void* p) noexcept;

// Where the shared heap lies (empty before the channel is open).
guest::HeapRange shared_heap() noexcept;

// The heap offset of [p, p + count) when all of it is heap memory: inside the shared heap, or
// inside the pages of a registered range moved into it. Copies that find one are DMA.
bool heap_offset_of(const void* p, uint64_t count, uint64_t* offset) noexcept;

// The device address of page-locked memory at `p` (mapped memory): heap device address + heap
// offset, the former asked of vgpud once per device. CUDA_ERROR_INVALID_VALUE for memory that is
// not page-locked here, CUDA_ERROR_NOT_SUPPORTED for registered memory that stayed where it was
// (logged once per range, with the reason) and where vgpud could not map the heap. Call inside a
// context (enter_context).
CUresult mapped_address(guest::Channel& channel, const void* p, CUdeviceptr* out);
// Whether [p, p + size) is pinned host memory by the device address mapped_address handed out.
bool in_mapped_heap(CUdeviceptr p, size_t size) noexcept;

// The address the GPU reaches `*p` by, for a copy or memset that names pinned host memory as
// device memory: by its host address, as unified addressing lets a program do (JAX does), it is
// turned into the heap's device address. `host` says whether [*p, *p + size) is pinned host
// memory, by either address. Device memory and other addresses are left as they are.
CUresult gpu_address_of(guest::Channel& channel, CUdeviceptr* p, size_t size, bool* host);

}  // namespace vgpu::cuda
