// The array element formats the protocol carries (ARRAY_CREATE, MIPMAPPED_ARRAY_CREATE,
// TEX_OBJECT_CREATE): the driver's plain integer, half and float CUarray_format values, with 1, 2
// or 4 channels. The guest judges a descriptor with this before sending it, vgpud a command
// before the driver sees it: one rule for both ends.
#pragma once
#include <cuda.h>

#include <cstdint>

namespace vgpu::proto {

// Bytes of one element of `format` with `channels` channels; 0 for a format the protocol does not
// carry or a channel count the driver refuses.
constexpr uint32_t array_element_bytes(uint32_t format, uint32_t channels) {
  if (channels != 1 && channels != 2 && channels != 4) return 0;
  switch (format) {
    case CU_AD_FORMAT_UNSIGNED_INT8:
    case CU_AD_FORMAT_SIGNED_INT8:
      return channels;
    case CU_AD_FORMAT_UNSIGNED_INT16:
    case CU_AD_FORMAT_SIGNED_INT16:
    case CU_AD_FORMAT_HALF:
      return 2 * channels;
    case CU_AD_FORMAT_UNSIGNED_INT32:
    case CU_AD_FORMAT_SIGNED_INT32:
    case CU_AD_FORMAT_FLOAT:
      return 4 * channels;
    default:
      return 0;
  }
}

}  // namespace vgpu::proto
