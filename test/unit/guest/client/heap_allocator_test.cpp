#include "guest/client/heap_allocator.h"

#include <catch2/catch.hpp>

#include <set>
#include <vector>

using vgpu::guest::HeapAllocator;

namespace {

constexpr uint64_t kA = HeapAllocator::kAlignment;
constexpr uint64_t kBase = 0x10000;  // addresses only: the allocator never touches the memory

}  // namespace

TEST_CASE("heap allocator hands out aligned, disjoint blocks", "[client][heap]") {
  HeapAllocator heap(kBase, 64 * kA);
  std::vector<std::pair<uint64_t, uint64_t>> blocks;
  for (uint64_t size : {1ull, 255ull, 256ull, 257ull, 1000ull, 3ull}) {
    auto p = heap.allocate(size);
    REQUIRE(p);
    CHECK(*p % kA == 0);
    CHECK(*p >= kBase);
    CHECK(*p + size <= kBase + 64 * kA);
    blocks.emplace_back(*p, size);
  }
  for (size_t i = 0; i < blocks.size(); ++i) {
    for (size_t j = i + 1; j < blocks.size(); ++j) {
      bool disjoint = blocks[i].first + blocks[i].second <= blocks[j].first ||
                      blocks[j].first + blocks[j].second <= blocks[i].first;
      CHECK(disjoint);
    }
  }
  // 1, 255, 256 take one unit each, 257 and 1000 take 2 and 4, 3 takes 1: 10 units.
  CHECK(heap.bytes_free() == 54 * kA);
  CHECK(heap.live_block_count() == 6);
}

TEST_CASE("heap allocator aligns an unaligned base and drops the partial tail", "[client][heap]") {
  HeapAllocator heap(kBase + 10, 4 * kA);  // first boundary at kBase + kA; 3 whole units fit
  CHECK(heap.capacity() == 3 * kA);
  auto p = heap.allocate(1);
  REQUIRE(p);
  CHECK(*p == kBase + kA);
  CHECK(heap.allocate(2 * kA));
  CHECK_FALSE(heap.allocate(1));
}

TEST_CASE("heap allocator too small for one block hands out nothing", "[client][heap]") {
  HeapAllocator heap(kBase + 1, kA);
  CHECK(heap.capacity() == 0);
  CHECK_FALSE(heap.allocate(1));
  HeapAllocator empty;
  CHECK_FALSE(empty.allocate(1));
}

TEST_CASE("heap allocator exhaustion and reuse", "[client][heap]") {
  HeapAllocator heap(kBase, 8 * kA);
  auto a = heap.allocate(4 * kA);
  auto b = heap.allocate(4 * kA);
  REQUIRE(a);
  REQUIRE(b);
  CHECK_FALSE(heap.allocate(1));
  CHECK(heap.bytes_free() == 0);
  REQUIRE(heap.free(*a));
  CHECK_FALSE(heap.allocate(4 * kA + 1));  // does not fit the freed 4 units
  auto c = heap.allocate(4 * kA);
  REQUIRE(c);
  CHECK(*c == *a);
}

TEST_CASE("heap allocator is first-fit", "[client][heap]") {
  HeapAllocator heap(kBase, 16 * kA);
  auto a = heap.allocate(kA);
  auto b = heap.allocate(kA);
  auto c = heap.allocate(4 * kA);
  auto d = heap.allocate(kA);
  REQUIRE((a && b && c && d));
  REQUIRE(heap.free(*a));  // hole of 1 unit at the start
  REQUIRE(heap.free(*c));  // hole of 4 units in the middle
  auto e = heap.allocate(2 * kA);
  REQUIRE(e);
  CHECK(*e == *c);  // the first hole that fits, not the lowest address
  auto f = heap.allocate(kA);
  REQUIRE(f);
  CHECK(*f == *a);  // lowest hole that fits
}

