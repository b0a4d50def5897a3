// Shared memory: created sealed at its size, mapped again elsewhere onto the same bytes, and
// never mapped past its end.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "vgpud/transport/shared_memory.h"

using vgpud::SharedMemory;
using vgpud::UniqueFd;

TEST_CASE("shared memory is sealed at its size and shared by every mapping", "[shared_memory]") {
  auto a = SharedMemory::create("vgpu-test", 2 * 4096);
  REQUIRE(a);
  CHECK(a->size() == 2 * 4096);
  CHECK(a->base()[4096] == 0);  // zeroed
  CHECK(ftruncate(a->fd(), 4096) != 0);
  CHECK(ftruncate(a->fd(), 4 * 4096) != 0);

  auto b = SharedMemory::map(UniqueFd(dup(a->fd())), 4096, 4096);  // the second page
  REQUIRE(b);
  b->base()[7] = 42;
  CHECK(a->base()[4096 + 7] == 42);
  CHECK(b->file_size() == 2 * 4096);

  // Moving hands the mapping over; the moved-from object unmaps nothing.
  SharedMemory moved = std::move(b).value();
  CHECK(moved.base()[7] == 42);
}

TEST_CASE("a mapping past the memfd's end, or unaligned, is refused", "[shared_memory]") {
  auto a = SharedMemory::create("vgpu-test", 4096);
  REQUIRE(a);
  CHECK_FALSE(SharedMemory::map(UniqueFd(dup(a->fd())), 2 * 4096));
  CHECK_FALSE(SharedMemory::map(UniqueFd(dup(a->fd())), 4096, 4096));
  CHECK_FALSE(SharedMemory::map(UniqueFd(dup(a->fd())), 16, 8));
  CHECK_FALSE(SharedMemory::map(UniqueFd(dup(a->fd())), 0));
}
