// First-fit allocator for the channel's shared heap (cudaMallocHost memory). It hands out
// addresses inside [base, base + size) and keeps its bookkeeping outside the heap, because the
// heap is shared with vgpud and must hold nothing but the application's data.
//
// Every block starts on a kAlignment boundary and spans a multiple of kAlignment bytes;
// freeing merges a block with free neighbours so the heap does not fragment into pieces too
// small for the next allocation. Not thread-safe: HostHeap serializes it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>

namespace vgpu::guest {

class HeapAllocator {
 public:
  // 256 bytes, as cudaMallocHost guarantees: enough for any vector type and for DMA.
  static constexpr uint64_t kAlignment = 256;

  HeapAllocator() = default;
  // Manages [base, base + size); the first kAlignment boundary at or above base starts it.
  HeapAllocator(uint64_t base, uint64_t size);

  // The address of a block of at least `size` bytes, or nullopt when no free block is large
  // enough. A size of 0 is treated as 1, so every live block has a distinct address.
  std::optional<uint64_t> allocate(uint64_t size) { return allocate(size, kAlignment); }
  // The same, starting on an `alignment` boundary (a power of two; below kAlignment counts as
  // kAlignment): page-aligned blocks can be mapped at other addresses too. nullopt also for an
  // alignment that is not a power of two.
  std::optional<uint64_t> allocate(uint64_t size, uint64_t alignment);
  // Frees the block starting at `address`; false when no live block starts there.
  bool free(uint64_t address);

  bool contains(uint64_t address) const { return address >= begin_ && address < end_; }
  uint64_t capacity() const { return end_ - begin_; }
  uint64_t bytes_free() const;
  uint64_t largest_free_block() const;
  std::size_t free_block_count() const { return free_.size(); }
  std::size_t live_block_count() const { return live_.size(); }

 private:
  uint64_t begin_ = 0;
  uint64_t end_ = 0;
  std::map<uint64_t, uint64_t> free_;            // start -> size, never two adjacent
  std::unordered_map<uint64_t, uint64_t> live_;  // start -> size
};

}  // namespace vgpu::guest
