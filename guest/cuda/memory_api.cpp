// Copies and memsets over device memory (copies.h says how the bytes travel).
#include <cstring>

#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/copies.h"
#include "guest/cuda/host_memory.h"
#include "guest/cuda/managed_memory.h"
#include "guest/cuda/streams.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace vgpu::cuda {
namespace {

// A memset into pinned host memory has finished when the call returns, as the driver's
// synchronous memsets do there (an asynchronous one only loses its overlap: a rare case).
CUresult posted_memset(CUresult posted, bool host, CUstream stream) {
  if (posted != CUDA_SUCCESS || !host) return posted;
  return cuStreamSynchronize(stream);
}

CUresult set_bytes(CUdeviceptr dst, unsigned char value, size_t count, CUstream stream) {
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  bool host = false;
  if (CUresult r = gpu_address_of(*ch, &dst, count, &host); r != CUDA_SUCCESS) return r;
  proto::MemsetRequest request{dst, count, 0, value, 0};
  if (!wire_stream(stream, &request.stream)) return CUDA_ERROR_INVALID_HANDLE;
  if (count == 0) return CUDA_SUCCESS;
  // Managed memory: the CPU's writes reach the GPU before the memset overwrites them.
  if (find_managed(dst)) {
    if (CUresult r = before_gpu_work_on(request.stream); r != CUDA_SUCCESS) return r;
  }
  return posted_memset(to_cu_result(ch->post(proto::CallId::Memset, {{&request, sizeof request}})), host, stream);
}

// A pitched memset of 8-, 16- or 32-bit values: one posted message.
CUresult set_rows(CUdeviceptr dst, size_t pitch, uint32_t value, unsigned width, size_t per_row, size_t rows,
                  CUstream stream) {
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  bool host = false;
  if (CUresult r = gpu_address_of(*ch, &dst, rows * pitch, &host); r != CUDA_SUCCESS) return r;
  proto::Memset2DRequest request{dst, pitch, per_row, rows, 0, value, width};
  if (!wire_stream(stream, &request.stream)) return CUDA_ERROR_INVALID_HANDLE;
  if (dst % width != 0 || (rows > 1 && (pitch % width != 0 || per_row * width > pitch)))
    return CUDA_ERROR_INVALID_VALUE;
  if (per_row == 0 || rows == 0) return CUDA_SUCCESS;
  if (find_managed(dst)) {
    if (CUresult r = before_gpu_work_on(request.stream); r != CUDA_SUCCESS) return r;
  }
  return posted_memset(to_cu_result(guest::post<proto::CallId::Memset2D>(*ch, request)), host, stream);
}

// 16- and 32-bit memsets whose bytes are all alike are byte memsets (the common zeroing case,
// and the cheaper message); others are one-row pitched memsets.
CUresult set_words(CUdeviceptr dst, uint32_t value, unsigned width, size_t count, CUstream stream) {
  const unsigned char byte = value & 0xffu;
  bool bytes_alike = true;
  for (unsigned i = 1; i < width; ++i) bytes_alike = bytes_alike && ((value >> (8 * i)) & 0xffu) == byte;
  if (dst % width != 0) return CUDA_ERROR_INVALID_VALUE;
  if (bytes_alike) return set_bytes(dst, byte, count * width, stream);
  return set_rows(dst, count * width, value, width, count, 1, stream);
}

}  // namespace
}  // namespace vgpu::cuda

VGPU_DRIVER_API CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t size) {
  return guarded([&] { return to_device(dst, src, size, nullptr, true); });
}
VGPU_DRIVER_API CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t size, CUstream stream) {
  return guarded([&] { return to_device(dst, src, size, stream, false); });
}
VGPU_DRIVER_API CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t size) {
  return guarded([&] { return to_host(dst, src, size, nullptr, true); });
}
VGPU_DRIVER_API CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t size, CUstream stream) {
  return guarded([&] { return to_host(dst, src, size, stream, false); });
}
VGPU_DRIVER_API CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t size) {
  return guarded([&] { return device_to_device(dst, src, size, nullptr, true); });
}
VGPU_DRIVER_API CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t size, CUstream stream) {
  return guarded([&] { return device_to_device(dst, src, size, stream, false); });
}
VGPU_DRIVER_API CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char value, size_t count) {
  return guarded([&] { return set_bytes(dst, value, count, nullptr); });
}
VGPU_DRIVER_API CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char value, size_t count, CUstream stream) {
  return guarded([&] { return set_bytes(dst, value, count, stream); });
}
VGPU_DRIVER_API CUresult cuMemsetD16_v2(CUdeviceptr dst, unsigned short value, size_t count) {
  return guarded([&] { return set_words(dst, value, 2, count, nullptr); });
}
VGPU_DRIVER_API CUresult cuMemsetD32_v2(CUdeviceptr dst, unsigned int value, size_t count) {
  return guarded([&] { return set_words(dst, value, 4, count, nullptr); });
}
VGPU_DRIVER_API CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned int value, size_t count, CUstream stream) {
  return guarded([&] { return set_words(dst, value, 4, count, stream); });
}

