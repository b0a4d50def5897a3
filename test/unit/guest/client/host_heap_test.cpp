#include "guest/client/host_heap.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

using namespace vgpu::guest;

TEST_CASE("pinned memory comes from the shared heap while it lasts", "[client][heap]") {
  alignas(4096) static uint8_t region[64 * 1024];
  HostHeap heap(region, sizeof region);
  HeapRange range = heap.range();
  auto inside = [&](void* p) { return p >= range.base && static_cast<uint8_t*>(p) < range.base + range.size; };

  void* a = heap.allocate(40 * 1024);
  REQUIRE(a != nullptr);
  CHECK(inside(a));
  CHECK(reinterpret_cast<uintptr_t>(a) % HeapAllocator::kAlignment == 0);

  // The heap cannot fit another 40 KiB: page-aligned ordinary memory stands in.
  void* b = heap.allocate(40 * 1024);
  REQUIRE(b != nullptr);
  CHECK_FALSE(inside(b));
  CHECK(reinterpret_cast<uintptr_t>(b) % 4096 == 0);
  std::memset(b, 0xab, 40 * 1024);  // usable memory (ASan would catch a short block)

  int not_ours = 0;
  CHECK_FALSE(heap.release(&not_ours));
  CHECK(heap.release(b));
  CHECK_FALSE(heap.release(b));
  CHECK(heap.release(a));
  // All of it but the reserve (an eighth, vgpu's own) is free again.
  CHECK(heap.reserve_size() == 8 * 1024);
  void* c = heap.allocate(56 * 1024);
  CHECK(inside(c));
  CHECK(heap.release(c));
}

TEST_CASE("vgpu's own blocks come from the reserve first, then from the rest", "[client][heap]") {
  alignas(4096) static uint8_t region[64 * 1024];
  HostHeap heap(region, sizeof region);
  // The program takes all it can: the reserve is left.
  void* program = heap.allocate(56 * 1024);
  REQUIRE(program == region);
  CHECK(heap.allocate_in_heap(4096, 64) == nullptr);
  void* own = heap.allocate_internal(4096, 64);
  CHECK(own == region + 56 * 1024);
  void* more = heap.allocate_internal(8 * 1024, 64);  // the reserve has 4 KiB left, the rest none
  CHECK(more == nullptr);
  CHECK(heap.release(program));
  more = heap.allocate_internal(8 * 1024, 64);  // from the rest now
  CHECK(more == region);
  CHECK(heap.release(more));
  CHECK(heap.release(own));
  CHECK_FALSE(heap.release(own));
}

TEST_CASE("without a heap every allocation falls back", "[client][heap]") {
  HostHeap heap(nullptr, 0);
  void* p = heap.allocate(100);
  REQUIRE(p != nullptr);
  CHECK(heap.release(p));
  void* zero = heap.allocate(0);
  REQUIRE(zero != nullptr);
  CHECK(heap.release(zero));
}

TEST_CASE("allocate_in_heap gives heap blocks only, aligned as asked", "[client][heap]") {
  alignas(4096) static uint8_t region[64 * 1024];
  HostHeap heap(region, sizeof region, {7, 4096});
  CHECK(heap.file().fd == 7);
  CHECK(heap.file().offset == 4096);
  void* small = heap.allocate(100);
  REQUIRE(small == region);
  void* page = heap.allocate_in_heap(8192, 4096);
  REQUIRE(page != nullptr);
  CHECK(reinterpret_cast<uintptr_t>(page) % 4096 == 0);
  CHECK(page == region + 4096);
  // No room: nullptr, where allocate would fall back to pageable memory.
  CHECK(heap.allocate_in_heap(64 * 1024, 4096) == nullptr);
  CHECK(heap.release(page));
  CHECK(heap.release(small));
  CHECK(heap.allocate_in_heap(56 * 1024, 4096) == region);  // all but the reserve
  CHECK(HostHeap(nullptr, 0).allocate_in_heap(1, 4096) == nullptr);
  CHECK(HostHeap(nullptr, 0, {7, 0}).file().fd == -1);  // no heap, no file
}
