// An array read as a line of bytes, its rows one after the other (the 1D array copies:
// cuMemcpyHtoA, cudaMemcpyToArray, ...): a span of that line as boxes a 3D copy takes. At most
// five: the rest of a row, the rest of a slice, whole slices, then rows and a part of a row.
// Pure, header-only: the runtime shim (guest/cudart) cuts its own with it.
#pragma once
#include <algorithm>
#include <cstddef>
#include <vector>

namespace vgpu::cuda {

// x in bytes, y in rows, z in slices; `at` is where in the span the box's first byte lies (the
// bytes of a box follow each other in the line too).
struct LinearBox {
  size_t x, y, z;
  size_t width, height, depth;
  size_t at;
};

// The boxes of [offset, offset + count) in an array of `rows` rows of `row_bytes` bytes per
// slice; the caller has checked that the span lies inside the array.
inline std::vector<LinearBox> linear_boxes(size_t row_bytes, size_t rows, size_t offset, size_t count) {
  std::vector<LinearBox> boxes;
  if (row_bytes == 0 || rows == 0) return boxes;
  const size_t slice_bytes = row_bytes * rows;
  size_t at = 0;
  while (at < count) {
    const size_t position = offset + at, left = count - at;
    const size_t row = position / row_bytes, x = position % row_bytes;
    const size_t y = row % rows, z = row / rows;
    LinearBox b{x, y, z, row_bytes, 1, 1, at};
    if (x != 0 || left < row_bytes) {
      b.width = std::min(row_bytes - x, left);
    } else if (y != 0 || left < slice_bytes) {
      b.height = std::min(rows - y, left / row_bytes);
    } else {
      b.height = rows;
      b.depth = left / slice_bytes;
    }
    boxes.push_back(b);
    at += b.width * b.height * b.depth;
  }
  return boxes;
}

}  // namespace vgpu::cuda
