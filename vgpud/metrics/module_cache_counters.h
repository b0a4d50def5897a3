// Per-tenant counters of the module image cache (vgpud/executor/module_cache.h), shown by
// `vgpud counters`: how often a guest's offered digest was found, how often it was not (the
// image was then uploaded), how many uploaded images were kept, and how many were pushed out
// to make room.
#pragma once
#include <atomic>
#include <cstdint>

namespace vgpud {

struct ModuleCacheCounters {
  alignas(64) std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> misses{0};
  std::atomic<uint64_t> insertions{0};
  std::atomic<uint64_t> evictions{0};

  static void bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }
};

}  // namespace vgpud
