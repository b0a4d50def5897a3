// Copies to, from and between CUDA arrays (docs/design.md §23): cudaMemcpy2DToArray,
// cudaMemcpy2DFromArray, cudaMemcpy2DArrayToArray, the 1D cudaMemcpyToArray / FromArray /
// ArrayToArray (an array read as its rows one after the other, from (wOffset, hOffset)), cudaMemcpy3D
// with an array, and their asynchronous and per-thread forms. Each is the driver's 3D copy with
// CU_MEMORYTYPE_ARRAY ends (the driver shim picks how the bytes travel), or cuMemcpyAtoA.
#include <cuda.h>

#include <optional>

#include "guest/client/log.h"
#include "guest/cuda/array_linear.h"
#include "guest/cudart/array_copy.h"
#include "guest/cudart/channel_format.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/pointer_class.h"
#include "guest/cudart/streams.h"

extern "C" CUresult CUDAAPI cuMemcpyAtoA_v2_ptds(CUarray dst, size_t dst_offset, CUarray src, size_t src_offset,
                                                size_t count);

namespace vgpu::cudart {
namespace {

// What a stream-ordered call is given (as pitched.cpp's).
struct Order {
  cudaStream_t stream;
  bool per_thread_default;
  bool async;
};
constexpr Order kSync{nullptr, false, false};
constexpr Order kSyncPerThread{nullptr, true, false};

CUarray driver(cudaArray_const_t a) { return reinterpret_cast<CUarray>(const_cast<cudaArray_t>(a)); }

cudaError_t run(const CUDA_MEMCPY3D& m, const Order& o) {
  if (!o.async && !o.per_thread_default) return to_cuda_error(cuMemcpy3D(&m));
  const CUstream s = driver_stream(o.stream, o.per_thread_default);
  CUresult r = cuMemcpy3DAsync(&m, s);
  if (r == CUDA_SUCCESS && !o.async) r = cuStreamSynchronize(s);
  return to_cuda_error(r);
}

// Whether the linear end of a copy with an array is device memory, from the copy's kind (the
// array counts as device memory); nothing for a kind that does not fit (cudaErrorInvalidMemcpyDirection).
std::optional<bool> linear_is_device(cudaMemcpyKind kind, const void* linear, bool linear_is_source) {
  const PtrKind other = pointer_kind(linear);
  const std::optional<Direction> d = linear_is_source ? copy_direction(kind, PtrKind::Device, other)
                                                      : copy_direction(kind, other, PtrKind::Device);
  if (!d || *d == Direction::HostToHost) return std::nullopt;
  return *d == Direction::DeviceToDevice;
}

void set_source(CUDA_MEMCPY3D& m, const void* p, bool device, size_t x, size_t y, size_t z, size_t pitch, size_t rows) {
  m.srcMemoryType = device ? CU_MEMORYTYPE_DEVICE : CU_MEMORYTYPE_HOST;
  if (device) m.srcDevice = reinterpret_cast<CUdeviceptr>(p);
  else m.srcHost = p;
  m.srcXInBytes = x, m.srcY = y, m.srcZ = z, m.srcPitch = pitch, m.srcHeight = rows;
}
void set_destination(CUDA_MEMCPY3D& m, void* p, bool device, size_t x, size_t y, size_t z, size_t pitch, size_t rows) {
  m.dstMemoryType = device ? CU_MEMORYTYPE_DEVICE : CU_MEMORYTYPE_HOST;
  if (device) m.dstDevice = reinterpret_cast<CUdeviceptr>(p);
  else m.dstHost = p;
  m.dstXInBytes = x, m.dstY = y, m.dstZ = z, m.dstPitch = pitch, m.dstHeight = rows;
}
void set_source_array(CUDA_MEMCPY3D& m, cudaArray_const_t a, size_t x, size_t y, size_t z) {
  m.srcMemoryType = CU_MEMORYTYPE_ARRAY;
  m.srcArray = driver(a);
  m.srcXInBytes = x, m.srcY = y, m.srcZ = z;
}
void set_destination_array(CUDA_MEMCPY3D& m, cudaArray_const_t a, size_t x, size_t y, size_t z) {
  m.dstMemoryType = CU_MEMORYTYPE_ARRAY;
  m.dstArray = driver(a);
  m.dstXInBytes = x, m.dstY = y, m.dstZ = z;
}

// cudaMemcpy2DToArray / FromArray: `array`'s box at (x bytes, y) and a pitched buffer.
cudaError_t copy_2d(cudaArray_const_t array, size_t x, size_t y, void* linear, size_t pitch, size_t width,
                    size_t height, cudaMemcpyKind kind, bool to_array, const Order& order) {
  return context_call([&](Runtime&) {
    if (width > pitch) return cudaErrorInvalidPitchValue;
    if (width == 0 || height == 0) return cudaSuccess;
    if (array == nullptr || linear == nullptr) return cudaErrorInvalidValue;
    const std::optional<bool> device = linear_is_device(kind, linear, to_array);
    if (!device) return cudaErrorInvalidMemcpyDirection;
    CUDA_MEMCPY3D m{};
    if (to_array) {
      set_source(m, linear, *device, 0, 0, 0, pitch, height);
      set_destination_array(m, array, x, y, 0);
    } else {
      set_source_array(m, array, x, y, 0);
      set_destination(m, linear, *device, 0, 0, 0, pitch, height);
    }
    m.WidthInBytes = width, m.Height = height, m.Depth = 1;
    return run(m, order);
  });
}

// The array's rows and a row's bytes, and where (x bytes, y) lies in its line of bytes.
struct Line {
  size_t row_bytes = 0, rows = 0, total = 0, offset = 0;
};
cudaError_t line_of(cudaArray_const_t array, size_t x, size_t y, Line* out) {
  CUDA_ARRAY3D_DESCRIPTOR d{};
  if (CUresult r = cuArray3DGetDescriptor(&d, driver(array)); r != CUDA_SUCCESS) return to_cuda_error(r);
  out->row_bytes = d.Width * element_size(array);
  out->rows = d.Height != 0 ? d.Height : 1;
  out->total = out->row_bytes * out->rows * (d.Depth != 0 ? d.Depth : 1);
  if (y >= out->rows || x >= out->row_bytes) return cudaErrorInvalidValue;
  out->offset = y * out->row_bytes + x;
  return cudaSuccess;
}

// cudaMemcpyToArray / FromArray: `count` bytes of the array's line from (x, y) and a buffer.
cudaError_t copy_linear(cudaArray_const_t array, size_t x, size_t y, void* linear, size_t count, cudaMemcpyKind kind,
                        bool to_array, const Order& order) {
  return context_call([&](Runtime&) {
    if (count == 0) return cudaSuccess;
    if (array == nullptr || linear == nullptr) return cudaErrorInvalidValue;
    Line line;
    if (cudaError_t e = line_of(array, x, y, &line); e != cudaSuccess) return e;
    if (count > line.total - line.offset) return cudaErrorInvalidValue;
    const std::optional<bool> device = linear_is_device(kind, linear, to_array);
    if (!device) return cudaErrorInvalidMemcpyDirection;
    for (const vgpu::cuda::LinearBox& b : vgpu::cuda::linear_boxes(line.row_bytes, line.rows, line.offset, count)) {
      CUDA_MEMCPY3D m{};
      auto* at = static_cast<uint8_t*>(linear) + b.at;
      if (to_array) {
        set_source(m, at, *device, 0, 0, 0, line.row_bytes, line.rows);
        set_destination_array(m, array, b.x, b.y, b.z);
      } else {
        set_source_array(m, array, b.x, b.y, b.z);
        set_destination(m, at, *device, 0, 0, 0, line.row_bytes, line.rows);
      }
      m.WidthInBytes = b.width, m.Height = b.height, m.Depth = b.depth;
      if (cudaError_t e = run(m, order); e != cudaSuccess) return e;
    }
    return cudaSuccess;
  });
}

bool device_to_device(cudaMemcpyKind kind) { return kind == cudaMemcpyDeviceToDevice || kind == cudaMemcpyDefault; }

cudaError_t array_to_array_2d(cudaArray_t dst, size_t dst_x, size_t dst_y, cudaArray_const_t src, size_t src_x,
                              size_t src_y, size_t width, size_t height, cudaMemcpyKind kind, const Order& order) {
  return context_call([&](Runtime&) {
    if (!device_to_device(kind)) return cudaErrorInvalidMemcpyDirection;
    if (width == 0 || height == 0) return cudaSuccess;
    if (dst == nullptr || src == nullptr) return cudaErrorInvalidValue;
    CUDA_MEMCPY3D m{};
    set_source_array(m, src, src_x, src_y, 0);
    set_destination_array(m, dst, dst_x, dst_y, 0);
    m.WidthInBytes = width, m.Height = height, m.Depth = 1;
    return run(m, order);
  });
}

cudaError_t array_to_array(cudaArray_t dst, size_t dst_x, size_t dst_y, cudaArray_const_t src, size_t src_x,
                           size_t src_y, size_t count, cudaMemcpyKind kind, bool per_thread) {
  return context_call([&](Runtime&) {
    if (!device_to_device(kind)) return cudaErrorInvalidMemcpyDirection;
    if (count == 0) return cudaSuccess;
    if (dst == nullptr || src == nullptr) return cudaErrorInvalidValue;
    Line to, from;
    if (cudaError_t e = line_of(dst, dst_x, dst_y, &to); e != cudaSuccess) return e;
    if (cudaError_t e = line_of(src, src_x, src_y, &from); e != cudaSuccess) return e;
    return to_cuda_error(per_thread ? cuMemcpyAtoA_v2_ptds(driver(dst), to.offset, driver(src), from.offset, count)
                                    : cuMemcpyAtoA(driver(dst), to.offset, driver(src), from.offset, count));
  });
}

}  // namespace

cudaError_t copy_3d_with_array(const cudaMemcpy3DParms& p, cudaStream_t stream, bool per_thread_default, bool async) {
  if ((p.srcArray != nullptr && p.srcPtr.ptr != nullptr) || (p.dstArray != nullptr && p.dstPtr.ptr != nullptr))
    return cudaErrorInvalidValue;
  if (p.extent.width == 0 || p.extent.height == 0 || p.extent.depth == 0) return cudaSuccess;
  // Positions and the width count the array's elements (a buffer's are bytes).
  const size_t src_element = p.srcArray != nullptr ? element_size(p.srcArray) : 1;
  const size_t dst_element = p.dstArray != nullptr ? element_size(p.dstArray) : 1;
  if (src_element == 0 || dst_element == 0) return cudaErrorInvalidResourceHandle;
  CUDA_MEMCPY3D m{};
  if (p.srcArray != nullptr && p.dstArray != nullptr) {
    if (!device_to_device(p.kind)) return cudaErrorInvalidMemcpyDirection;
  }
  if (p.srcArray != nullptr) {
    set_source_array(m, p.srcArray, p.srcPos.x * src_element, p.srcPos.y, p.srcPos.z);
  } else {
    const std::optional<bool> device = linear_is_device(p.kind, p.srcPtr.ptr, true);
    if (p.srcPtr.ptr == nullptr) return cudaErrorInvalidValue;
    if (!device) return cudaErrorInvalidMemcpyDirection;
    set_source(m, p.srcPtr.ptr, *device, p.srcPos.x, p.srcPos.y, p.srcPos.z, p.srcPtr.pitch, p.srcPtr.ysize);
  }
  if (p.dstArray != nullptr) {
    set_destination_array(m, p.dstArray, p.dstPos.x * dst_element, p.dstPos.y, p.dstPos.z);
  } else {
    const std::optional<bool> device = linear_is_device(p.kind, p.dstPtr.ptr, false);
    if (p.dstPtr.ptr == nullptr) return cudaErrorInvalidValue;
    if (!device) return cudaErrorInvalidMemcpyDirection;
    set_destination(m, p.dstPtr.ptr, *device, p.dstPos.x, p.dstPos.y, p.dstPos.z, p.dstPtr.pitch, p.dstPtr.ysize);
  }
  m.WidthInBytes = p.extent.width * (p.srcArray != nullptr ? src_element : dst_element);
  m.Height = p.extent.height;
  m.Depth = p.extent.depth;
  return run(m, Order{stream, per_thread_default, async});
}

}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

