#include "vgpu/protocol/vm_layout.h"

#include <catch2/catch.hpp>
#include <vector>

using namespace vgpu::proto;

namespace {

constexpr uint64_t kMiB = 1ull << 20;

ChannelSizes small() { return {4096, 4096, 4096, 4096, 0}; }

// A header page written by vgpud for a region of region_size bytes (only the page exists:
// read_vm_geometry never looks past it).
std::vector<uint8_t> header_page(const VmGeometry& g) {
  std::vector<uint8_t> page(kVmHeaderArea, 0xAB);
  initialize_vm_header(page.data(), g, 3);
  return page;
}

VmHeader* as_header(std::vector<uint8_t>& page) {
  return reinterpret_cast<VmHeader*>(page.data());
}

}  // namespace

TEST_CASE("compute_vm_geometry places 2 MiB slots after the header", "[layout][vm]") {
  auto g = compute_vm_geometry(ChannelSizes{}, 4, 512 * kMiB);
  REQUIRE(g.ok());
  CHECK(g->slot_offset == 2 * kMiB);
  CHECK(g->slot_size % (2 * kMiB) == 0);
  CHECK(g->slot_size >= g->channel.region_size);
  CHECK(g->slot_offset + 4 * g->slot_size <= g->region_size);
  CHECK(validate_geometry(g->channel, g->channel.region_size).ok());

  auto s = compute_vm_geometry(small(), kMaxVmSlots, 128 * kMiB);
  REQUIRE(s.ok());
  CHECK(s->slot_size == 2 * kMiB);
}

TEST_CASE("compute_vm_geometry refuses what a BAR cannot hold", "[layout][vm]") {
  CHECK(compute_vm_geometry(small(), 0, 16 * kMiB).error() == VmGeometryError::TooManySlots);
  CHECK(compute_vm_geometry(small(), kMaxVmSlots + 1, 1024 * kMiB).error() ==
        VmGeometryError::TooManySlots);
  CHECK(compute_vm_geometry(small(), 4, 12 * kMiB).error() ==
        VmGeometryError::RegionNotPowerOfTwo);
  CHECK(compute_vm_geometry(small(), 4, 8 * kMiB).error() == VmGeometryError::RegionTooSmall);
  ChannelSizes bad = small();
  bad.submit = 3000;
  CHECK(compute_vm_geometry(bad, 4, 16 * kMiB).error() == VmGeometryError::BadChannel);
  CHECK(std::string(vm_geometry_error_message(VmGeometryError::RegionTooSmall)).size() > 0);
}

TEST_CASE("read_vm_geometry reads back what vgpud wrote", "[layout][vm]") {
  const VmGeometry g = *compute_vm_geometry(small(), 4, 16 * kMiB);
  auto page = header_page(g);
  const VmHeader* h = as_header(page);
  CHECK(h->magic == kVmMagic);
  CHECK(h->vgpud_peer_id == 3);
  CHECK(h->host_state.load() == 1);
  for (const SlotControl& s : h->slots) CHECK(s.state.load() == 0);

  auto r = read_vm_geometry(page.data(), g.region_size);
  REQUIRE(r.ok());
  CHECK(r->region_size == g.region_size);
  CHECK(r->slot_offset == g.slot_offset);
  CHECK(r->slot_size == g.slot_size);
  CHECK(r->slot_count == g.slot_count);
}

TEST_CASE("read_vm_geometry refuses a hostile header", "[layout][vm][hostile]") {
  const VmGeometry g = *compute_vm_geometry(small(), 4, 16 * kMiB);
  auto page = header_page(g);
  VmHeader* h = as_header(page);
  uint64_t region = g.region_size;
  SECTION("magic") { h->magic = 0; }
  SECTION("version") { h->protocol_version += 1; }
  SECTION("header size") { h->header_size = 0; }
  SECTION("no slots") { h->slot_count = 0; }
  SECTION("too many slots") { h->slot_count = kMaxVmSlots + 1; }
  SECTION("region size differs from the BAR") { region = g.region_size / 2; }
  SECTION("BAR smaller than a header") { region = 64; }
  SECTION("slots inside the header") { h->slot_offset = 0; }
  SECTION("misaligned slots") { h->slot_offset += 8; }
  SECTION("slot size zero") { h->slot_size = 0; }
  SECTION("slot size misaligned") { h->slot_size += 1; }
  SECTION("slots past the end") { h->slot_size = g.region_size; }
  SECTION("slot offset past the end") { h->slot_offset = g.region_size + 4096; }
  SECTION("slot size that overflows offset + count * size") { h->slot_size = ~0ull & ~4095ull; }
  auto r = read_vm_geometry(page.data(), region);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == VmGeometryError::BadHeader);
}
