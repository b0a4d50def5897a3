// An array read as a line of bytes cut into the boxes a 3D copy takes (guest/cuda/array_linear.h):
// every byte of the span once, in order, in at most five boxes.
#include <catch2/catch.hpp>

#include <vector>

#include "guest/cuda/array_linear.h"

using vgpu::cuda::LinearBox;
using vgpu::cuda::linear_boxes;

namespace {

// Each byte of an array of `rows` rows of `row_bytes` per slice, and `slices` slices, that the
// boxes touch, in the order of the line they stand for; the byte's place in the line.
std::vector<size_t> covered(const std::vector<LinearBox>& boxes, size_t row_bytes, size_t rows) {
  std::vector<size_t> line;
  for (const LinearBox& b : boxes) {
    REQUIRE(b.at == line.size());
    for (size_t z = 0; z < b.depth; ++z)
      for (size_t y = 0; y < b.height; ++y)
        for (size_t x = 0; x < b.width; ++x) line.push_back(((b.z + z) * rows + b.y + y) * row_bytes + b.x + x);
  }
  return line;
}

}  // namespace

TEST_CASE("a span of an array's line is cut into boxes that cover it once, in order", "[arrays]") {
  const size_t row = 40, rows = 5, slices = 4;
  for (size_t offset : {size_t{0}, size_t{3}, size_t{40}, size_t{199}, size_t{200}, size_t{517}}) {
    for (size_t count : {size_t{1}, size_t{37}, size_t{40}, size_t{200}, size_t{401}}) {
      if (offset + count > row * rows * slices) continue;
      INFO("offset " << offset << " count " << count);
      const std::vector<LinearBox> boxes = linear_boxes(row, rows, offset, count);
      CHECK(boxes.size() <= 5);
      const std::vector<size_t> line = covered(boxes, row, rows);
      REQUIRE(line.size() == count);
      for (size_t i = 0; i < count; ++i) CHECK(line[i] == offset + i);
    }
  }
  // Whole slices are one box.
  const std::vector<LinearBox> whole = linear_boxes(row, rows, 0, row * rows * slices);
  REQUIRE(whole.size() == 1);
  CHECK((whole[0].width == row && whole[0].height == rows && whole[0].depth == slices));
  CHECK(linear_boxes(row, rows, 0, 0).empty());
  CHECK(linear_boxes(0, rows, 0, 10).empty());
}
