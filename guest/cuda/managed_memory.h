// Managed memory (cuMemAllocManaged), kept coherent by the guest. The GPU's unified memory
// cannot reach a guest's pages, so each managed allocation is two copies at one address: device
// memory from vgpud (an ordinary allocation, charged to the tenant), and anonymous memory the
// shim maps at the same address in this process, so one pointer serves the CPU and kernels.
//
// Coherence, per 64 KiB chunk, with page protection telling what the CPU touches:
//
//   state       CPU protection   meaning
//   Device      none             the GPU may have written it; the CPU's copy is stale
//   HostClean   read             the CPU's copy equals the GPU's
//   HostDirty   read and write   the CPU wrote it; the GPU's copy is stale
//
//   - A CPU access to a Device chunk faults; the handler copies the chunk (and up to 2 MiB of
//     Device chunks after it) from the GPU, and makes it HostClean. A write to a HostClean
//     chunk faults again and makes it HostDirty.
//   - Before GPU work that may touch managed memory (a launch, a graph launch, a copy or memset
//     with a managed end), before_gpu_work() copies every HostDirty chunk to the GPU and makes
//     every chunk Device again. When the CPU touched nothing since, this is one atomic load.
//
// The device reports concurrentManagedAccess = 0, as GPUs without it do: the CPU must not touch
// managed memory while GPU work that may use it runs (synchronize first). A fault then downloads
// in stream order behind the legacy stream. The fault handler talks to vgpud; no shim lock is
// held where the shim itself touches program memory, and copies with a managed end are made as
// device copies, so the shim never faults on managed memory inside a call.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <mutex>
#include <optional>

#include "guest/cuda/context.h"

namespace vgpu::cuda {

inline constexpr uint64_t kManagedChunk = uint64_t{64} << 10;

// A managed allocation: `owner`'s device gets the memory, the process the mapping at its address.
CUresult allocate_managed(Context* owner, size_t size, CUdeviceptr* out);
// Frees the managed allocation that starts at `ptr`; *was_managed false (and nothing done) when
// `ptr` is not one.
CUresult free_managed(CUdeviceptr ptr, bool* was_managed);

struct ManagedRange {
  uint64_t start = 0;
  uint64_t size = 0;  // what the program asked for
  uint32_t device = 0;
};
std::optional<ManagedRange> find_managed(uint64_t address);

// Copies what the CPU wrote to the GPU and hands every chunk to the GPU (see above).
CUresult before_gpu_work();
// The same before work on wire stream `stream`, unless that stream is capturing: captured work
// runs at the graph's launch, which hands the memory over then.
CUresult before_gpu_work_on(uint64_t stream);
// Copies [ptr, ptr + size)'s chunks from the GPU now (cuMemPrefetchAsync to the CPU).
CUresult prefetch_to_host(uint64_t ptr, uint64_t size);

// The device's primary context was reset: its managed allocations are gone.
void forget_managed(uint32_t device);

// For managed_variables.cpp, which shares the fault handler and the one coherence lock: every
// change of coherence state, of allocations and of variables alike, is made holding it.
std::mutex& managed_coherence_lock();
void install_managed_fault_handler();

}  // namespace vgpu::cuda
