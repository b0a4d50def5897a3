#include <catch2/catch.hpp>

#include "vgpu/protocol/limits.h"
#include "vgpud/executor/virtual_memory.h"

using vgpud::VirtualMemory;

namespace {

constexpr uint64_t kG = 0x200000;  // a granule

}  // namespace

TEST_CASE("mappings must lie in one reservation and overlap no other", "[vmm]") {
  VirtualMemory vm;
  vm.add_reservation(10 * kG, 4 * kG);
  vm.add_reservation(14 * kG, 2 * kG);  // adjacent: a mapping may not straddle the two
  const uint64_t a = vm.add_physical({0x77, 2 * kG, 0, 1, 0});
  CHECK(vm.can_map(10 * kG, 2 * kG));
  CHECK_FALSE(vm.can_map(9 * kG, 2 * kG));    // starts before
  CHECK_FALSE(vm.can_map(13 * kG, 2 * kG));   // straddles two reservations
  CHECK_FALSE(vm.can_map(20 * kG, kG));       // in none
  CHECK_FALSE(vm.can_map(10 * kG, 0));
  CHECK_FALSE(vm.can_map(~0ull - kG, 2 * kG));  // wraps
  vm.add_mapping(11 * kG, {2 * kG, 0, a});
  CHECK(vm.physical(a)->mappings == 1);
  CHECK_FALSE(vm.can_map(10 * kG, 2 * kG));   // overlaps its start
  CHECK_FALSE(vm.can_map(12 * kG, kG));       // inside it
  CHECK_FALSE(vm.can_map(12 * kG + 1, kG));
  CHECK(vm.can_map(10 * kG, kG));             // just before
  CHECK(vm.can_map(13 * kG, kG));             // just after
}

TEST_CASE("unmapping takes whole mappings, one after another", "[vmm]") {
  VirtualMemory vm;
  vm.add_reservation(0x1000000, 8 * kG);
  const uint64_t a = vm.add_physical({0x1, 4 * kG, 0, 1, 0});
  vm.add_mapping(0x1000000, {kG, 0, a});
  vm.add_mapping(0x1000000 + kG, {2 * kG, kG, a});
  vm.add_mapping(0x1000000 + 4 * kG, {kG, 0, a});  // after a gap
  CHECK(vm.exact_mappings(0x1000000, 3 * kG) == std::vector<uint64_t>{0x1000000, 0x1000000 + kG});
  CHECK_FALSE(vm.exact_mappings(0x1000000, 2 * kG));        // ends inside the second
  CHECK_FALSE(vm.exact_mappings(0x1000000 + 1, kG - 1));    // starts inside the first
  CHECK_FALSE(vm.exact_mappings(0x1000000, 5 * kG));        // runs over the gap
  CHECK(vm.covered(0x1000000 + 1, 3 * kG - 1));
  CHECK_FALSE(vm.covered(0x1000000, 3 * kG + 1));
  CHECK(vm.mapping_at(0x1000000 + kG + 5)->first == 0x1000000 + kG);
  CHECK_FALSE(vm.mapping_at(0x1000000 + 3 * kG));
  CHECK(vm.mappings_within(0x1000000, 8 * kG).size() == 3);
  CHECK(vm.physical(a)->mappings == 3);
}

TEST_CASE("a physical allocation lives while referenced or mapped", "[vmm]") {
  VirtualMemory vm;
  vm.add_reservation(0x1000000, 2 * kG);
  const uint64_t a = vm.add_physical({0x1, kG, 1, 1, 0});
  vm.add_mapping(0x1000000, {kG, 0, a});
  vm.physical(a)->references = 0;  // released while mapped
  CHECK(vm.forget_if_unused(a) == 0);
  REQUIRE(vm.remove_mapping(0x1000000)->physical == a);
  CHECK(vm.forget_if_unused(a) == kG);  // its bytes go back to the tenant once
  CHECK(vm.physical(a) == nullptr);
  CHECK(vm.forget_if_unused(a) == 0);
  CHECK_FALSE(vm.remove_mapping(0x1000000));
}

TEST_CASE("what a device reset takes: that device's allocations and their mappings", "[vmm]") {
  VirtualMemory vm;
  vm.add_reservation(0x1000000, 4 * kG);
  const uint64_t on0 = vm.add_physical({0x1, kG, 0, 1, 0});
  const uint64_t on1 = vm.add_physical({0x2, kG, 1, 1, 0});
  vm.add_mapping(0x1000000, {kG, 0, on0});
  vm.add_mapping(0x1000000 + kG, {kG, 0, on1});
  CHECK(vm.physicals_on(1) == std::vector<uint64_t>{on1});
  CHECK(vm.mappings_on(1) == std::vector<uint64_t>{0x1000000 + kG});
  CHECK(vm.mappings_on(std::nullopt).size() == 2);
  CHECK(vm.physicals_on(std::nullopt).size() == 2);
}

TEST_CASE("reservations are bounded and named exactly", "[vmm]") {
  VirtualMemory vm;
  for (uint32_t i = 0; i < vgpu::limits::kMaxAddressReservations; ++i) vm.add_reservation((i + 1) * kG, kG);
  CHECK(vm.reservations_full());
  CHECK(vm.is_reservation(kG, kG));
  CHECK_FALSE(vm.is_reservation(kG, 2 * kG));
  CHECK_FALSE(vm.is_reservation(kG + 1, kG));
  vm.remove_reservation(kG);
  CHECK_FALSE(vm.reservations_full());
}
