// cudaMallocHost memory. It is carved from the channel's shared heap, which vgpud registered
// with the GPU, so copies from and to it are DMA on the host with no staging. When the heap
// is exhausted, ordinary page-aligned memory is handed out instead: the program keeps
// working, and its copies take the pageable path.
#pragma once
#include <cstdint>
#include <mutex>
#include <unordered_set>

#include "guest/cudart/heap_allocator.h"
#include "guest/cudart/pointer_class.h"

namespace vgpu::cudart {

class HostHeap {
 public:
  HostHeap(uint8_t* base, uint64_t size);

  // nullptr only when the fallback allocation fails too. size 0 gives a valid unique block.
  void* allocate(uint64_t size);
  // False when p came from neither the heap nor the fallback.
  bool release(void* p);

  HeapRange range() const { return {base_, size_}; }

 private:
  uint8_t* const base_;
  const uint64_t size_;
  std::mutex mu_;
  HeapAllocator heap_;
  std::unordered_set<void*> fallback_;
  bool warned_ = false;
};

}  // namespace vgpu::cudart
