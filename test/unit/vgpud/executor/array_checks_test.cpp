// What vgpud computes from a guest's numbers before an array copy, a texture or an array reach
// the driver (vgpud/executor/array_checks.h): element sizes, a box inside an array, a pitched
// buffer's span, the upper bound an array is charged where the driver cannot say.
#include <catch2/catch.hpp>

#include "vgpu/protocol/limits.h"
#include "vgpud/executor/array_checks.h"

using vgpud::ArrayExtent;
using vgpud::CopyBox;

TEST_CASE("element sizes of the formats vgpu offers", "[arrays]") {
  CHECK(vgpud::element_bytes(CU_AD_FORMAT_UNSIGNED_INT8, 1) == 1u);
  CHECK(vgpud::element_bytes(CU_AD_FORMAT_SIGNED_INT16, 2) == 4u);
  CHECK(vgpud::element_bytes(CU_AD_FORMAT_HALF, 4) == 8u);
  CHECK(vgpud::element_bytes(CU_AD_FORMAT_FLOAT, 4) == 16u);
  CHECK_FALSE(vgpud::element_bytes(CU_AD_FORMAT_FLOAT, 3));
  CHECK_FALSE(vgpud::element_bytes(CU_AD_FORMAT_FLOAT, 0));
  CHECK_FALSE(vgpud::element_bytes(CU_AD_FORMAT_NV12, 1));
  CHECK_FALSE(vgpud::element_bytes(0x7fffffff, 1));
}

TEST_CASE("a box lies inside an array in whole elements", "[arrays][hostile]") {
  const ArrayExtent a = vgpud::array_extent(64, 0, 0, 4);  // 1D: 256 bytes, one row, one slice
  CHECK((a.row_bytes == 256 && a.rows == 1 && a.slices == 1));
  CHECK(vgpud::box_inside(CopyBox{0, 0, 0, 256, 1, 1}, a, 4));
  CHECK(vgpud::box_inside(CopyBox{252, 0, 0, 4, 1, 1}, a, 4));
  CHECK_FALSE(vgpud::box_inside(CopyBox{256, 0, 0, 4, 1, 1}, a, 4));
  CHECK_FALSE(vgpud::box_inside(CopyBox{2, 0, 0, 4, 1, 1}, a, 4));   // not an element's start
  CHECK_FALSE(vgpud::box_inside(CopyBox{0, 0, 0, 6, 1, 1}, a, 4));   // not whole elements
  CHECK_FALSE(vgpud::box_inside(CopyBox{0, 1, 0, 4, 1, 1}, a, 4));
  CHECK_FALSE(vgpud::box_inside(CopyBox{0, 0, 1, 4, 1, 1}, a, 4));
  const ArrayExtent v = vgpud::array_extent(8, 8, 8, 16);
  CHECK(vgpud::box_inside(CopyBox{16, 7, 7, 112, 1, 1}, v, 16));
  CHECK_FALSE(vgpud::box_inside(CopyBox{16, 7, 7, 112, 2, 1}, v, 16));
  // Sums that would wrap are out, not in.
  CHECK_FALSE(vgpud::box_inside(CopyBox{16, 0, 0, UINT64_MAX - 15, 1, 1}, v, 16));
  CHECK_FALSE(vgpud::box_inside(CopyBox{0, 1, 0, 16, UINT64_MAX, 1}, v, 16));
}

TEST_CASE("a pitched buffer's span runs from the box's first byte to the end of its last row", "[arrays][hostile]") {
  auto span = vgpud::buffer_span(CopyBox{8, 2, 1, 16, 3, 2}, 64, 10);
  REQUIRE(span);
  // First: (1 × 10 + 2) × 64 + 8; last row: 12 + 1 × 10 + 2 = 24, ending at 24 × 64 + 8 + 16.
  CHECK(span->offset == 12 * 64 + 8);
  CHECK(span->offset + span->length == 24 * 64 + 24);
  // One row: the pitch plays no part but for y; overlapping rows are still bounded.
  span = vgpud::buffer_span(CopyBox{0, 0, 0, 100, 1, 1}, 0, 0);
  REQUIRE(span);
  CHECK((span->offset == 0 && span->length == 100));
  span = vgpud::buffer_span(CopyBox{0, 0, 0, 100, 4, 1}, 10, 0);
  REQUIRE(span);
  CHECK(span->length == 3 * 10 + 100);
  CHECK_FALSE(vgpud::buffer_span(CopyBox{0, 0, 0, 0, 1, 1}, 64, 1));
  CHECK_FALSE(vgpud::buffer_span(CopyBox{0, 0, 0, 8, UINT64_MAX, 1}, 64, 1));
  CHECK_FALSE(vgpud::buffer_span(CopyBox{0, 0, UINT64_MAX, 8, 1, 1}, 64, 2));
  CHECK_FALSE(vgpud::buffer_span(CopyBox{UINT64_MAX, 0, 0, 8, 1, 1}, 64, 1));
  CHECK_FALSE(vgpud::buffer_span(CopyBox{0, 0, 0, 8, 2, 1}, UINT64_MAX, 1));
}

TEST_CASE("the upper bound charged for an array holds its bytes", "[arrays]") {
  // 1D and 2D: at least the elements, rows rounded to 64 bytes, rows to a power of two (8 at least).
  CHECK(vgpud::array_bytes_bound(1000, 0, 0, 4, 1, false) == 4032u * 8);
  CHECK(vgpud::array_bytes_bound(100, 100, 0, 4, 1, false) == 448u * 128);
  CHECK(vgpud::array_bytes_bound(64, 64, 64, 16, 1, false) == 1024u * 64 * 64);
  // Levels halve (at least 1); layers do not.
  CHECK(vgpud::array_bytes_bound(64, 64, 0, 4, 2, false) == 256u * 64 + 128u * 32);
  CHECK(vgpud::array_bytes_bound(64, 64, 6, 4, 2, true) == 256u * 64 * 8 + 128u * 32 * 8);
  // The largest the protocol allows does not overflow.
  const uint64_t most = vgpu::limits::kMaxArrayExtent;
  CHECK(vgpud::array_bytes_bound(most, most, most, 16, vgpu::limits::kMaxMipmapLevels, false) >= most * 16 * most * most);
}
