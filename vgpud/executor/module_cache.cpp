#include "vgpud/executor/module_cache.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <type_traits>

#include "vgpud/executor/robust_mutex.h"

namespace vgpud {

namespace {

constexpr uint64_t kMagic = 0x45484341434d4756;  // "VGMCACHE"
constexpr uint32_t kNoChunk = UINT32_MAX;
constexpr uint64_t kPage = 4096;
// Chunk numbers are 32-bit: 2^32 - 1 chunks is far beyond any budget the configuration takes.
constexpr uint64_t kMaxChunks = kNoChunk - 1;

uint64_t round_up_to_page(uint64_t n) { return (n + kPage - 1) / kPage * kPage; }

}  // namespace

struct ModuleCache::Entry {
  vgpu::Sha256Digest digest;
  uint64_t size;       // 0: the entry is free
  uint64_t last_used;  // the header's clock at the image's last insertion or hit
  uint32_t first_chunk;
  uint32_t reserved;
};

struct ModuleCache::Header {
  uint64_t magic;
  uint64_t chunk_count;
  RobustMutex mutex;
  // Guarded by mutex.
  uint64_t clock;
  uint32_t free_head;  // the free chunks, linked through next_
  uint32_t free_chunks;
  uint32_t images;
  Entry entries[kMaxImages];
};

namespace {

struct Layout {
  uint64_t chunk_count = 0;
  uint64_t next_offset = 0;    // uint32_t per chunk
  uint64_t chunks_offset = 0;  // page aligned
  uint64_t total = 0;
};

Layout layout_for(uint64_t budget, uint64_t header_bytes) {
  Layout l;
  l.chunk_count = std::min(budget / ModuleCache::kChunkBytes, kMaxChunks);
  if (l.chunk_count == 0) return l;
  l.next_offset = header_bytes;
  l.chunks_offset = round_up_to_page(l.next_offset + l.chunk_count * sizeof(uint32_t));
  l.total = l.chunks_offset + l.chunk_count * ModuleCache::kChunkBytes;
  return l;
}

}  // namespace

// Holds the mutex for a scope; after a worker died holding it, empties the cache first.
class ModuleCache::Guard {
 public:
  explicit Guard(ModuleCache& cache) : cache_(cache) {
    switch (cache.header_->mutex.lock()) {
      case RobustMutex::Locked::Yes:
        held_ = true;
        break;
      case RobustMutex::Locked::AfterOwnerDied:
        cache.clear_locked();
        cache.header_->mutex.recovered();
        held_ = true;
        break;
      case RobustMutex::Locked::No:
        break;
    }
  }
  ~Guard() {
    if (held_) cache_.header_->mutex.unlock();
  }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
  bool held() const { return held_; }

