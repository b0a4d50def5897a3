// Device memory: allocation, copies and memset. Copies from and to host memory go through the
// channel's staging rings, whatever the host memory is (the program's pages cannot be handed
// to vgpud's GPU): an asynchronous copy is therefore complete on return, which is what a
// program may rely on least and gets most.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_set>

#include "guest/cuda/api.h"
#include "guest/cuda/copies.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/streams.h"
#include "guest/cudart/address_map.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace vgpu::cuda {
namespace {

// The process's device allocations, so that a unified copy (cuMemcpy) can tell device
// pointers from host ones, as the driver tells them with unified addressing. Never destroyed.
vgpu::cudart::AddressMap& device_ranges() {
  static auto* m = new vgpu::cudart::AddressMap;
  return *m;
}

CUresult alloc(CUdeviceptr* out, size_t size) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (size == 0) return CUDA_ERROR_INVALID_VALUE;  // as the driver refuses it
  guest::Channel* ch = nullptr;
  Context* c = nullptr;
  if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
  const proto::MemAllocRequest request{size};
  proto::MemAllocReply reply{};
  const guest::CallResult r = ch->call(proto::CallId::MemAlloc, {{&request, sizeof request}},
                                       std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
  if (r.status != 0) return to_cu_result(r.status);
  *out = reply.device_ptr;
  device_ranges().insert(reply.device_ptr, size, c->device);
  return CUDA_SUCCESS;
}

CUresult free_memory(CUdeviceptr ptr) {
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  if (ptr == 0) return CUDA_SUCCESS;
  const proto::MemFreeRequest request{ptr};
  const CUresult r = to_cu_result(ch->call(proto::CallId::MemFree, {{&request, sizeof request}}, {}).status);
  if (r == CUDA_SUCCESS) device_ranges().erase(ptr);
  return r;
}

}  // namespace

bool is_device_pointer(CUdeviceptr p) { return device_ranges().find(p).has_value(); }

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

namespace {

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
}  // namespace vgpu::cuda

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

// Host memory the driver would page-lock. Guest pages cannot be handed to vgpud's GPU, so the
// memory is ordinary, page-aligned memory that copies stage like any other; what a program can
// observe (it is host memory, copies to and from it work, cuMemFreeHost frees it) holds.
// Mapped memory (a device pointer for it) is not offered.
namespace {

struct HostAllocations {
  std::mutex mutex;
  std::unordered_set<void*> live;
};

HostAllocations& host_allocations() {
  static HostAllocations* h = new HostAllocations;  // never destroyed (atexit callers)
  return *h;
}

CUresult host_alloc(void** out, size_t size, unsigned flags) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (flags & ~(CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_WRITECOMBINED))
    return CUDA_ERROR_INVALID_VALUE;
  if (init_status() != CUDA_SUCCESS) return init_status();
  if (current_context() == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  const size_t rounded = (std::max<size_t>(size, 1) + 4095) & ~size_t{4095};
  void* p = std::aligned_alloc(4096, rounded);
  if (p == nullptr) return CUDA_ERROR_OUT_OF_MEMORY;
  HostAllocations& h = host_allocations();
  std::lock_guard lock(h.mutex);
  h.live.insert(p);
  *out = p;
  return CUDA_SUCCESS;
}

}  // namespace

VGPU_DRIVER_API CUresult cuMemHostAlloc(void** out, size_t size, unsigned int flags) {
  return guarded([&] { return host_alloc(out, size, flags); });
}
VGPU_DRIVER_API CUresult cuMemAllocHost_v2(void** out, size_t size) {
  return guarded([&] { return host_alloc(out, size, CU_MEMHOSTALLOC_PORTABLE); });
}
VGPU_DRIVER_API CUresult cuMemFreeHost(void* p) {
  return guarded([&] {
    HostAllocations& h = host_allocations();
    {
      std::lock_guard lock(h.mutex);
      if (p == nullptr) return CUDA_SUCCESS;
      if (h.live.erase(p) == 0) return CUDA_ERROR_INVALID_VALUE;
    }
    std::free(p);
    return CUDA_SUCCESS;
  });
}

// Unified copies: each end is device memory when it lies in an allocation of this process,
// host memory otherwise.
namespace {
CUresult unified_copy(CUdeviceptr dst, CUdeviceptr src, size_t size, CUstream stream, bool wait) {
  const bool dst_device = is_device_pointer(dst);
  const bool src_device = is_device_pointer(src);
  if (dst_device && src_device) return device_to_device(dst, src, size, stream, wait);
  if (dst_device) return to_device(dst, reinterpret_cast<const void*>(src), size, stream, wait);
  if (src_device) return to_host(reinterpret_cast<void*>(dst), src, size, stream);
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
