#include "guest/cudart/address_reservation.h"

#include <sys/mman.h>

#include <catch2/catch.hpp>
#include <vector>

using namespace vgpu::cudart;

namespace {
uint64_t address_of(const void* p) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }
}  // namespace

TEST_CASE("a device range over this process's memory is refused", "[cudart][address]") {
  std::vector<char> host(1 << 20);
  CHECK_FALSE(reserve_device_range(address_of(host.data()) + 100, 4096));
  CHECK_FALSE(reserve_device_range(address_of(&host), 8));
}

TEST_CASE("a free range is reserved until released", "[cudart][address]") {
  // Find a free range the way the kernel would hand one out, then give it back.
  void* probe = mmap(nullptr, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(probe != MAP_FAILED);
  munmap(probe, 1 << 20);
  const uint64_t start = address_of(probe) + 256;  // device pointers need not be page aligned
  REQUIRE(reserve_device_range(start, 300000));
  // Now taken: neither a second reservation nor a host mapping may land on it.
  CHECK_FALSE(reserve_device_range(start + 4096, 16));
  void* fixed = mmap(probe, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  CHECK(fixed == MAP_FAILED);
  release_device_range(start, 300000);
  REQUIRE(reserve_device_range(start, 300000));
  release_device_range(start, 300000);
}

TEST_CASE("ranges that wrap the address space are refused", "[cudart][address]") {
  CHECK_FALSE(reserve_device_range(UINT64_MAX - 10, 100));
  CHECK_FALSE(reserve_device_range(0x1000, 0));
}
