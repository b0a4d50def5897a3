// Pitched memory: cudaMallocPitch and cudaMalloc3D, cudaMemcpy2D/3D and cudaMemset2D/3D, and
// their asynchronous and per-thread-stream forms, over the driver's pitched allocation, 2D/3D
// copies and 2D memsets. A 3D copy naming an array is array_copy.h's.
#include <cuda.h>

#include <cstdint>
#include <cstring>
#include <optional>

#include "guest/client/log.h"
#include "guest/cudart/array_copy.h"
#include "guest/cudart/copy3d.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/pointer_class.h"
#include "guest/cudart/streams.h"

namespace vgpu::cudart {
namespace {

// What a stream-ordered call is given: its stream, whether it is a _ptds/_ptsz entry point, and
// whether the host must wait for it (cudaMemcpy2D, not cudaMemcpy2DAsync).
struct Order {
  cudaStream_t stream;
  bool per_thread_default;
  bool async;
};

// The pitched allocation NVIDIA's runtime makes: rows of `width` bytes, each padded to the
// driver's pitch.
cudaError_t malloc_pitch(void** ptr, size_t* pitch, size_t width, size_t height) {
  return context_call([&](Runtime&) {
    if (ptr == nullptr || pitch == nullptr) return cudaErrorInvalidValue;
    *ptr = nullptr;
    if (width == 0 || height == 0) {
      *pitch = 0;
      return cudaSuccess;  // nothing is allocated, as CUDA does
    }
    CUdeviceptr p = 0;
    const CUresult r = cuMemAllocPitch(&p, pitch, width, height, 4);
    if (r == CUDA_SUCCESS) *ptr = reinterpret_cast<void*>(p);
    return r == CUDA_ERROR_INVALID_VALUE ? cudaErrorMemoryAllocation : to_cuda_error(r);
  });
}

// The rows of a host-to-host copy, done here as CUDA's runtime does them.
void copy_rows(uint8_t* dst, size_t dpitch, const uint8_t* src, size_t spitch, size_t width,
               size_t rows) {
  for (size_t y = 0; y < rows; ++y) std::memmove(dst + y * dpitch, src + y * spitch, width);
}

cudaError_t copy_3d(const Copy3D& c, const Order& order) {
  if (c.dst_x + c.width > c.dst_pitch || c.src_x + c.width > c.src_pitch) return cudaErrorInvalidPitchValue;
  if (c.width == 0 || c.height == 0 || c.depth == 0) return cudaSuccess;
  if (c.dst == nullptr || c.src == nullptr) return cudaErrorInvalidValue;
  const std::optional<Direction> direction = direction_of(c);
  if (!direction) return cudaErrorInvalidMemcpyDirection;
  if (*direction == Direction::HostToHost) {
    for (size_t z = 0; z < c.depth; ++z) {
      auto* dst = static_cast<uint8_t*>(c.dst) + ((c.dst_z + z) * c.dst_rows + c.dst_y) * c.dst_pitch + c.dst_x;
      const auto* src =
          static_cast<const uint8_t*>(c.src) + ((c.src_z + z) * c.src_rows + c.src_y) * c.src_pitch + c.src_x;
      copy_rows(dst, c.dst_pitch, src, c.src_pitch, c.width, c.height);
    }
    return cudaSuccess;
  }
  const CUDA_MEMCPY3D m = describe_copy(c, *direction);
  if (!order.async && !order.per_thread_default) return to_cuda_error(cuMemcpy3D(&m));
  const CUstream stream = driver_stream(order.stream, order.per_thread_default);
  CUresult r = cuMemcpy3DAsync(&m, stream);
  if (r == CUDA_SUCCESS && !order.async) r = cuStreamSynchronize(stream);
  return to_cuda_error(r);
}

cudaError_t memcpy_2d(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                      cudaMemcpyKind kind, const Order& order) {
  return context_call([&](Runtime&) {
    if (width > dpitch || width > spitch) return cudaErrorInvalidPitchValue;
    return copy_3d(Copy3D{dst, dpitch, height, 0, 0, 0, src, spitch, height, 0, 0, 0, width, height, 1, kind},
                   order);
  });
}

cudaError_t memcpy_3d(const cudaMemcpy3DParms* p, const Order& order) {
  return context_call([&](Runtime&) {
    if (p == nullptr) return cudaErrorInvalidValue;
    if (p->srcArray != nullptr || p->dstArray != nullptr)
      return copy_3d_with_array(*p, order.stream, order.per_thread_default, order.async);
    const cudaPitchedPtr& d = p->dstPtr;
    const cudaPitchedPtr& s = p->srcPtr;
    return copy_3d(Copy3D{d.ptr, d.pitch, d.ysize, p->dstPos.x, p->dstPos.y, p->dstPos.z, s.ptr, s.pitch,
                          s.ysize, p->srcPos.x, p->srcPos.y, p->srcPos.z, p->extent.width,
                          p->extent.height, p->extent.depth, p->kind},
                   order);
  });
}

// Memsets are stream-ordered and never waited for on device memory (as cudaMemset).
cudaError_t memset_3d(void* ptr, size_t pitch, size_t rows, int value, size_t width, size_t height,
                      size_t depth, const Order& order) {
  return context_call([&](Runtime&) {
    if (width > pitch) return cudaErrorInvalidPitchValue;
    if (width == 0 || height == 0 || depth == 0) return cudaSuccess;
    if (ptr == nullptr) return cudaErrorInvalidValue;
    const CUstream stream = driver_stream(order.stream, order.per_thread_default);
    const auto byte = static_cast<unsigned char>(value);
    const auto base = reinterpret_cast<CUdeviceptr>(ptr);
    for (size_t z = 0; z < depth; ++z) {
      const CUresult r = cuMemsetD2D8Async(base + z * rows * pitch, pitch, byte, width, height, stream);
      if (r != CUDA_SUCCESS) return to_cuda_error(r);
    }
    return cudaSuccess;
  });
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT cudaError_t cudaMallocPitch(void** devPtr, size_t* pitch, size_t width, size_t height) {
  trace_api("cudaMallocPitch width=%zu height=%zu", width, height);
  return malloc_pitch(devPtr, pitch, width, height);
}

VGPU_EXPORT cudaError_t cudaMalloc3D(cudaPitchedPtr* pitchedDevPtr, cudaExtent extent) {
  trace_api("cudaMalloc3D extent=%zux%zux%zu", extent.width, extent.height, extent.depth);
  if (pitchedDevPtr == nullptr) return finish_call(cudaErrorInvalidValue);
  size_t pitch = 0;
  void* ptr = nullptr;
  const cudaError_t e = malloc_pitch(&ptr, &pitch, extent.width, extent.height * extent.depth);
  if (e == cudaSuccess) *pitchedDevPtr = cudaPitchedPtr{ptr, pitch, extent.width, extent.height};
  return e;
}

#define VGPU_MEMCPY_2D(name, order)                                                                          \
  VGPU_EXPORT cudaError_t name(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,      \
                               size_t height, cudaMemcpyKind kind) {                                         \
    trace_api(#name " dst=%p src=%p %zux%zu kind=%d", dst, src, width, height, static_cast<int>(kind));      \
    return memcpy_2d(dst, dpitch, src, spitch, width, height, kind, order);                                  \
  }
#define VGPU_MEMCPY_2D_ASYNC(name, per_thread)                                                               \
  VGPU_EXPORT cudaError_t name(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,      \
                               size_t height, cudaMemcpyKind kind, cudaStream_t stream) {                    \
    trace_api(#name " dst=%p src=%p %zux%zu kind=%d stream=%p", dst, src, width, height,                      \
              static_cast<int>(kind), static_cast<void*>(stream));                                           \
    return memcpy_2d(dst, dpitch, src, spitch, width, height, kind, Order{stream, per_thread, true});        \
  }
VGPU_MEMCPY_2D(cudaMemcpy2D, (Order{nullptr, false, false}))
VGPU_MEMCPY_2D(cudaMemcpy2D_ptds, (Order{nullptr, true, false}))
VGPU_MEMCPY_2D_ASYNC(cudaMemcpy2DAsync, false)
VGPU_MEMCPY_2D_ASYNC(cudaMemcpy2DAsync_ptsz, true)

VGPU_EXPORT cudaError_t cudaMemcpy3D(const cudaMemcpy3DParms* p) {
  trace_api("cudaMemcpy3D");
  return memcpy_3d(p, Order{nullptr, false, false});
}
VGPU_EXPORT cudaError_t cudaMemcpy3D_ptds(const cudaMemcpy3DParms* p) {
  trace_api("cudaMemcpy3D_ptds");
  return memcpy_3d(p, Order{nullptr, true, false});
}
VGPU_EXPORT cudaError_t cudaMemcpy3DAsync(const cudaMemcpy3DParms* p, cudaStream_t stream) {
  trace_api("cudaMemcpy3DAsync stream=%p", static_cast<void*>(stream));
  return memcpy_3d(p, Order{stream, false, true});
}
VGPU_EXPORT cudaError_t cudaMemcpy3DAsync_ptsz(const cudaMemcpy3DParms* p, cudaStream_t stream) {
  trace_api("cudaMemcpy3DAsync_ptsz stream=%p", static_cast<void*>(stream));
  return memcpy_3d(p, Order{stream, true, true});
}

VGPU_EXPORT cudaError_t cudaMemset2D(void* devPtr, size_t pitch, int value, size_t width, size_t height) {
  trace_api("cudaMemset2D ptr=%p %zux%zu value=%d", devPtr, width, height, value);
  return memset_3d(devPtr, pitch, height, value, width, height, 1, Order{nullptr, false, false});
}
VGPU_EXPORT cudaError_t cudaMemset2D_ptds(void* devPtr, size_t pitch, int value, size_t width, size_t height) {
  trace_api("cudaMemset2D_ptds ptr=%p %zux%zu value=%d", devPtr, width, height, value);
  return memset_3d(devPtr, pitch, height, value, width, height, 1, Order{nullptr, true, false});
}
VGPU_EXPORT cudaError_t cudaMemset2DAsync(void* devPtr, size_t pitch, int value, size_t width, size_t height,
                                          cudaStream_t stream) {
  trace_api("cudaMemset2DAsync ptr=%p %zux%zu value=%d stream=%p", devPtr, width, height, value,
            static_cast<void*>(stream));
  return memset_3d(devPtr, pitch, height, value, width, height, 1, Order{stream, false, true});
}
VGPU_EXPORT cudaError_t cudaMemset2DAsync_ptsz(void* devPtr, size_t pitch, int value, size_t width,
                                               size_t height, cudaStream_t stream) {
  trace_api("cudaMemset2DAsync_ptsz ptr=%p %zux%zu value=%d stream=%p", devPtr, width, height, value,
            static_cast<void*>(stream));
  return memset_3d(devPtr, pitch, height, value, width, height, 1, Order{stream, true, true});
}

VGPU_EXPORT cudaError_t cudaMemset3D(cudaPitchedPtr p, int value, cudaExtent extent) {
  trace_api("cudaMemset3D ptr=%p %zux%zux%zu value=%d", p.ptr, extent.width, extent.height, extent.depth, value);
  return memset_3d(p.ptr, p.pitch, p.ysize, value, extent.width, extent.height, extent.depth,
                   Order{nullptr, false, false});
}
VGPU_EXPORT cudaError_t cudaMemset3D_ptds(cudaPitchedPtr p, int value, cudaExtent extent) {
  trace_api("cudaMemset3D_ptds ptr=%p %zux%zux%zu value=%d", p.ptr, extent.width, extent.height, extent.depth,
            value);
  return memset_3d(p.ptr, p.pitch, p.ysize, value, extent.width, extent.height, extent.depth,
                   Order{nullptr, true, false});
}
VGPU_EXPORT cudaError_t cudaMemset3DAsync(cudaPitchedPtr p, int value, cudaExtent extent, cudaStream_t stream) {
  trace_api("cudaMemset3DAsync ptr=%p value=%d stream=%p", p.ptr, value, static_cast<void*>(stream));
  return memset_3d(p.ptr, p.pitch, p.ysize, value, extent.width, extent.height, extent.depth,
                   Order{stream, false, true});
}
VGPU_EXPORT cudaError_t cudaMemset3DAsync_ptsz(cudaPitchedPtr p, int value, cudaExtent extent,
                                               cudaStream_t stream) {
  trace_api("cudaMemset3DAsync_ptsz ptr=%p value=%d stream=%p", p.ptr, value, static_cast<void*>(stream));
  return memset_3d(p.ptr, p.pitch, p.ysize, value, extent.width, extent.height, extent.depth,
                   Order{stream, true, true});
}
