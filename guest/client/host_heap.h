// Page-locked host memory (cudaMallocHost, cuMemAllocHost): carved from the channel's shared
// heap, which vgpud registered with the GPU, so copies from and to it are DMA on the host with
// no staging. When the heap is exhausted, ordinary page-aligned memory is handed out instead:
// the program keeps working, and its copies take the pageable path.
//
// One per process (process_host_heap()), in the client library every shim shares: two
// allocators over one heap would hand out the same bytes twice.
#pragma once
#include <cstdint>
#include <mutex>
#include <unordered_set>

#include "guest/client/export.h"
#include "guest/client/heap_allocator.h"
#include "guest/transport/transport.h"

namespace vgpu::guest {

// Where the shared heap lies in this process.
struct HeapRange {
  const uint8_t* base = nullptr;
  uint64_t size = 0;
  // The offset of [p, p + count) in the heap when all of it lies inside; false otherwise.
  bool offset_of(const void* p, uint64_t count, uint64_t* offset) const {
    auto address = reinterpret_cast<uintptr_t>(p);
    auto start = reinterpret_cast<uintptr_t>(base);
    if (base == nullptr || address < start || address - start >= size || count > size - (address - start))
      return false;
    *offset = address - start;
    return true;
  }
};

class HostHeap {
 public:
  // `file` is what the heap is mapped from, when the transport has one.
  HostHeap(uint8_t* base, uint64_t size, BackingFile file = {});

  // nullptr only when the fallback allocation fails too. size 0 gives a valid unique block.
  VGPU_CLIENT_API void* allocate(uint64_t size);
  // A block of the heap itself starting on an `alignment` boundary (a power of two), or nullptr
  // when the heap has no room: never the pageable fallback. For callers that need heap memory
  // (registered host memory maps heap pages over its own, guest/cuda/host_register.h).
  VGPU_CLIENT_API void* allocate_in_heap(uint64_t size, uint64_t alignment);
  // The same for vgpu's own use (the host-function queue, staging blocks for pageable memory in
  // graphs): from the reserve, the last eighth of the heap that the program's page-locked
  // allocations do not take, else from the rest. A program that takes the whole heap with one
  // cudaMallocHost still leaves vgpu room to work.
  VGPU_CLIENT_API void* allocate_internal(uint64_t size, uint64_t alignment);
  uint64_t reserve_size() const { return reserve_size_; }
  // False when p came from neither the heap nor the fallback.
  VGPU_CLIENT_API bool release(void* p);
  HeapRange range() const { return {base_, size_}; }
  // The heap's file and the offset of base() in it (fd -1: the transport gives none).
  BackingFile file() const { return file_; }

 private:
  uint8_t* const base_;
  const uint64_t size_;
  const BackingFile file_;
  const uint64_t reserve_size_;
  std::mutex mu_;
  HeapAllocator heap_;     // the program's: all but the reserve
  HeapAllocator reserve_;  // vgpu's own first
  std::unordered_set<void*> fallback_;
  bool warned_ = false;
};

// The process's heap, over the process channel's; null when vgpud cannot be reached.
VGPU_CLIENT_API HostHeap* process_host_heap() noexcept;

}  // namespace vgpu::guest
