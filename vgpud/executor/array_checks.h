// Pure pieces of the array, texture and surface handlers (executor_array*.cpp,
// executor_texture.cpp): what vgpud computes from a guest's numbers before the driver sees them,
// kept apart so that unit tests reach them without a channel. Every product and sum is checked
// for overflow: the numbers come from the guest.
#pragma once
#include <cuda.h>

#include <algorithm>
#include <cstdint>
#include <optional>

#include "vgpu/protocol/array_format.h"

namespace vgpud {

// Bytes of one element of `format` with `channels` channels; nullopt for a format vgpu does not
// offer (only the plain integer, half and float formats) or a channel count the driver refuses.
inline std::optional<uint32_t> element_bytes(uint32_t format, uint32_t channels) {
  const uint32_t bytes = vgpu::proto::array_element_bytes(format, channels);
  return bytes != 0 ? std::optional<uint32_t>(bytes) : std::nullopt;
}

// A copy's box: x in bytes, y in rows, z in slices; width bytes by height rows by depth slices.
struct CopyBox {
  uint64_t x, y, z;
  uint64_t width, height, depth;
};

// An array's extent as copies see it: a row's bytes, rows and slices (a 1D array has one row, a
// 2D one one slice; a layered array's layers are its slices).
struct ArrayExtent {
  uint64_t row_bytes, rows, slices;
};

inline ArrayExtent array_extent(uint64_t width, uint64_t height, uint64_t depth, uint32_t element) {
  // Extents are bounded by the protocol (kMaxArrayExtent), so this product cannot overflow.
  return ArrayExtent{width * element, std::max<uint64_t>(height, 1), std::max<uint64_t>(depth, 1)};
}

// Whether the box lies inside the array, in whole elements.
inline bool box_inside(const CopyBox& b, const ArrayExtent& a, uint32_t element) {
  if (element == 0 || b.x % element != 0 || b.width % element != 0) return false;
  return b.x <= a.row_bytes && b.width <= a.row_bytes - b.x && b.y <= a.rows && b.height <= a.rows - b.y &&
         b.z <= a.slices && b.depth <= a.slices - b.z;
}

// The bytes of a pitched buffer a copy of box `b` touches: from its first byte, at
// (z × rows + y) × pitch + x, to the end of its last row. Every byte the copy reads or writes lies
// in [offset, offset + length), whatever the pitch (rows that overlap included). nullopt when a
// number overflows or the box is empty.
struct Span {
  uint64_t offset, length;
};
inline std::optional<Span> buffer_span(const CopyBox& b, uint64_t pitch, uint64_t rows) {
  if (b.width == 0 || b.height == 0 || b.depth == 0) return std::nullopt;
  // first_row = z × rows + y; last_row = first_row + (depth - 1) × rows + height - 1.
  uint64_t first_row, more_rows, last_row, first, last, end;
  if (__builtin_mul_overflow(b.z, rows, &first_row) || __builtin_add_overflow(first_row, b.y, &first_row) ||
      __builtin_mul_overflow(b.depth - 1, rows, &more_rows) ||
      __builtin_add_overflow(first_row, more_rows, &last_row) ||
      __builtin_add_overflow(last_row, b.height - 1, &last_row))
    return std::nullopt;
  if (__builtin_mul_overflow(first_row, pitch, &first) || __builtin_add_overflow(first, b.x, &first) ||
      __builtin_mul_overflow(last_row, pitch, &last) || __builtin_add_overflow(last, b.x, &last) ||
      __builtin_add_overflow(last, b.width, &end))
    return std::nullopt;
  return Span{first, end - first};
}

// The smallest power of two at least v (v ≥ 1, at most 2^62).
inline uint64_t power_of_two_at_least(uint64_t v) {
  uint64_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

// What an array (levels 1) or a mipmapped array takes on the GPU at most, where the driver cannot
// say before it is made. The driver lays arrays out in blocks of 64-byte by 8-row tiles, each
// block a power of two of tiles high and deep: a row's bytes round up to 64, rows to a power of
// two (at least 8), slices to a power of two. Layers keep their count at every level; other
// extents halve (at least 1).
inline uint64_t array_bytes_bound(uint64_t width, uint64_t height, uint64_t depth, uint32_t element,
                                  uint32_t levels, bool layered) {
  uint64_t total = 0;
  for (uint32_t l = 0; l < levels; ++l) {
    const uint64_t w = std::max<uint64_t>(width >> l, 1);
    const uint64_t h = std::max<uint64_t>(std::max<uint64_t>(height, 1) >> l, 1);
    const uint64_t d = layered ? std::max<uint64_t>(depth, 1) : std::max<uint64_t>(std::max<uint64_t>(depth, 1) >> l, 1);
    const uint64_t row = (w * element + 63) / 64 * 64;
    const uint64_t level = row * std::max<uint64_t>(power_of_two_at_least(h), 8) * power_of_two_at_least(d);
    total = level > UINT64_MAX - total ? UINT64_MAX : total + level;
  }
  return total;
}

}  // namespace vgpud
