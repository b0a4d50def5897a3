#include "guest/client/heap_allocator.h"

#include <algorithm>
#include <iterator>

namespace vgpu::guest {

HeapAllocator::HeapAllocator(uint64_t base, uint64_t size) {
  if (base > UINT64_MAX - size) size = UINT64_MAX - base;  // clamp a range that would wrap
  uint64_t end = base + size;
  uint64_t begin = base % kAlignment == 0 ? base : base + (kAlignment - base % kAlignment);
  if (begin < base || begin >= end) return;  // too small to hold one aligned block
  // Only whole blocks are handed out: drop the unaligned tail.
  uint64_t usable = (end - begin) / kAlignment * kAlignment;
  if (usable == 0) return;
  begin_ = begin;
  end_ = begin + usable;
  free_.emplace(begin_, usable);
}

std::optional<uint64_t> HeapAllocator::allocate(uint64_t size, uint64_t alignment) {
  alignment = std::max(alignment, kAlignment);
  if ((alignment & (alignment - 1)) != 0) return std::nullopt;
  if (size == 0) size = 1;
  if (size > UINT64_MAX - (kAlignment - 1)) return std::nullopt;
  uint64_t rounded = (size + kAlignment - 1) / kAlignment * kAlignment;
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    // Free blocks start on kAlignment boundaries, so the skip is whole kAlignment units: the
    // part before the aligned start stays a free block of its own.
    const uint64_t start = it->first;
    const uint64_t skip = (alignment - start % alignment) % alignment;
    if (skip > it->second || it->second - skip < rounded) continue;
    const uint64_t at = start + skip;
    const uint64_t rest = it->second - skip - rounded;
    if (skip > 0)
      it->second = skip;
    else
      free_.erase(it);
    if (rest > 0) free_.emplace(at + rounded, rest);
    live_.emplace(at, rounded);
    return at;
  }
  return std::nullopt;
}

bool HeapAllocator::free(uint64_t address) {
  auto live = live_.find(address);
  if (live == live_.end()) return false;
  uint64_t start = live->first;
  uint64_t size = live->second;
  live_.erase(live);

  // Merge with the free block that starts where this one ends, then with the one that ends
  // where this one starts.
  auto next = free_.lower_bound(start);
  if (next != free_.end() && next->first == start + size) {
    size += next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == start) {
      prev->second += size;
      return true;
    }
  }
  free_.emplace_hint(next, start, size);
  return true;
}

uint64_t HeapAllocator::bytes_free() const {
  uint64_t total = 0;
  for (const auto& [start, size] : free_) total += size;
  return total;
}

uint64_t HeapAllocator::largest_free_block() const {
  uint64_t largest = 0;
  for (const auto& [start, size] : free_) largest = std::max(largest, size);
  return largest;
}

}  // namespace vgpu::guest
