// The 1D array copies (cuMemcpyHtoA, cuMemcpyAtoH, cuMemcpyDtoA, cuMemcpyAtoD, cuMemcpyAtoA and
// their Async and per-thread forms): `count` bytes from byte `offset` of an array read as its
// rows one after the other, cut into the boxes a 3D copy takes (array_linear.h).
#include <algorithm>

#include "guest/cuda/api.h"
#include "guest/cuda/array_copies.h"
#include "guest/cuda/array_linear.h"
#include "guest/cuda/streams.h"

using namespace vgpu::cuda;

namespace {

// Whether [offset, offset + count) lies in the array's bytes.
bool inside(const ArrayObject& a, size_t offset, size_t count) {
  const ArrayExtent e = extent_of(a);
  const size_t total = e.row_bytes * e.rows * e.slices;
  return offset <= total && count <= total - offset;
}

// One array and a linear buffer (host memory, device memory) in either direction.
CUresult linear_copy(CUarray array, size_t offset, CopyEnd other, size_t count, bool to_array, CUstream stream,
                     bool wait) {
  const ArrayObject* a = array_of(array);
  if (a == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (!inside(*a, offset, count)) return CUDA_ERROR_INVALID_VALUE;
  const ArrayExtent e = extent_of(*a);
  for (const LinearBox& b : linear_boxes(e.row_bytes, e.rows, offset, count)) {
    // The buffer holds the same line of bytes: its rows are the array's rows, packed.
    CopyEnd array_end{CopyEnd::Kind::Array, nullptr, 0, const_cast<ArrayObject*>(a), b.x, b.y, b.z, 0, 0};
    CopyEnd buffer = other;
    if (buffer.kind == CopyEnd::Kind::Host) buffer.host = static_cast<const uint8_t*>(other.host) + b.at;
    else buffer.device = other.device + b.at;
    buffer.pitch = e.row_bytes;
    buffer.rows = e.rows;
    const CUresult r = to_array ? copy_with_array(buffer, array_end, CopyExtent{b.width, b.height, b.depth}, stream, wait)
                                : copy_with_array(array_end, buffer, CopyExtent{b.width, b.height, b.depth}, stream, wait);
    if (r != CUDA_SUCCESS) return r;
  }
  return CUDA_SUCCESS;
}

CopyEnd host_end(const void* p) { return CopyEnd{CopyEnd::Kind::Host, p, 0, nullptr, 0, 0, 0, 0, 0}; }
CopyEnd device_end(CUdeviceptr p) { return CopyEnd{CopyEnd::Kind::Device, nullptr, p, nullptr, 0, 0, 0, 0, 0}; }

// Array to array: row segments of both, as long as neither row ends; whole boxes when the two
// arrays cut the line alike.
CUresult array_to_array(CUarray dst, size_t dst_offset, CUarray src, size_t src_offset, size_t count, CUstream stream,
                        bool wait) {
  ArrayObject* d = array_of(dst);
  ArrayObject* s = array_of(src);
  if (d == nullptr || s == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (!inside(*d, dst_offset, count) || !inside(*s, src_offset, count)) return CUDA_ERROR_INVALID_VALUE;
  const ArrayExtent de = extent_of(*d), se = extent_of(*s);
  if (de.row_bytes == se.row_bytes && de.rows == se.rows && dst_offset == src_offset) {
    for (const LinearBox& b : linear_boxes(de.row_bytes, de.rows, dst_offset, count)) {
      const CopyEnd from{CopyEnd::Kind::Array, nullptr, 0, s, b.x, b.y, b.z, 0, 0};
      const CopyEnd to{CopyEnd::Kind::Array, nullptr, 0, d, b.x, b.y, b.z, 0, 0};
      if (CUresult r = copy_with_array(from, to, CopyExtent{b.width, b.height, b.depth}, stream, wait);
          r != CUDA_SUCCESS)
        return r;
    }
    return CUDA_SUCCESS;
  }
  for (size_t done = 0; done < count;) {
    const size_t so = src_offset + done, dof = dst_offset + done;
    const size_t sx = so % se.row_bytes, dx = dof % de.row_bytes;
    const size_t n = std::min({count - done, se.row_bytes - sx, de.row_bytes - dx});
    const size_t srow = so / se.row_bytes, drow = dof / de.row_bytes;
    const CopyEnd from{CopyEnd::Kind::Array, nullptr, 0, s, sx, srow % se.rows, srow / se.rows, 0, 0};
    const CopyEnd to{CopyEnd::Kind::Array, nullptr, 0, d, dx, drow % de.rows, drow / de.rows, 0, 0};
    if (CUresult r = copy_with_array(from, to, CopyExtent{n, 1, 1}, stream, wait); r != CUDA_SUCCESS) return r;
    done += n;
  }
  return CUDA_SUCCESS;
}

// A _ptds form: the copy on the calling thread's per-thread stream, waited for.
CUresult per_thread_waited(CUresult r) { return r != CUDA_SUCCESS ? r : cuStreamSynchronize(CU_STREAM_PER_THREAD); }

}  // namespace

VGPU_DRIVER_API CUresult cuMemcpyHtoA_v2(CUarray dst, size_t offset, const void* src, size_t count) {
  return guarded([&] { return linear_copy(dst, offset, host_end(src), count, true, nullptr, true); });
}
VGPU_DRIVER_API CUresult cuMemcpyHtoAAsync_v2(CUarray dst, size_t offset, const void* src, size_t count,
                                              CUstream stream) {
  return guarded([&] { return linear_copy(dst, offset, host_end(src), count, true, stream, false); });
}
VGPU_DRIVER_API CUresult cuMemcpyAtoH_v2(void* dst, CUarray src, size_t offset, size_t count) {
  return guarded([&] { return linear_copy(src, offset, host_end(dst), count, false, nullptr, true); });
}
VGPU_DRIVER_API CUresult cuMemcpyAtoHAsync_v2(void* dst, CUarray src, size_t offset, size_t count, CUstream stream) {
  return guarded([&] { return linear_copy(src, offset, host_end(dst), count, false, stream, false); });
}
VGPU_DRIVER_API CUresult cuMemcpyDtoA_v2(CUarray dst, size_t offset, CUdeviceptr src, size_t count) {
  return guarded([&] { return linear_copy(dst, offset, device_end(src), count, true, nullptr, true); });
}
VGPU_DRIVER_API CUresult cuMemcpyAtoD_v2(CUdeviceptr dst, CUarray src, size_t offset, size_t count) {
  return guarded([&] { return linear_copy(src, offset, device_end(dst), count, false, nullptr, true); });
}
VGPU_DRIVER_API CUresult cuMemcpyAtoA_v2(CUarray dst, size_t dst_offset, CUarray src, size_t src_offset,
                                         size_t count) {
  return guarded([&] { return array_to_array(dst, dst_offset, src, src_offset, count, nullptr, true); });
}

// Per-thread default stream forms (per_thread_api.cpp says why).
VGPU_DRIVER_API CUresult cuMemcpyHtoA_v2_ptds(CUarray dst, size_t offset, const void* src, size_t count) {
  return per_thread_waited(cuMemcpyHtoAAsync_v2(dst, offset, src, count, CU_STREAM_PER_THREAD));
}
VGPU_DRIVER_API CUresult cuMemcpyAtoH_v2_ptds(void* dst, CUarray src, size_t offset, size_t count) {
  return per_thread_waited(cuMemcpyAtoHAsync_v2(dst, src, offset, count, CU_STREAM_PER_THREAD));
}
VGPU_DRIVER_API CUresult cuMemcpyDtoA_v2_ptds(CUarray dst, size_t offset, CUdeviceptr src, size_t count) {
  return per_thread_waited(guarded(
      [&] { return linear_copy(dst, offset, device_end(src), count, true, CU_STREAM_PER_THREAD, false); }));
}
VGPU_DRIVER_API CUresult cuMemcpyAtoD_v2_ptds(CUdeviceptr dst, CUarray src, size_t offset, size_t count) {
  return per_thread_waited(guarded(
      [&] { return linear_copy(src, offset, device_end(dst), count, false, CU_STREAM_PER_THREAD, false); }));
}
VGPU_DRIVER_API CUresult cuMemcpyAtoA_v2_ptds(CUarray dst, size_t dst_offset, CUarray src, size_t src_offset,
                                              size_t count) {
  return per_thread_waited(guarded(
      [&] { return array_to_array(dst, dst_offset, src, src_offset, count, CU_STREAM_PER_THREAD, false); }));
}
VGPU_DRIVER_API CUresult cuMemcpyHtoAAsync_v2_ptsz(CUarray dst, size_t offset, const void* src, size_t count,
                                                   CUstream stream) {
  return cuMemcpyHtoAAsync_v2(dst, offset, src, count, per_thread(stream));
}
VGPU_DRIVER_API CUresult cuMemcpyAtoHAsync_v2_ptsz(void* dst, CUarray src, size_t offset, size_t count,
                                                   CUstream stream) {
  return cuMemcpyAtoHAsync_v2(dst, src, offset, count, per_thread(stream));
}
