// The tenant's module image cache (module_cache.h): found by digest and size, least recently
// used images evicted to make room under the budget, images larger than the budget not kept,
// the count of images bounded, and consistent under several threads at once.
#include "vgpud/executor/module_cache.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <optional>
#include <thread>
#include <vector>

using vgpud::ModuleCache;
using vgpud::ModuleCacheCounters;
using Found = ModuleCache::Found;

namespace {

constexpr uint64_t kChunk = ModuleCache::kChunkBytes;

// Zeroed memory backed only where touched, as the tenant's memfd is.
class Region {
 public:
  explicit Region(uint64_t budget) : size_(ModuleCache::region_bytes(budget)) {
    base_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    REQUIRE(base_ != MAP_FAILED);
    ModuleCache::format(static_cast<uint8_t*>(base_), budget);
  }
  ~Region() { munmap(base_, size_); }
  uint8_t* base() const { return static_cast<uint8_t*>(base_); }

 private:
  uint64_t size_;
  void* base_;
};

struct Cache {
  explicit Cache(uint64_t budget) : region(budget) {
    auto attached = ModuleCache::attach(region.base(), budget, &counters);
    REQUIRE(attached);
    cache.emplace(std::move(attached).value());
  }
  Region region;
  ModuleCacheCounters counters;
  std::optional<ModuleCache> cache;
  ModuleCache* operator->() { return &*cache; }
};

std::vector<uint8_t> image(uint64_t size, uint8_t seed) {
  std::vector<uint8_t> bytes(size);
  for (uint64_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(seed + i * 31 + (i >> 16));
  return bytes;
}

vgpu::Sha256Digest digest_of(const std::vector<uint8_t>& bytes) { return vgpu::Sha256::of(bytes); }

// Inserts the image as vgpud does: under the digest of its own bytes.
void put(Cache& c, const std::vector<uint8_t>& bytes) { c->insert(digest_of(bytes), bytes); }

bool holds(Cache& c, const std::vector<uint8_t>& bytes) {
  std::vector<uint8_t> out;
  const Found found = c->copy_out(digest_of(bytes), bytes.size(), out);
  return found == Found::Yes && out == bytes;
}

}  // namespace

TEST_CASE("an image is found by its digest once inserted, and only then",
          "[executor][module_cache]") {
  Cache c(1 << 20);
  const auto a = image(3 * kChunk + 17, 1);  // a partial last chunk
  std::vector<uint8_t> out;
  CHECK(c->copy_out(digest_of(a), a.size(), out) == Found::No);
  CHECK(c.counters.misses == 1);
  put(c, a);
  CHECK(c.counters.insertions == 1);
  REQUIRE(c->copy_out(digest_of(a), a.size(), out) == Found::Yes);
  CHECK(out == a);
  CHECK(c.counters.hits == 1);
  CHECK(c->usage().images == 1);
  CHECK(c->usage().chunks_used == 4);

  // Appended after what the caller's buffer already held.
  std::vector<uint8_t> prefixed = {9, 9};
  REQUIRE(c->copy_out(digest_of(a), a.size(), prefixed) == Found::Yes);
  CHECK(prefixed.size() == a.size() + 2);
  CHECK(std::equal(a.begin(), a.end(), prefixed.begin() + 2));
}

TEST_CASE("a known digest with another size is not a hit", "[executor][module_cache]") {
  Cache c(1 << 20);
  const auto a = image(1000, 2);
  put(c, a);
  std::vector<uint8_t> out;
  CHECK(c->copy_out(digest_of(a), a.size() + 1, out) == Found::OtherSize);
  CHECK(c->copy_out(digest_of(a), a.size() - 1, out) == Found::OtherSize);
  CHECK(out.empty());
  CHECK(c.counters.hits == 0);
}

TEST_CASE("the same image inserted twice is kept once", "[executor][module_cache]") {
  Cache c(1 << 20);
  const auto a = image(2 * kChunk, 3);
  put(c, a);
  put(c, a);
  CHECK(c.counters.insertions == 1);
  CHECK(c->usage().images == 1);
  CHECK(c->usage().chunks_used == 2);
}

TEST_CASE("the least recently used images make room under the budget", "[executor][module_cache]") {
  Cache c(4 * kChunk);
  const auto a = image(kChunk, 1), b = image(kChunk, 2), big = image(2 * kChunk, 3);
  put(c, a);
  put(c, b);
  put(c, big);  // the cache is full
  CHECK(c->usage().chunks_used == 4);
  REQUIRE(holds(c, a));  // a is now more recent than b and big

  const auto d = image(kChunk / 2, 4);
  put(c, d);  // one chunk: b, the least recently used, goes
  CHECK(c.counters.evictions == 1);
  CHECK(holds(c, a));
  CHECK_FALSE(holds(c, b));
  CHECK(holds(c, big));
  CHECK(holds(c, d));

  // Use order now: a, big, d. Three chunks need big (2) and a (1) out, oldest first.
  const auto e = image(3 * kChunk, 5);
  put(c, e);
  CHECK(c.counters.evictions == 3);
  CHECK(holds(c, d));
  CHECK(holds(c, e));
  CHECK_FALSE(holds(c, a));
  CHECK_FALSE(holds(c, big));
  CHECK(c->usage().chunks_used == 4);
}

TEST_CASE("an image larger than the budget is not kept, and evicts nothing",
          "[executor][module_cache]") {
  Cache c(4 * kChunk);
  const auto a = image(kChunk, 1);
  put(c, a);
  const auto huge = image(4 * kChunk + 1, 2);
  CHECK_FALSE(c->could_hold(huge.size()));
  put(c, huge);
  CHECK_FALSE(holds(c, huge));
  CHECK(holds(c, a));
  CHECK(c.counters.insertions == 1);
  CHECK(c.counters.evictions == 0);
  // Exactly the budget fits (and pushes the rest out).
  const auto whole = image(4 * kChunk, 3);
  CHECK(c->could_hold(whole.size()));
  put(c, whole);
  CHECK(holds(c, whole));
}

TEST_CASE("a budget of 0, or below one chunk, is no cache", "[executor][module_cache]") {
  CHECK(ModuleCache::region_bytes(0) == 0);
  CHECK(ModuleCache::region_bytes(kChunk - 1) == 0);
  CHECK(ModuleCache::region_bytes(kChunk) > kChunk);
  uint8_t nothing[64] = {};
  ModuleCacheCounters counters;
  CHECK_FALSE(ModuleCache::attach(nothing, 0, &counters));
}

TEST_CASE("a region laid out for another budget is refused", "[executor][module_cache]") {
  Region region(8 * kChunk);
  ModuleCacheCounters counters;
  CHECK(ModuleCache::attach(region.base(), 8 * kChunk, &counters));
  CHECK_FALSE(ModuleCache::attach(region.base(), 16 * kChunk, &counters));
}

TEST_CASE("at most kMaxImages images are held", "[executor][module_cache]") {
  Cache c((ModuleCache::kMaxImages + 1) * kChunk);
  for (uint32_t i = 0; i <= ModuleCache::kMaxImages; ++i) {
    const std::vector<uint8_t> tiny = {static_cast<uint8_t>(i), static_cast<uint8_t>(i >> 8), 7};
    put(c, tiny);
  }
  CHECK(c->usage().images == ModuleCache::kMaxImages);
  CHECK(c.counters.evictions == 1);
  CHECK_FALSE(holds(c, {0, 0, 7}));  // the first one went
  CHECK(holds(c, {1, 0, 7}));
}

TEST_CASE("threads inserting and reading at once see whole images", "[executor][module_cache]") {
  Cache c(16 * kChunk);  // room for about half of what the threads insert: evictions race reads
  std::vector<std::vector<uint8_t>> images;
  for (uint8_t i = 0; i < 12; ++i) images.push_back(image(kChunk + i * 4099, i));
  std::atomic<int> torn{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        const auto& mine = images[(t * 5 + round) % images.size()];
        c->insert(digest_of(mine), mine);
        std::vector<uint8_t> out;
        out.reserve(mine.size());
        if (c->copy_out(digest_of(mine), mine.size(), out) == Found::Yes && out != mine) ++torn;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(torn == 0);
  CHECK(c->usage().chunks_used <= 16);
}
