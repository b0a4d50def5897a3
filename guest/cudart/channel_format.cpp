#include "guest/cudart/channel_format.h"

#include <atomic>

#include "guest/client/log.h"

namespace vgpu::cudart {

namespace {

// Bits of one channel of a format, 0 for a format not known here.
int channel_bits(CUarray_format format) {
  switch (static_cast<int>(format)) {
    case CU_AD_FORMAT_UNSIGNED_INT8:
    case CU_AD_FORMAT_SIGNED_INT8:
      return 8;
    case CU_AD_FORMAT_UNSIGNED_INT16:
    case CU_AD_FORMAT_SIGNED_INT16:
    case CU_AD_FORMAT_HALF:
      return 16;
    case CU_AD_FORMAT_UNSIGNED_INT32:
    case CU_AD_FORMAT_SIGNED_INT32:
    case CU_AD_FORMAT_FLOAT:
      return 32;
    default:
      return 0;
  }
}

}  // namespace

cudaError_t format_of(const cudaChannelFormatDesc& d, CUarray_format* format, unsigned* channels) {
  if (d.f == cudaChannelFormatKindNone) return cudaErrorInvalidChannelDescriptor;
  if (d.f != cudaChannelFormatKindSigned && d.f != cudaChannelFormatKindUnsigned && d.f != cudaChannelFormatKindFloat) {
    static std::atomic<bool> said{false};
    if (!said.exchange(true))
      guest::log(guest::LogLevel::Warn, "a channel format other than 8/16/32-bit integers, half or float is not "
                                        "supported by vgpu");
    return cudaErrorNotSupported;
  }
  // x, then y, z, w: as many channels as are given from x on, all of x's size.
  const int sizes[4] = {d.x, d.y, d.z, d.w};
  unsigned n = 0;
  while (n < 4 && sizes[n] != 0) ++n;
  for (unsigned i = 0; i < 4; ++i)
    if ((i < n && sizes[i] != d.x) || (i >= n && sizes[i] != 0)) return cudaErrorInvalidChannelDescriptor;
  if (n != 1 && n != 2 && n != 4) return cudaErrorInvalidChannelDescriptor;
  switch (d.f) {
    case cudaChannelFormatKindSigned:
    case cudaChannelFormatKindUnsigned: {
      const bool sign = d.f == cudaChannelFormatKindSigned;
      if (d.x == 8) *format = sign ? CU_AD_FORMAT_SIGNED_INT8 : CU_AD_FORMAT_UNSIGNED_INT8;
      else if (d.x == 16) *format = sign ? CU_AD_FORMAT_SIGNED_INT16 : CU_AD_FORMAT_UNSIGNED_INT16;
      else if (d.x == 32) *format = sign ? CU_AD_FORMAT_SIGNED_INT32 : CU_AD_FORMAT_UNSIGNED_INT32;
      else return cudaErrorInvalidChannelDescriptor;
      break;
    }
    default:  // float
      if (d.x == 16) *format = CU_AD_FORMAT_HALF;
      else if (d.x == 32) *format = CU_AD_FORMAT_FLOAT;
      else return cudaErrorInvalidChannelDescriptor;
      break;
  }
  *channels = n;
  return cudaSuccess;
}

cudaChannelFormatDesc channel_desc_of(CUarray_format format, unsigned channels) {
  const int bits = channel_bits(format);
  cudaChannelFormatDesc d{0, 0, 0, 0, cudaChannelFormatKindNone};
  if (bits == 0 || channels == 0 || channels > 4) return d;
  int* sizes[4] = {&d.x, &d.y, &d.z, &d.w};
  for (unsigned i = 0; i < channels; ++i) *sizes[i] = bits;
  switch (static_cast<int>(format)) {
    case CU_AD_FORMAT_SIGNED_INT8:
    case CU_AD_FORMAT_SIGNED_INT16:
    case CU_AD_FORMAT_SIGNED_INT32:
      d.f = cudaChannelFormatKindSigned;
      break;
    case CU_AD_FORMAT_HALF:
    case CU_AD_FORMAT_FLOAT:
      d.f = cudaChannelFormatKindFloat;
      break;
    default:
      d.f = cudaChannelFormatKindUnsigned;
      break;
  }
  return d;
}

size_t element_size(cudaArray_const_t array) {
  CUDA_ARRAY3D_DESCRIPTOR d{};
  if (cuArray3DGetDescriptor(&d, reinterpret_cast<CUarray>(const_cast<cudaArray_t>(array))) != CUDA_SUCCESS) return 0;
  return static_cast<size_t>(channel_bits(d.Format)) / 8 * d.NumChannels;
}

}  // namespace vgpu::cudart