// Unified copies: each end is device memory when it lies in an allocation of this process,
// host memory otherwise.
namespace {
CUresult unified_copy(CUdeviceptr dst, CUdeviceptr src, size_t size, CUstream stream, bool wait) {
  const bool dst_device = is_device_pointer(dst);
  const bool src_device = is_device_pointer(src);
  if (dst_device && src_device) return device_to_device(dst, src, size, stream, wait);
  if (dst_device) return to_device(dst, reinterpret_cast<const void*>(src), size, stream, wait);
  if (src_device) return to_host(reinterpret_cast<void*>(dst), src, size, stream, wait);
  if (size != 0) std::memmove(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), size);
  return CUDA_SUCCESS;
}
}  // namespace

VGPU_DRIVER_API CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t size) {
  return guarded([&] { return unified_copy(dst, src, size, nullptr, true); });
}
VGPU_DRIVER_API CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t size, CUstream stream) {
  return guarded([&] { return unified_copy(dst, src, size, stream, false); });
}

// Peer copies: vgpud knows which device each range lies on and copies between them.
VGPU_DRIVER_API CUresult cuMemcpyPeer(CUdeviceptr dst, CUcontext dst_ctx, CUdeviceptr src, CUcontext src_ctx,
                                      size_t size) {
  if (context_from_handle(dst_ctx) == nullptr || context_from_handle(src_ctx) == nullptr)
    return CUDA_ERROR_INVALID_CONTEXT;
  return guarded([&] { return device_to_device(dst, src, size, nullptr, true); });
}
VGPU_DRIVER_API CUresult cuMemcpyPeerAsync(CUdeviceptr dst, CUcontext dst_ctx, CUdeviceptr src, CUcontext src_ctx,
                                           size_t size, CUstream stream) {
  if (context_from_handle(dst_ctx) == nullptr || context_from_handle(src_ctx) == nullptr)
    return CUDA_ERROR_INVALID_CONTEXT;
  return guarded([&] { return device_to_device(dst, src, size, stream, false); });
}
VGPU_DRIVER_API CUresult cuMemsetD16Async(CUdeviceptr dst, unsigned short value, size_t count, CUstream stream) {
  return guarded([&] { return set_words(dst, value, 2, count, stream); });
}

VGPU_DRIVER_API CUresult cuMemsetD2D8_v2(CUdeviceptr dst, size_t pitch, unsigned char value, size_t width, size_t height) {
  return guarded([&] { return set_rows(dst, pitch, value, 1, width, height, nullptr); });
}
VGPU_DRIVER_API CUresult cuMemsetD2D8Async(CUdeviceptr dst, size_t pitch, unsigned char value, size_t width,
                                           size_t height, CUstream stream) {
  return guarded([&] { return set_rows(dst, pitch, value, 1, width, height, stream); });
}
VGPU_DRIVER_API CUresult cuMemsetD2D16_v2(CUdeviceptr dst, size_t pitch, unsigned short value, size_t width, size_t height) {
  return guarded([&] { return set_rows(dst, pitch, value, 2, width, height, nullptr); });
}
VGPU_DRIVER_API CUresult cuMemsetD2D16Async(CUdeviceptr dst, size_t pitch, unsigned short value, size_t width,
                                            size_t height, CUstream stream) {
  return guarded([&] { return set_rows(dst, pitch, value, 2, width, height, stream); });
}
VGPU_DRIVER_API CUresult cuMemsetD2D32_v2(CUdeviceptr dst, size_t pitch, unsigned int value, size_t width, size_t height) {
  return guarded([&] { return set_rows(dst, pitch, value, 4, width, height, nullptr); });
}
VGPU_DRIVER_API CUresult cuMemsetD2D32Async(CUdeviceptr dst, size_t pitch, unsigned int value, size_t width,
                                            size_t height, CUstream stream) {
  return guarded([&] { return set_rows(dst, pitch, value, 4, width, height, stream); });
}
