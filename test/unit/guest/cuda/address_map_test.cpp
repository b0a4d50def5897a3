#include "guest/cuda/address_map.h"

#include <catch2/catch.hpp>

using vgpu::cuda::AddressMap;

TEST_CASE("address map finds the range containing an address", "[cudart][address_map]") {
  AddressMap map;
  map.insert(0x1000, 0x100, 0);
  map.insert(0x2000, 0x10, 1);
  map.insert(0x3000, 0, 0);  // empty: ignored
  CHECK(map.size() == 2);

  auto r = map.find(0x10ff);
  REQUIRE(r);
  CHECK(r->start == 0x1000);
  CHECK(r->size == 0x100);
  CHECK_FALSE(map.find(0x1100));
  CHECK_FALSE(map.find(0xfff));
  CHECK(map.find(0x2005)->device == 1);
  CHECK_FALSE(map.find(0x3000));
}

TEST_CASE("address map handles ranges at the top of the address space", "[cudart][address_map]") {
  AddressMap map;
  map.insert(UINT64_MAX - 15, 16, 0);
  CHECK(map.find(UINT64_MAX));
  CHECK_FALSE(map.find(UINT64_MAX - 16));
}

TEST_CASE("address map erases by start and clears per device", "[cudart][address_map]") {
  AddressMap map;
  map.insert(0x1000, 0x100, 0);
  map.insert(0x2000, 0x100, 1);
  map.insert(0x3000, 0x100, 0);
  CHECK_FALSE(map.erase(0x1010));  // not a start
  CHECK(map.erase(0x1000));
  CHECK_FALSE(map.find(0x1000));
  map.clear_device(0);
  CHECK_FALSE(map.find(0x3000));
  CHECK(map.find(0x2000));
  map.clear();
  CHECK(map.size() == 0);
}