 private:
  ModuleCache& cache_;
  bool held_ = false;
};

uint64_t ModuleCache::region_bytes(uint64_t budget) {
  return layout_for(budget, sizeof(Header)).total;
}

void ModuleCache::format(uint8_t* region, uint64_t budget) {
  // Shared between processes as raw memory.
  static_assert(std::is_trivially_copyable_v<Entry>);
  const Layout l = layout_for(budget, sizeof(Header));
  if (l.chunk_count == 0) return;
  auto* header = new (region) Header{};
  header->magic = kMagic;
  header->chunk_count = l.chunk_count;
  header->mutex.init();
  ModuleCache cache(header, reinterpret_cast<uint32_t*>(region + l.next_offset),
                    region + l.chunks_offset, l.chunk_count, nullptr);
  cache.clear_locked();  // nobody else maps it yet
}

vgpu::Result<ModuleCache, std::string> ModuleCache::attach(uint8_t* region, uint64_t budget,
                                                           ModuleCacheCounters* counters) {
  const Layout l = layout_for(budget, sizeof(Header));
  if (l.chunk_count == 0)
    return vgpu::Err{std::string("the module cache has no room (budget below one chunk)")};
  auto* header = std::launder(reinterpret_cast<Header*>(region));
  if (header->magic != kMagic || header->chunk_count != l.chunk_count)
    return vgpu::Err{std::string("the module cache is not laid out for a budget of ") +
                     std::to_string(budget) + " bytes"};
  return ModuleCache(header, reinterpret_cast<uint32_t*>(region + l.next_offset),
                     region + l.chunks_offset, l.chunk_count, counters);
}

void ModuleCache::clear_locked() {
  for (Entry& e : header_->entries) e = Entry{};
  for (uint64_t i = 0; i < chunk_count_; ++i)
    next_[i] = i + 1 < chunk_count_ ? static_cast<uint32_t>(i + 1) : kNoChunk;
  header_->free_head = 0;
  header_->free_chunks = static_cast<uint32_t>(chunk_count_);
  header_->images = 0;
}

ModuleCache::Entry* ModuleCache::find_locked(const vgpu::Sha256Digest& digest) {
  for (Entry& e : header_->entries)
    if (e.size != 0 && e.digest == digest) return &e;
  return nullptr;
}

bool ModuleCache::evict_least_recent_locked() {
  Entry* oldest = nullptr;
  for (Entry& e : header_->entries)
    if (e.size != 0 && (oldest == nullptr || e.last_used < oldest->last_used)) oldest = &e;
  if (oldest == nullptr) return false;
  // Its chain goes back to the front of the free list whole.
  uint32_t last = oldest->first_chunk;
  const uint64_t count = chunks_for(oldest->size);
  for (uint64_t i = 1; i < count; ++i) last = next_[last];
  next_[last] = header_->free_head;
  header_->free_head = oldest->first_chunk;
  header_->free_chunks += static_cast<uint32_t>(count);
  --header_->images;
  *oldest = Entry{};
  bump(&ModuleCacheCounters::evictions);
  return true;
}

ModuleCache::Found ModuleCache::copy_out(const vgpu::Sha256Digest& digest, uint64_t size,
                                         std::vector<uint8_t>& out) {
  Guard guard(*this);
  Entry* e = guard.held() ? find_locked(digest) : nullptr;
  if (e == nullptr) {
    bump(&ModuleCacheCounters::misses);
    return Found::No;
  }
  if (e->size != size) return Found::OtherSize;
  e->last_used = ++header_->clock;
  uint32_t c = e->first_chunk;
  for (uint64_t left = size; left > 0; c = next_[c]) {
    const uint64_t n = std::min(left, kChunkBytes);
    out.insert(out.end(), chunk(c), chunk(c) + n);
    left -= n;
  }
  bump(&ModuleCacheCounters::hits);
  return Found::Yes;
}

void ModuleCache::insert(const vgpu::Sha256Digest& digest, std::span<const uint8_t> image) {
  if (!could_hold(image.size())) return;
  const uint64_t needed = chunks_for(image.size());
  Guard guard(*this);
  if (!guard.held()) return;
  // Another process of the tenant may have filed the same image meanwhile.
  if (Entry* e = find_locked(digest)) {
    e->last_used = ++header_->clock;
    return;
  }
  while (header_->free_chunks < needed || header_->images == kMaxImages)
    if (!evict_least_recent_locked()) return;
  Entry* entry = std::find_if(std::begin(header_->entries), std::end(header_->entries),
                              [](const Entry& e) { return e.size == 0; });
  // The first `needed` chunks of the free list, already linked, become the image's chain.
  const uint32_t first = header_->free_head;
  uint32_t c = first;
  for (uint64_t at = 0; at < image.size(); at += kChunkBytes) {
    std::memcpy(chunk(c), image.data() + at, std::min(image.size() - at, kChunkBytes));
    if (at + kChunkBytes >= image.size()) {
      header_->free_head = next_[c];
      next_[c] = kNoChunk;
    } else {
      c = next_[c];
    }
  }
  header_->free_chunks -= static_cast<uint32_t>(needed);
  ++header_->images;
  entry->digest = digest;
  entry->first_chunk = first;
  entry->last_used = ++header_->clock;
  entry->size = image.size();  // last: the entry is live from here
  bump(&ModuleCacheCounters::insertions);
}

ModuleCache::Usage ModuleCache::usage() {
  Guard guard(*this);
  if (!guard.held()) return {};
  return {header_->images, chunk_count_ - header_->free_chunks};
}

}  // namespace vgpud
