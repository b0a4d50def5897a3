// cudaMemcpy and cudaMemcpyAsync, and the copy engine they share with the symbol copies.
//
// Paths, by direction and where the host side lives:
//   H2D  heap      MemcpyHtoDShared: vgpud DMAs straight from the shared heap
//        pageable  <= kMaxInlineCopy: MemcpyHtoDInline, data inside the message;
//                  larger: staged through the upload ring (Channel::copy_to_device)
//   D2H  heap      MemcpyDtoHShared
//        pageable  <= kMaxInlineCopy: MemcpyDtoHInline, data in the reply;
//                  larger: staged through the download ring (Channel::copy_from_device)
//   D2D            MemcpyDtoD, posted: stream-ordered, like CUDA's D2D copies
//   H2H            memcpy here
// cudaMemcpy waits for its copy; cudaMemcpyAsync posts what it can. A pageable D2H copy
// cannot be async (the bytes must land in memory only this process can write), so it runs
// synchronously on its stream, as CUDA does with pageable memory.
#include "guest/cudart/copy.h"

#include <cstring>
#include <span>

#include "guest/client/log.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/pointer_class.h"
#include "guest/cudart/status_map.h"
#include "guest/cudart/streams.h"
#include "vgpu/protocol/limits.h"

namespace vgpu::cudart {
namespace {

using proto::CallId;

// Synchronous calls wait for the stream too, which turns the copy into cudaMemcpy's.
constexpr uint16_t kSyncFlags = proto::kFlagNeedsReply | proto::kFlagSynchronize;

uint64_t address_of(const void* p) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }

cudaError_t host_to_device(guest::Channel& ch, uint64_t dst, const void* src, PtrClass from, uint64_t n,
                           uint64_t stream, bool async) {
  if (from.kind == PtrKind::Heap) {
    proto::MemcpySharedRequest request{dst, from.heap_offset, n, stream};
    if (async) return to_cuda_error(ch.post(CallId::MemcpyHtoDShared, {{&request, sizeof request}}));
    return to_cuda_error(ch.call(CallId::MemcpyHtoDShared, {{&request, sizeof request}}, {}, kSyncFlags).status);
  }
  if (n <= limits::kMaxInlineCopy) {
    // The data is copied into the message, so even the async form may return at once.
    proto::MemcpyHtoDRequest request{dst, n, stream};
    std::initializer_list<guest::Part> parts = {{&request, sizeof request}, {src, static_cast<uint32_t>(n)}};
    if (async) return to_cuda_error(ch.post(CallId::MemcpyHtoDInline, parts));
    return to_cuda_error(ch.call(CallId::MemcpyHtoDInline, parts, {}).status);
  }
  return to_cuda_error(ch.copy_to_device(dst, src, n, stream, /*wait=*/!async));
}

cudaError_t device_to_host(guest::Channel& ch, void* dst, PtrClass to, uint64_t src, uint64_t n, uint64_t stream,
                           bool async) {
  if (to.kind == PtrKind::Heap) {
    proto::MemcpySharedRequest request{src, to.heap_offset, n, stream};
    if (async) return to_cuda_error(ch.post(CallId::MemcpyDtoHShared, {{&request, sizeof request}}));
    return to_cuda_error(ch.call(CallId::MemcpyDtoHShared, {{&request, sizeof request}}, {}, kSyncFlags).status);
  }
  if (n <= limits::kMaxInlineCopy) {
    proto::MemcpyDtoHRequest request{src, n, stream};
    guest::CallResult r = ch.call(CallId::MemcpyDtoHInline, {{&request, sizeof request}},
                                  std::span(static_cast<uint8_t*>(dst), n));
    if (r.status != 0) return to_cuda_error(r.status);
    return r.payload_size == n ? cudaSuccess : cudaErrorUnknown;
  }
  return to_cuda_error(ch.copy_from_device(dst, src, n, stream));
}

cudaError_t memcpy_api(void* dst, const void* src, size_t count, cudaMemcpyKind kind, cudaStream_t stream,
                       bool per_thread_default, bool async) {
  return remote_call([&](Runtime& rt) {
    return copy_memory(rt, CopyArgs{dst, src, count, kind, stream, per_thread_default, async});
  });
}

}  // namespace

cudaError_t copy_memory(Runtime& rt, const CopyArgs& a) {
  if (a.count == 0) return cudaSuccess;
  if (a.dst == nullptr || a.src == nullptr) return cudaErrorInvalidValue;
  PtrClass dst = classify_pointer(a.dst, a.count, rt.heap(), rt.allocations, rt.symbols);
  PtrClass src = classify_pointer(a.src, a.count, rt.heap(), rt.allocations, rt.symbols);
  std::optional<Direction> direction = copy_direction(a.kind, dst.kind, src.kind);
  if (!direction) return cudaErrorInvalidMemcpyDirection;
  if (*direction == Direction::HostToHost) {
    std::memmove(a.dst, a.src, a.count);
    return cudaSuccess;
  }

  uint64_t stream = 0;
  if (cudaError_t e = wire_stream(rt, a.stream, a.per_thread_default, &stream); e != cudaSuccess) return e;
  guest::Channel& ch = *rt.channel;
  switch (*direction) {
    case Direction::HostToDevice:
      return host_to_device(ch, address_of(a.dst), a.src, src, a.count, stream, a.async);
    case Direction::DeviceToHost:
      return device_to_host(ch, a.dst, dst, address_of(a.src), a.count, stream, a.async);
    case Direction::DeviceToDevice: {
      proto::MemcpyDtoDRequest request{address_of(a.dst), address_of(a.src), a.count, stream};
      return to_cuda_error(ch.post(CallId::MemcpyDtoD, {{&request, sizeof request}}));
    }
    case Direction::HostToHost:
      break;
  }
  return cudaSuccess;
}

}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  trace_api("cudaMemcpy dst=%p src=%p count=%zu kind=%d", dst, src, count, static_cast<int>(kind));
  return memcpy_api(dst, src, count, kind, nullptr, false, false);
}

VGPU_EXPORT cudaError_t cudaMemcpy_ptds(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  trace_api("cudaMemcpy_ptds dst=%p src=%p count=%zu kind=%d", dst, src, count, static_cast<int>(kind));
  return memcpy_api(dst, src, count, kind, nullptr, true, false);
}

VGPU_EXPORT cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind kind,
                                        cudaStream_t stream) {
  trace_api("cudaMemcpyAsync dst=%p src=%p count=%zu kind=%d stream=%p", dst, src, count, static_cast<int>(kind),
            static_cast<void*>(stream));
  return memcpy_api(dst, src, count, kind, stream, false, true);
}

VGPU_EXPORT cudaError_t cudaMemcpyAsync_ptsz(void* dst, const void* src, size_t count, cudaMemcpyKind kind,
                                             cudaStream_t stream) {
  trace_api("cudaMemcpyAsync_ptsz dst=%p src=%p count=%zu kind=%d stream=%p", dst, src, count,
            static_cast<int>(kind), static_cast<void*>(stream));
  return memcpy_api(dst, src, count, kind, stream, true, true);
}