#define VGPU_TO_ARRAY_2D(name, order)                                                                                \
  VGPU_EXPORT cudaError_t name(cudaArray_t dst, size_t wOffset, size_t hOffset, const void* src, size_t spitch,     \
                               size_t width, size_t height, cudaMemcpyKind kind) {                                   \
    trace_api(#name " dst=%p src=%p %zux%zu kind=%d", static_cast<void*>(dst), src, width, height,                  \
              static_cast<int>(kind));                                                                              \
    return copy_2d(dst, wOffset, hOffset, const_cast<void*>(src), spitch, width, height, kind, true, order);        \
  }
#define VGPU_TO_ARRAY_2D_ASYNC(name, per_thread)                                                                     \
  VGPU_EXPORT cudaError_t name(cudaArray_t dst, size_t wOffset, size_t hOffset, const void* src, size_t spitch,     \
                               size_t width, size_t height, cudaMemcpyKind kind, cudaStream_t stream) {              \
    trace_api(#name " dst=%p src=%p %zux%zu kind=%d", static_cast<void*>(dst), src, width, height,                  \
              static_cast<int>(kind));                                                                              \
    return copy_2d(dst, wOffset, hOffset, const_cast<void*>(src), spitch, width, height, kind, true,                \
                   Order{stream, per_thread, true});                                                                \
  }
