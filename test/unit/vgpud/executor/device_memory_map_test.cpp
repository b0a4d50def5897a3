#include <catch2/catch.hpp>

#include "vgpud/executor/device_memory_map.h"
#include "vgpud/executor/handle_table.h"

using vgpud::DeviceMemoryMap;

TEST_CASE("device ranges must lie inside one known range", "[memory]") {
  DeviceMemoryMap m;
  m.add(0x1000, 0x100, DeviceMemoryMap::Kind::Allocation, 0);
  m.add(0x2000, 0x10, DeviceMemoryMap::Kind::ModuleGlobal, 0);
  REQUIRE(m.contains(0x1000, 0x100));
  REQUIRE(m.contains(0x10f0, 0x10));
  REQUIRE_FALSE(m.contains(0x10f0, 0x11));        // runs past the end
  REQUIRE_FALSE(m.contains(0xfff, 1));            // before the first range
  REQUIRE_FALSE(m.contains(0x1100, 1));           // between ranges
  REQUIRE_FALSE(m.contains(0x1080, ~0ull));       // length that would overflow
  REQUIRE(m.contains(0x2000, 0x10));
  REQUIRE(m.allocation_size(0x1000) == 0x100);
  REQUIRE(m.allocation_size(0x2000) == 0);        // globals are not freeable
  REQUIRE(m.allocated_bytes() == 0x100);
  REQUIRE(m.remove(0x1000));
  REQUIRE_FALSE(m.contains(0x1000, 1));
}

TEST_CASE("each range knows its device; a device's ranges go together", "[memory]") {
  DeviceMemoryMap m;
  m.add(0x1000, 0x100, DeviceMemoryMap::Kind::Allocation, 0);
  m.add(0x2000, 0x200, DeviceMemoryMap::Kind::Allocation, 1);
  m.add(0x3000, 0x10, DeviceMemoryMap::Kind::ModuleGlobal, 1);
  REQUIRE(m.device_of(0x1010, 0x10) == 0u);
  REQUIRE(m.device_of(0x2100, 0x100) == 1u);
  REQUIRE_FALSE(m.device_of(0x2100, 0x101).has_value());  // runs past the end
  REQUIRE_FALSE(m.device_of(0x1800, 1).has_value());
  // Only allocations count as freed bytes; the global goes with its device all the same.
  REQUIRE(m.remove_device(1) == 0x200);
  REQUIRE_FALSE(m.contains(0x2000, 1));
  REQUIRE_FALSE(m.contains(0x3000, 1));
  REQUIRE(m.contains(0x1000, 0x100));
  REQUIRE(m.remove_device(1) == 0);
}

TEST_CASE("handle ids are never reused and tables are bounded", "[handles]") {
  vgpud::HandleTable<uint32_t, int> t(1, 2);
  const uint32_t a = t.insert(10);
  const uint32_t b = t.insert(20);
  REQUIRE(t.full());
  REQUIRE(t.erase(a));
  REQUIRE_FALSE(t.full());
  const uint32_t c = t.insert(30);
  REQUIRE(c != a);
  REQUIRE(t.find(a) == nullptr);
  REQUIRE(*t.find(b) == 20);
  REQUIRE_FALSE(t.erase(a));
}

TEST_CASE("a span runs on through mappings that follow each other on one device", "[memory][vmm]") {
  DeviceMemoryMap m;
  using Kind = DeviceMemoryMap::Kind;
  m.add(0x10000, 0x1000, Kind::Mapping, 0);
  m.add(0x11000, 0x2000, Kind::Mapping, 0);
  m.add(0x13000, 0x1000, Kind::Mapping, 1);  // adjacent, another device
  m.add(0x20000, 0x1000, Kind::Allocation, 0);
  m.add(0x21000, 0x1000, Kind::Allocation, 0);  // adjacent allocations are not one span
  m.add(0x30000, 0x1000, Kind::Mapping, 0);
  m.add(0x31001, 0x1000, Kind::Mapping, 0);  // a gap of one byte
  CHECK(m.device_of(0x10800, 0x1000) == 0u);
  CHECK(m.device_of(0x10000, 0x3000) == 0u);
  CHECK_FALSE(m.device_of(0x10000, 0x3001));  // into the other device's mapping
  CHECK(m.device_of(0x13000, 0x1000) == 1u);
  CHECK_FALSE(m.contains(0x20800, 0x1000));
  CHECK_FALSE(m.contains(0x30800, 0x1000));
  CHECK_FALSE(m.contains(0x10800, ~0ull));     // overflow
  CHECK(m.allocated_bytes() == 0x2000);         // mappings are charged elsewhere
  CHECK(m.allocation_size(0x10000) == 0);       // and cannot be freed as allocations
}

TEST_CASE("the room left in a range after a pointer", "[memory]") {
  DeviceMemoryMap m;
  m.add(0x1000, 0x100, DeviceMemoryMap::Kind::Allocation, 1);
  CHECK(m.room_at(0x1000) == std::pair<uint64_t, uint32_t>{0x100, 1});
  CHECK(m.room_at(0x10ff) == std::pair<uint64_t, uint32_t>{1, 1});
  CHECK_FALSE(m.room_at(0x1100));
  CHECK_FALSE(m.room_at(0xfff));
}
