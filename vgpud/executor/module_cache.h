// A tenant's module image cache: the images its processes uploaded, filed under the SHA-256
// that vgpud computed from the bytes it received (never a digest a guest claims, so no process
// can make another load code it did not send). A later load of the same image, from any process
// of the tenant, sends only the digest (MODULE_LOAD_CACHED, docs/protocol.md §5).
//
// It lives in the tenant's shared memory (worker/tenant_state.h), which the daemon lays out and
// each of the tenant's channel workers maps, so it outlives processes and channels; and it is
// never another tenant's: each tenant has its own memfd, handed only to its own workers.
//
// Bounded by limits.module_cache_memory: images are stored in chunks of kChunkBytes taken from
// an area of that size, so the area never fragments; an insertion that finds too few free
// chunks evicts the least recently used images until it fits. An image larger than the whole
// area is not kept. At most kMaxImages images are held.
//
// One process-shared robust mutex guards everything, including the copies in and out (memory
// speed: tens of ms for the largest image); hashing and driver calls happen outside it. A
// worker that dies holding it may leave the cache torn, so the next locker empties it.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vgpu/common/result.h"
#include "vgpu/common/sha256.h"
#include "vgpud/metrics/module_cache_counters.h"

namespace vgpud {

class ModuleCache {
 public:
  static constexpr uint64_t kChunkBytes = 64 << 10;
  static constexpr uint32_t kMaxImages = 4096;

  // Bytes of shared memory a cache of `budget` bytes takes: its index and its chunks. 0 for 0.
  static uint64_t region_bytes(uint64_t budget);
  // The daemon: lays out an empty cache in `region` (region_bytes(budget) bytes, zeroed),
  // before any worker maps it.
  static void format(uint8_t* region, uint64_t budget);
  // A worker: the cache the daemon laid out in `region` for the same budget.
  static vgpu::Result<ModuleCache, std::string> attach(uint8_t* region, uint64_t budget,
                                                       ModuleCacheCounters* counters);

  enum class Found { Yes, No, OtherSize };
  // Appends the image filed under `digest` to `out` if it is `size` bytes long (Yes); `out` is
  // left alone otherwise. The caller reserved out's capacity (and charged it to the tenant).
  [[nodiscard]] Found copy_out(const vgpu::Sha256Digest& digest, uint64_t size,
                               std::vector<uint8_t>& out);
  // Whether an image of `size` bytes fits in the cache at all: there is no use hashing one that
  // does not.
  bool could_hold(uint64_t size) const { return size != 0 && chunks_for(size) <= chunk_count_; }
  // Files `image` under `digest`, which the caller computed from these very bytes, evicting the
  // least recently used images as needed. An image already filed only counts as used.
  void insert(const vgpu::Sha256Digest& digest, std::span<const uint8_t> image);

  struct Usage {
    uint32_t images = 0;
    uint64_t chunks_used = 0;
  };
  Usage usage();
  uint64_t chunk_count() const { return chunk_count_; }

 private:
  struct Header;
  struct Entry;
  class Guard;

  ModuleCache(Header* header, uint32_t* next, uint8_t* chunks, uint64_t chunk_count,
              ModuleCacheCounters* counters)
      : header_(header),
        next_(next),
        chunks_(chunks),
        chunk_count_(chunk_count),
        counters_(counters) {}

  static uint64_t chunks_for(uint64_t size) { return (size + kChunkBytes - 1) / kChunkBytes; }
  uint8_t* chunk(uint32_t index) const { return chunks_ + index * kChunkBytes; }

  // All below run with the mutex held.
  void clear_locked();
  Entry* find_locked(const vgpu::Sha256Digest& digest);
  // False when nothing is left to evict.
  bool evict_least_recent_locked();
  void bump(std::atomic<uint64_t> ModuleCacheCounters::*counter) {
    if (counters_ != nullptr) ModuleCacheCounters::bump(counters_->*counter);
  }

  Header* header_;
  uint32_t* next_;   // per chunk: the next chunk of its image or of the free list
  uint8_t* chunks_;  // chunk_count_ chunks of kChunkBytes
  uint64_t chunk_count_;
  ModuleCacheCounters* counters_;  // may be null (tests)
};

}  // namespace vgpud
