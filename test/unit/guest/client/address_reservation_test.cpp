#include "guest/client/address_reservation.h"

#include <sys/mman.h>

#include <catch2/catch.hpp>
#include <vector>

using namespace vgpu::guest;

namespace {
uint64_t address_of(const void* p) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }
}  // namespace

TEST_CASE("a device range over this process's memory is refused", "[client][address]") {
  std::vector<char> host(1 << 20);
  CHECK_FALSE(reserve_device_range(address_of(host.data()) + 100, 4096));
  CHECK_FALSE(reserve_device_range(address_of(&host), 8));
}

TEST_CASE("a free range is reserved, and stays reserved for the next device range", "[client][address]") {
  // Find a free range the way the kernel would hand one out, then give it back.
  void* probe = mmap(nullptr, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(probe != MAP_FAILED);
  munmap(probe, 1 << 20);
  const uint64_t start = address_of(probe) + 256;  // device pointers need not be page aligned
  REQUIRE(reserve_device_range(start, 300000));
  // Now taken: no host mapping may land on it.
  void* fixed = mmap(probe, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  CHECK(fixed == MAP_FAILED);
  // The driver hands freed addresses out again: a range inside, or reaching past, reserved pages
  // is reserved too, and the pages past the old end are taken now.
  CHECK(reserve_device_range(start + 4096, 16));
  CHECK(reserve_device_range(start + 200000, 400000));
  void* beyond = mmap(reinterpret_cast<void*>(start + 500000 - (start + 500000) % 4096), 4096, PROT_READ,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  CHECK(beyond == MAP_FAILED);
}

TEST_CASE("a range part reserved, part the process's own memory, is refused and takes nothing", "[client][address]") {
  void* probe = mmap(nullptr, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(probe != MAP_FAILED);
  munmap(probe, 1 << 20);
  const uint64_t base = address_of(probe);
  // The process's memory in the middle of the range.
  void* own = mmap(reinterpret_cast<void*>(base + 0x80000), 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  REQUIRE(own == reinterpret_cast<void*>(base + 0x80000));
  REQUIRE(reserve_device_range(base, 0x1000));
  CHECK_FALSE(reserve_device_range(base, 0x100000));
  // The pages after the process's memory were not kept: the host may still map them.
  void* after = mmap(reinterpret_cast<void*>(base + 0x90000), 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  CHECK(after == reinterpret_cast<void*>(base + 0x90000));
  munmap(after, 4096);
  munmap(own, 4096);
}

TEST_CASE("ranges that wrap the address space are refused", "[client][address]") {
  CHECK_FALSE(reserve_device_range(UINT64_MAX - 10, 100));
  CHECK_FALSE(reserve_device_range(0x1000, 0));
}

TEST_CASE("small ranges sharing a page reserve it once", "[client][address]") {
  void* probe = mmap(nullptr, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(probe != MAP_FAILED);
  munmap(probe, 1 << 20);
  const uint64_t page = address_of(probe);
  // Three allocations of the driver's small sizes, two on one page, one spanning into the next.
  REQUIRE(reserve_device_range(page + 0xa00, 4));
  REQUIRE(reserve_device_range(page + 0xc00, 4));
  REQUIRE(reserve_device_range(page + 0xe00, 0x400));
  auto host_can_map = [&](uint64_t at) {
    void* p = mmap(reinterpret_cast<void*>(at), 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) return false;
    munmap(p, 4096);
    return p == reinterpret_cast<void*>(at);
  };
  CHECK_FALSE(host_can_map(page));
  CHECK_FALSE(host_can_map(page + 4096));
  CHECK(host_can_map(page + 8192));
}
