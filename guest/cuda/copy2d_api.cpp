// Pitched (2D) and 3D copies, row by row over the 1D copies; a copy with an array (CUarray) at
// either end goes to the array copies (array_copies.h) whole.
#include <cstring>

#include "guest/cuda/api.h"
#include "guest/cuda/array_copies.h"
#include "guest/cuda/copies.h"

using namespace vgpu::cuda;

namespace {

enum class Side { Host, Device };

// Where one end of the copy lies, and its first byte; false for an array or an unknown type.
bool side_of(CUmemorytype type, const void* host, CUdeviceptr device, Side* side, uint64_t* base) {
  switch (type) {
    case CU_MEMORYTYPE_HOST:
      *side = Side::Host;
      *base = reinterpret_cast<uint64_t>(host);
      return true;
    case CU_MEMORYTYPE_DEVICE:
      *side = Side::Device;
      *base = device;
      return true;
    case CU_MEMORYTYPE_UNIFIED:
      *side = is_device_pointer(device) ? Side::Device : Side::Host;
      *base = device;
      return true;
    default:
      return false;
  }
}

// One end of a copy that has an array at one end at least; false for an unknown memory type.
bool array_copy_end(CUmemorytype type, const void* host, CUdeviceptr device, CUarray array, size_t x, size_t y,
                    size_t z, size_t pitch, size_t rows, CopyEnd* out) {
  out->x = x, out->y = y, out->z = z, out->pitch = pitch, out->rows = rows;
  switch (type) {
    case CU_MEMORYTYPE_ARRAY:
      out->kind = CopyEnd::Kind::Array;
      out->array = array_of(array);
      return true;
    case CU_MEMORYTYPE_HOST:
      out->kind = CopyEnd::Kind::Host;
      out->host = host;
      return true;
    case CU_MEMORYTYPE_DEVICE:
      out->kind = CopyEnd::Kind::Device;
      out->device = device;
      return true;
    case CU_MEMORYTYPE_UNIFIED:
      out->kind = is_device_pointer(device) ? CopyEnd::Kind::Device : CopyEnd::Kind::Host;
      out->device = device;
      out->host = reinterpret_cast<const void*>(device);
      return true;
    default:
      return false;
  }
}

bool has_array(CUmemorytype src, CUmemorytype dst) {
  return src == CU_MEMORYTYPE_ARRAY || dst == CU_MEMORYTYPE_ARRAY;
}

CUresult copy_2d(const CUDA_MEMCPY2D* c, CUstream stream, bool wait) {
  if (c == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (has_array(c->srcMemoryType, c->dstMemoryType)) {
    CopyEnd src, dst;
    if (!array_copy_end(c->srcMemoryType, c->srcHost, c->srcDevice, c->srcArray, c->srcXInBytes, c->srcY, 0,
                        c->srcPitch, 0, &src) ||
        !array_copy_end(c->dstMemoryType, c->dstHost, c->dstDevice, c->dstArray, c->dstXInBytes, c->dstY, 0,
                        c->dstPitch, 0, &dst))
      return CUDA_ERROR_INVALID_VALUE;
    if (c->Height > 1 && ((src.kind != CopyEnd::Kind::Array && c->WidthInBytes + c->srcXInBytes > c->srcPitch) ||
                          (dst.kind != CopyEnd::Kind::Array && c->WidthInBytes + c->dstXInBytes > c->dstPitch)))
      return CUDA_ERROR_INVALID_VALUE;
    return copy_with_array(src, dst, CopyExtent{c->WidthInBytes, c->Height, 1}, stream, wait);
  }
  Side from, to;
  uint64_t src, dst;
  if (!side_of(c->srcMemoryType, c->srcHost, c->srcDevice, &from, &src) ||
      !side_of(c->dstMemoryType, c->dstHost, c->dstDevice, &to, &dst))
    return CUDA_ERROR_NOT_SUPPORTED;
  if ((c->Height > 1 && (c->WidthInBytes > c->srcPitch || c->WidthInBytes > c->dstPitch)))
    return CUDA_ERROR_INVALID_VALUE;
  src += c->srcY * c->srcPitch + c->srcXInBytes;
  dst += c->dstY * c->dstPitch + c->dstXInBytes;
  for (size_t row = 0; row < c->Height; ++row) {
    const uint64_t s = src + row * c->srcPitch;
    const uint64_t d = dst + row * c->dstPitch;
    CUresult r = CUDA_SUCCESS;
    if (from == Side::Host && to == Side::Host)
      std::memmove(reinterpret_cast<void*>(d), reinterpret_cast<const void*>(s), c->WidthInBytes);
    else if (from == Side::Host)
      r = to_device(d, reinterpret_cast<const void*>(s), c->WidthInBytes, stream, wait);
    else if (to == Side::Host)
      r = to_host(reinterpret_cast<void*>(d), s, c->WidthInBytes, stream, wait);
    else
      r = device_to_device(d, s, c->WidthInBytes, stream, wait && row + 1 == c->Height);
    if (r != CUDA_SUCCESS) return r;
  }
  return CUDA_SUCCESS;
}

// A 3D copy is Depth 2D copies, slice z starting (srcZ + z) * srcHeight rows into the source.
CUresult copy_3d(const CUDA_MEMCPY3D* c, CUstream stream, bool wait) {
  if (c == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (c->srcLOD != 0 || c->dstLOD != 0) return CUDA_ERROR_INVALID_VALUE;  // reserved, as the driver says
  if (has_array(c->srcMemoryType, c->dstMemoryType)) {
    CopyEnd src, dst;
    if (!array_copy_end(c->srcMemoryType, c->srcHost, c->srcDevice, c->srcArray, c->srcXInBytes, c->srcY, c->srcZ,
                        c->srcPitch, c->srcHeight, &src) ||
        !array_copy_end(c->dstMemoryType, c->dstHost, c->dstDevice, c->dstArray, c->dstXInBytes, c->dstY, c->dstZ,
                        c->dstPitch, c->dstHeight, &dst))
      return CUDA_ERROR_INVALID_VALUE;
    const bool rows = c->Height > 1 || c->Depth > 1;
    if ((rows && ((src.kind != CopyEnd::Kind::Array && c->WidthInBytes + c->srcXInBytes > c->srcPitch) ||
                  (dst.kind != CopyEnd::Kind::Array && c->WidthInBytes + c->dstXInBytes > c->dstPitch))) ||
        (c->Depth > 1 && ((src.kind != CopyEnd::Kind::Array && c->Height + c->srcY > c->srcHeight) ||
                          (dst.kind != CopyEnd::Kind::Array && c->Height + c->dstY > c->dstHeight))))
      return CUDA_ERROR_INVALID_VALUE;
    return copy_with_array(src, dst, CopyExtent{c->WidthInBytes, c->Height, c->Depth}, stream, wait);
  }
  if (c->Depth > 1 && (c->Height > c->srcHeight || c->Height > c->dstHeight)) return CUDA_ERROR_INVALID_VALUE;
  for (size_t z = 0; z < c->Depth; ++z) {
    CUDA_MEMCPY2D slice{};
    slice.srcXInBytes = c->srcXInBytes;
    slice.srcY = (c->srcZ + z) * c->srcHeight + c->srcY;
    slice.srcMemoryType = c->srcMemoryType;
    slice.srcHost = c->srcHost;
    slice.srcDevice = c->srcDevice;
    slice.srcPitch = c->srcPitch;
    slice.dstXInBytes = c->dstXInBytes;
    slice.dstY = (c->dstZ + z) * c->dstHeight + c->dstY;
    slice.dstMemoryType = c->dstMemoryType;
    slice.dstHost = c->dstHost;
    slice.dstDevice = c->dstDevice;
    slice.dstPitch = c->dstPitch;
    slice.WidthInBytes = c->WidthInBytes;
    slice.Height = c->Height;
    if (CUresult r = copy_2d(&slice, stream, wait); r != CUDA_SUCCESS) return r;
  }
  return CUDA_SUCCESS;
}

}  // namespace

VGPU_DRIVER_API CUresult cuMemcpy3D_v2(const CUDA_MEMCPY3D* copy) {
  return guarded([&] { return copy_3d(copy, nullptr, true); });
}
VGPU_DRIVER_API CUresult cuMemcpy3DAsync_v2(const CUDA_MEMCPY3D* copy, CUstream stream) {
  return guarded([&] { return copy_3d(copy, stream, false); });
}

VGPU_DRIVER_API CUresult cuMemcpy2D_v2(const CUDA_MEMCPY2D* copy) {
  return guarded([&] { return copy_2d(copy, nullptr, true); });
}
VGPU_DRIVER_API CUresult cuMemcpy2DUnaligned_v2(const CUDA_MEMCPY2D* copy) {
  return guarded([&] { return copy_2d(copy, nullptr, true); });
}
VGPU_DRIVER_API CUresult cuMemcpy2DAsync_v2(const CUDA_MEMCPY2D* copy, CUstream stream) {
  return guarded([&] { return copy_2d(copy, stream, false); });
}
