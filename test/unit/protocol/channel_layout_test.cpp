#include <catch2/catch.hpp>

#include <vector>

#include "vgpu/protocol/channel_layout.h"
#include "vgpu/protocol/limits.h"

using namespace vgpu::proto;

TEST_CASE("default geometry is valid and page aligned", "[layout]") {
  auto g = compute_geometry(ChannelSizes{});
  REQUIRE(g.ok());
  REQUIRE(validate_geometry(*g, g->region_size).ok());
  REQUIRE(g->submit.offset == kChannelHeaderArea);
  REQUIRE(g->heap.offset % 4096 == 0);
  REQUIRE(g->heap.offset + g->heap.size <= g->region_size);
}

TEST_CASE("compute_geometry refuses sizes the protocol cannot carry", "[layout]") {
  ChannelSizes s;
  s.submit = 3000;
  REQUIRE(compute_geometry(s).error() == GeometryError::RingSizeOutOfBounds);
  s.submit = 1 << 20;
  s.upload = (1 << 20) + 1;
  REQUIRE(compute_geometry(s).error() == GeometryError::RingSizeNotPowerOfTwo);
  s.upload = 1 << 20;
  s.heap = vgpu::limits::kMaxHeapSize + 1;
  REQUIRE(compute_geometry(s).error() == GeometryError::HeapTooLarge);
}

TEST_CASE("validate_geometry catches a hostile header", "[layout][hostile]") {
  auto g = *compute_geometry(ChannelSizes{});
  SECTION("region size mismatch") { REQUIRE_FALSE(validate_geometry(g, g.region_size - 4096).ok()); }
  SECTION("area past the end") {
    g.heap.size += 4096;
    REQUIRE(validate_geometry(g, g.region_size).error() == GeometryError::AreaOutOfRegion);
  }
  SECTION("overlap") {
    g.reply.offset = g.submit.offset;
    REQUIRE(validate_geometry(g, g.region_size).error() == GeometryError::AreasOverlap);
  }
  SECTION("misaligned") {
    g.upload.offset += 8;
    REQUIRE(validate_geometry(g, g.region_size).error() == GeometryError::AreaMisaligned);
  }
  SECTION("offset inside the header") {
    g.submit.offset = 0;
    REQUIRE_FALSE(validate_geometry(g, g.region_size).ok());
  }
  SECTION("huge size that would overflow offset + size") {
    g.heap.size = ~0ull - 100;
    REQUIRE_FALSE(validate_geometry(g, g.region_size).ok());
  }
}

TEST_CASE("initialize_channel_header writes identity and zero indices", "[layout]") {
  auto g = *compute_geometry(ChannelSizes{});
  std::vector<uint8_t> page(kChannelHeaderArea, 0xAB);
  initialize_channel_header(page.data(), g);
  auto* h = reinterpret_cast<ChannelHeader*>(page.data());
  REQUIRE(h->magic == kChannelMagic);
  REQUIRE(h->protocol_version == kProtocolVersion);
  REQUIRE(h->submit.tail.load() == 0);
  REQUIRE(h->reply.head.load() == 0);
  REQUIRE(h->host_closed.load() == 0);
  REQUIRE(h->geometry.heap.offset == g.heap.offset);
}
