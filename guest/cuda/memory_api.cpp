// Device memory: allocation, copies and memset. Copies from and to host memory go through the
// channel's staging rings, whatever the host memory is (the program's pages cannot be handed
// to vgpud's GPU): an asynchronous copy is therefore complete on return, which is what a
// program may rely on least and gets most.
#include "guest/cuda/api.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/streams.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace {

CUresult alloc(CUdeviceptr* out, size_t size) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (size == 0) return CUDA_ERROR_INVALID_VALUE;  // as the driver refuses it
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  const proto::MemAllocRequest request{size};
  proto::MemAllocReply reply{};
  const guest::CallResult r = ch->call(proto::CallId::MemAlloc, {{&request, sizeof request}},
                                       std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
  if (r.status != 0) return to_cu_result(r.status);
  *out = reply.device_ptr;
  return CUDA_SUCCESS;
}

CUresult free_memory(CUdeviceptr ptr) {
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  if (ptr == 0) return CUDA_SUCCESS;
  const proto::MemFreeRequest request{ptr};
  return to_cu_result(ch->call(proto::CallId::MemFree, {{&request, sizeof request}}, {}).status);
}

CUresult to_device(CUdeviceptr dst, const void* src, size_t size, CUstream stream, bool wait) {
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  uint64_t wire = 0;
  if (!wire_stream(stream, &wire)) return CUDA_ERROR_INVALID_HANDLE;
  if (size == 0) return CUDA_SUCCESS;
  if (src == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return to_cu_result(ch->copy_to_device(dst, src, size, wire, wait));
}

CUresult to_host(void* dst, CUdeviceptr src, size_t size, CUstream stream) {
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  uint64_t wire = 0;
  if (!wire_stream(stream, &wire)) return CUDA_ERROR_INVALID_HANDLE;
  if (size == 0) return CUDA_SUCCESS;
  if (dst == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return to_cu_result(ch->copy_from_device(dst, src, size, wire));
}

CUresult device_to_device(CUdeviceptr dst, CUdeviceptr src, size_t size, CUstream stream, bool wait) {
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  proto::MemcpyDtoDRequest request{dst, src, size, 0};
  if (!wire_stream(stream, &request.stream)) return CUDA_ERROR_INVALID_HANDLE;
  if (size == 0) return CUDA_SUCCESS;
  if (!wait) return to_cu_result(ch->post(proto::CallId::MemcpyDtoD, {{&request, sizeof request}}));
  return to_cu_result(ch->call(proto::CallId::MemcpyDtoD, {{&request, sizeof request}}, {}, proto::kFlagSynchronize).status);
}

CUresult set_bytes(CUdeviceptr dst, unsigned char value, size_t count, CUstream stream) {
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  proto::MemsetRequest request{dst, count, 0, value, 0};
  if (!wire_stream(stream, &request.stream)) return CUDA_ERROR_INVALID_HANDLE;
  if (count == 0) return CUDA_SUCCESS;
  return to_cu_result(ch->post(proto::CallId::Memset, {{&request, sizeof request}}));
}

// Wider memsets whose bytes are all alike are byte memsets; others need a call vgpu does not
// have yet.
CUresult set_words(CUdeviceptr dst, uint32_t value, unsigned width, size_t count, CUstream stream) {
  const unsigned char byte = value & 0xffu;
  for (unsigned i = 1; i < width; ++i)
    if (((value >> (8 * i)) & 0xffu) != byte) return CUDA_ERROR_NOT_SUPPORTED;
  if (dst % width != 0) return CUDA_ERROR_INVALID_VALUE;
  return set_bytes(dst, byte, count * width, stream);
}

}  // namespace

VGPU_DRIVER_API CUresult cuMemAlloc_v2(CUdeviceptr* out, size_t size) { return guarded([&] { return alloc(out, size); }); }
VGPU_DRIVER_API CUresult cuMemFree_v2(CUdeviceptr ptr) { return guarded([&] { return free_memory(ptr); }); }

VGPU_DRIVER_API CUresult cuMemGetInfo_v2(size_t* free_bytes, size_t* total) {
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    proto::MemGetInfoReply reply{};
    const guest::CallResult r =
        ch->call(proto::CallId::MemGetInfo, {}, std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
    if (r.status != 0) return to_cu_result(r.status);
    if (free_bytes != nullptr) *free_bytes = reply.free_bytes;
    if (total != nullptr) *total = reply.total_bytes;
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t size) {
  return guarded([&] { return to_device(dst, src, size, nullptr, true); });
}
VGPU_DRIVER_API CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t size, CUstream stream) {
  return guarded([&] { return to_device(dst, src, size, stream, false); });
}
VGPU_DRIVER_API CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t size) {
  return guarded([&] { return to_host(dst, src, size, nullptr); });
}
VGPU_DRIVER_API CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t size, CUstream stream) {
  return guarded([&] { return to_host(dst, src, size, stream); });
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