TEST_CASE("heap allocator coalesces freed neighbours", "[client][heap]") {
  HeapAllocator heap(kBase, 12 * kA);
  auto a = heap.allocate(4 * kA);
  auto b = heap.allocate(4 * kA);
  auto c = heap.allocate(4 * kA);
  REQUIRE((a && b && c));

  SECTION("left then right merge into the middle") {
    REQUIRE(heap.free(*a));
    REQUIRE(heap.free(*c));
    CHECK(heap.free_block_count() == 2);
    CHECK(heap.largest_free_block() == 4 * kA);
    CHECK_FALSE(heap.allocate(8 * kA));  // fragmented: 8 units free, but not together
    REQUIRE(heap.free(*b));
    CHECK(heap.free_block_count() == 1);
    CHECK(heap.largest_free_block() == 12 * kA);
  }
  SECTION("freeing in order merges forward") {
    REQUIRE(heap.free(*b));
    REQUIRE(heap.free(*a));
    CHECK(heap.free_block_count() == 1);
    CHECK(heap.largest_free_block() == 8 * kA);
    auto big = heap.allocate(8 * kA);
    REQUIRE(big);
    CHECK(*big == *a);
  }
  SECTION("freeing in reverse merges backward") {
    REQUIRE(heap.free(*c));
    REQUIRE(heap.free(*b));
    CHECK(heap.free_block_count() == 1);
    CHECK(heap.largest_free_block() == 8 * kA);
  }
}

TEST_CASE("heap allocator rejects bad frees", "[client][heap]") {
  HeapAllocator heap(kBase, 8 * kA);
  auto a = heap.allocate(2 * kA);
  REQUIRE(a);
  CHECK_FALSE(heap.free(*a + kA));  // inside a block, not its start
  CHECK_FALSE(heap.free(kBase + 6 * kA));  // free space
  CHECK_FALSE(heap.free(0));
  CHECK(heap.free(*a));
  CHECK_FALSE(heap.free(*a));  // double free
  CHECK(heap.bytes_free() == 8 * kA);
}

TEST_CASE("heap allocator survives churn without losing space", "[client][heap]") {
  HeapAllocator heap(kBase, 256 * kA);
  std::set<uint64_t> live;
  uint64_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return seed >> 33;
  };
  for (int round = 0; round < 2000; ++round) {
    if (!live.empty() && next() % 3 == 0) {
      auto it = live.begin();
      std::advance(it, static_cast<long>(next() % live.size()));
      REQUIRE(heap.free(*it));
      live.erase(it);
    } else if (auto p = heap.allocate(next() % (8 * kA) + 1)) {
      CHECK(*p % kA == 0);
      CHECK(live.insert(*p).second);
    }
  }
  for (uint64_t p : live) REQUIRE(heap.free(p));
  CHECK(heap.free_block_count() == 1);
  CHECK(heap.bytes_free() == 256 * kA);
  CHECK(heap.largest_free_block() == 256 * kA);
}

TEST_CASE("heap allocator refuses sizes that would overflow", "[client][heap]") {
  HeapAllocator heap(kBase, 8 * kA);
  CHECK_FALSE(heap.allocate(UINT64_MAX));
  CHECK_FALSE(heap.allocate(UINT64_MAX - 10));
  CHECK(heap.bytes_free() == 8 * kA);
}

TEST_CASE("heap allocator aligns a block further when asked, keeping the skipped part free", "[client][heap]") {
  const uint64_t page = 16 * kA;
  HeapAllocator heap(kBase + kA, 64 * kA);  // starts one unit past a page boundary
  auto small = heap.allocate(1);
  REQUIRE(small);
  CHECK(*small == kBase + kA);
  auto aligned = heap.allocate(3 * kA, page);
  REQUIRE(aligned);
  CHECK(*aligned % page == 0);
  CHECK(*aligned == kBase + page);
  // The units between the two blocks are free and usable.
  CHECK(heap.bytes_free() == 64 * kA - 4 * kA);
  auto between = heap.allocate(14 * kA);
  REQUIRE(between);
  CHECK(*between == kBase + 2 * kA);
  CHECK_FALSE(heap.allocate(kA, 3 * kA));  // not a power of two
  CHECK_FALSE(heap.allocate(64 * kA, page));  // no aligned run that long
  CHECK(heap.free(*aligned));
  CHECK(heap.free(*small));
  CHECK(heap.free(*between));
  CHECK(heap.free_block_count() == 1);
  CHECK(heap.bytes_free() == 64 * kA);
}