VGPU_TO_ARRAY_2D(cudaMemcpy2DToArray, kSync)
VGPU_TO_ARRAY_2D(cudaMemcpy2DToArray_ptds, kSyncPerThread)
VGPU_TO_ARRAY_2D_ASYNC(cudaMemcpy2DToArrayAsync, false)
VGPU_TO_ARRAY_2D_ASYNC(cudaMemcpy2DToArrayAsync_ptsz, true)

#define VGPU_FROM_ARRAY_2D(name, order)                                                                              \
  VGPU_EXPORT cudaError_t name(void* dst, size_t dpitch, cudaArray_const_t src, size_t wOffset, size_t hOffset,     \
                               size_t width, size_t height, cudaMemcpyKind kind) {                                   \
    trace_api(#name " dst=%p %zux%zu kind=%d", dst, width, height, static_cast<int>(kind));                          \
    return copy_2d(src, wOffset, hOffset, dst, dpitch, width, height, kind, false, order);                          \
  }
#define VGPU_FROM_ARRAY_2D_ASYNC(name, per_thread)                                                                   \
  VGPU_EXPORT cudaError_t name(void* dst, size_t dpitch, cudaArray_const_t src, size_t wOffset, size_t hOffset,     \
                               size_t width, size_t height, cudaMemcpyKind kind, cudaStream_t stream) {              \
    trace_api(#name " dst=%p %zux%zu kind=%d", dst, width, height, static_cast<int>(kind));                          \
    return copy_2d(src, wOffset, hOffset, dst, dpitch, width, height, kind, false, Order{stream, per_thread, true}); \
  }
VGPU_FROM_ARRAY_2D(cudaMemcpy2DFromArray, kSync)
VGPU_FROM_ARRAY_2D(cudaMemcpy2DFromArray_ptds, kSyncPerThread)
VGPU_FROM_ARRAY_2D_ASYNC(cudaMemcpy2DFromArrayAsync, false)
VGPU_FROM_ARRAY_2D_ASYNC(cudaMemcpy2DFromArrayAsync_ptsz, true)

VGPU_EXPORT cudaError_t cudaMemcpy2DArrayToArray(cudaArray_t dst, size_t wOffsetDst, size_t hOffsetDst,
                                                 cudaArray_const_t src, size_t wOffsetSrc, size_t hOffsetSrc,
                                                 size_t width, size_t height, cudaMemcpyKind kind) {
  trace_api("cudaMemcpy2DArrayToArray %zux%zu", width, height);
  return array_to_array_2d(dst, wOffsetDst, hOffsetDst, src, wOffsetSrc, hOffsetSrc, width, height, kind, kSync);
}
VGPU_EXPORT cudaError_t cudaMemcpy2DArrayToArray_ptds(cudaArray_t dst, size_t wOffsetDst, size_t hOffsetDst,
                                                      cudaArray_const_t src, size_t wOffsetSrc, size_t hOffsetSrc,
                                                      size_t width, size_t height, cudaMemcpyKind kind) {
  trace_api("cudaMemcpy2DArrayToArray_ptds %zux%zu", width, height);
  return array_to_array_2d(dst, wOffsetDst, hOffsetDst, src, wOffsetSrc, hOffsetSrc, width, height, kind,
                           kSyncPerThread);
}

#define VGPU_TO_ARRAY(name, order)                                                                                   \
  VGPU_EXPORT cudaError_t name(cudaArray_t dst, size_t wOffset, size_t hOffset, const void* src, size_t count,      \
                               cudaMemcpyKind kind) {                                                                \
    trace_api(#name " dst=%p src=%p count=%zu kind=%d", static_cast<void*>(dst), src, count, static_cast<int>(kind)); \
    return copy_linear(dst, wOffset, hOffset, const_cast<void*>(src), count, kind, true, order);                     \
  }
#define VGPU_TO_ARRAY_ASYNC(name, per_thread)                                                                        \
  VGPU_EXPORT cudaError_t name(cudaArray_t dst, size_t wOffset, size_t hOffset, const void* src, size_t count,      \
                               cudaMemcpyKind kind, cudaStream_t stream) {                                           \
    trace_api(#name " dst=%p src=%p count=%zu kind=%d", static_cast<void*>(dst), src, count, static_cast<int>(kind)); \
    return copy_linear(dst, wOffset, hOffset, const_cast<void*>(src), count, kind, true,                             \
                       Order{stream, per_thread, true});                                                             \
  }
VGPU_TO_ARRAY(cudaMemcpyToArray, kSync)
VGPU_TO_ARRAY(cudaMemcpyToArray_ptds, kSyncPerThread)
VGPU_TO_ARRAY_ASYNC(cudaMemcpyToArrayAsync, false)
VGPU_TO_ARRAY_ASYNC(cudaMemcpyToArrayAsync_ptsz, true)

#define VGPU_FROM_ARRAY(name, order)                                                                                 \
  VGPU_EXPORT cudaError_t name(void* dst, cudaArray_const_t src, size_t wOffset, size_t hOffset, size_t count,      \
                               cudaMemcpyKind kind) {                                                                \
    trace_api(#name " dst=%p count=%zu kind=%d", dst, count, static_cast<int>(kind));                                \
    return copy_linear(src, wOffset, hOffset, dst, count, kind, false, order);                                       \
  }
#define VGPU_FROM_ARRAY_ASYNC(name, per_thread)                                                                      \
  VGPU_EXPORT cudaError_t name(void* dst, cudaArray_const_t src, size_t wOffset, size_t hOffset, size_t count,      \
                               cudaMemcpyKind kind, cudaStream_t stream) {                                           \
    trace_api(#name " dst=%p count=%zu kind=%d", dst, count, static_cast<int>(kind));                                \
    return copy_linear(src, wOffset, hOffset, dst, count, kind, false, Order{stream, per_thread, true});             \
  }
VGPU_FROM_ARRAY(cudaMemcpyFromArray, kSync)
VGPU_FROM_ARRAY(cudaMemcpyFromArray_ptds, kSyncPerThread)
VGPU_FROM_ARRAY_ASYNC(cudaMemcpyFromArrayAsync, false)
VGPU_FROM_ARRAY_ASYNC(cudaMemcpyFromArrayAsync_ptsz, true)

VGPU_EXPORT cudaError_t cudaMemcpyArrayToArray(cudaArray_t dst, size_t wOffsetDst, size_t hOffsetDst,
                                               cudaArray_const_t src, size_t wOffsetSrc, size_t hOffsetSrc,
                                               size_t count, cudaMemcpyKind kind) {
  trace_api("cudaMemcpyArrayToArray count=%zu", count);
  return array_to_array(dst, wOffsetDst, hOffsetDst, src, wOffsetSrc, hOffsetSrc, count, kind, false);
}
VGPU_EXPORT cudaError_t cudaMemcpyArrayToArray_ptds(cudaArray_t dst, size_t wOffsetDst, size_t hOffsetDst,
                                                    cudaArray_const_t src, size_t wOffsetSrc, size_t hOffsetSrc,
                                                    size_t count, cudaMemcpyKind kind) {
  trace_api("cudaMemcpyArrayToArray_ptds count=%zu", count);
  return array_to_array(dst, wOffsetDst, hOffsetDst, src, wOffsetSrc, hOffsetSrc, count, kind, true);
}
