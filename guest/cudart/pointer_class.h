// Where a pointer handed to a copy lives, and which way a copy goes. A guest has no unified
// address space with the GPU, so the runtime decides from what it knows: ranges it got from
// cudaMalloc or resolved for __device__ variables are device memory, the channel's shared heap
// (cudaMallocHost) is host memory the GPU can DMA, and anything else is pageable host memory.
#pragma once
#include <driver_types.h>

#include <cstdint>
#include <optional>

#include "guest/client/host_heap.h"
#include "guest/cudart/address_map.h"

namespace vgpu::cudart {

enum class PtrKind {
  Device,    // GPU memory: travels as an address on the wire
  Heap,      // inside the shared heap: travels as heap_offset, copied by DMA on the host
  Pageable,  // ordinary host memory: its bytes travel inline or through the staging rings
};

struct PtrClass {
  PtrKind kind = PtrKind::Pageable;
  uint64_t heap_offset = 0;  // for Heap
};

using guest::HeapRange;

// Classifies [p, p + count). The heap wins over the maps: a heap pointer is certainly the
// guest's own memory, while device addresses are numbers from another address space that may
// happen to coincide. Only a range wholly inside the heap counts as heap memory.
PtrClass classify_pointer(const void* p, uint64_t count, HeapRange heap, const AddressMap& allocations,
                          const AddressMap& symbols);

enum class Direction { HostToHost, HostToDevice, DeviceToHost, DeviceToDevice };

// The direction of a copy. cudaMemcpyDefault infers it from the two pointers' kinds; an
// explicit kind is trusted, as CUDA trusts it. nullopt for a kind outside cudaMemcpyKind.
std::optional<Direction> copy_direction(cudaMemcpyKind kind, PtrKind dst, PtrKind src);

}  // namespace vgpu::cudart
