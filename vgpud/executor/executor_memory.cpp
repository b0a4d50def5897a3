// Handlers for allocation, copies and memset. Every device range is checked against the
// channel's own allocations and every shared-memory range against the channel's region
// before the driver sees it.
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "vgpu/protocol/limits.h"
#include "vgpud/executor/call_checks.h"
#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/reply_payload.h"
#include "vgpud/executor/tenant_budget.h"
#include "vgpud/log/log.h"

namespace vgpud {

namespace {

std::string hex(uint64_t v) { return fmt::format("0x{:x}", v); }

}  // namespace

int32_t ChannelExecutor::handle(const MemAllocCmd& cmd, Reply& reply) {
  if (int32_t st = require_context()) return st;
  if (cmd.size == 0) {
    put(reply.payload, proto::MemAllocReply{0});
    return 0;
  }
  if (objects_.memory.allocation_count() >= vgpu::limits::kMaxAllocations) return limit_exceeded();
  // The tenant's limit is checked, and the bytes taken, before the driver allocates anything.
  TenantBudget budget = device_budget();
  if (!budget.reserve(cmd.size)) {
    HopCounters::bump(setup_.counters->rejected);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  CUdeviceptr ptr = 0;
  const CUresult r = cu_.cuMemAlloc(&ptr, cmd.size);
  traced("cuMemAlloc", r, [&] { return r == CUDA_SUCCESS ? "ptr=" + hex(ptr) : std::string(); });
  if (r != CUDA_SUCCESS) {
    budget.release(cmd.size);
    return r;
  }
  objects_.memory.add(ptr, cmd.size, DeviceMemoryMap::Kind::Allocation, contexts_.current());
  put(reply.payload, proto::MemAllocReply{ptr});
  return 0;
}

int32_t ChannelExecutor::handle(const MemFreeCmd& cmd, Reply&) {
  if (int32_t st = require_context()) return st;
  const uint64_t size = objects_.memory.allocation_size(cmd.device_ptr);
  if (size == 0) return CUDA_ERROR_INVALID_VALUE;  // not an allocation of this channel
  const CUresult r = traced("cuMemFree", cu_.cuMemFree(cmd.device_ptr), [&] { return "ptr=" + hex(cmd.device_ptr); });
  if (r == CUDA_SUCCESS) {
    objects_.memory.remove(cmd.device_ptr);
    // A published allocation's bytes are the tenant's IPC table's (executor_ipc.cpp).
    if (!ipc_withdraw_allocation(cmd.device_ptr)) device_budget().release(size);
  }
  return r;
}

int32_t ChannelExecutor::handle(const MemcpyHtoDInlineCmd& cmd, Reply&) {
  if (int32_t st = require_context()) return st;
  if (cmd.data.empty()) return 0;
  CUstream stream;
  if (!objects_.resolve_stream(cmd.stream, &stream)) return CUDA_ERROR_INVALID_HANDLE;
  if (!objects_.memory.contains(cmd.dst, cmd.data.size())) return CUDA_ERROR_INVALID_VALUE;
  // The data lives in this request, which dies after the handler: copy synchronously.
  CUresult r = traced("cuMemcpyHtoDAsync",
                      cu_.cuMemcpyHtoDAsync(cmd.dst, cmd.data.data(), cmd.data.size(), stream));
  if (r == CUDA_SUCCESS) r = traced("cuStreamSynchronize", cu_.cuStreamSynchronize(stream));
  return r;
}

int32_t ChannelExecutor::handle(const MemcpyHtoDStagedCmd& cmd, Reply&) {
  // The data must already be in the upload ring: the guest publishes it before the message.
  if (!upload_holds(cmd.size, "staged copy")) return static_cast<int32_t>(proto::Status::ChannelBroken);
  int32_t status = require_context();
  CUstream stream = nullptr;
  if (status == 0 && !objects_.resolve_stream(cmd.stream, &stream)) status = CUDA_ERROR_INVALID_HANDLE;
  if (status == 0 && !objects_.memory.contains(cmd.dst, cmd.size)) status = CUDA_ERROR_INVALID_VALUE;
  if (status == 0) {
    const proto::RingSegments seg = upload_ring_.peek(cmd.size);
    CUresult r = traced("cuMemcpyHtoDAsync", cu_.cuMemcpyHtoDAsync(cmd.dst, seg.first.data(),
                                                                   seg.first.size(), stream));
    if (r == CUDA_SUCCESS && !seg.second.empty())
      r = traced("cuMemcpyHtoDAsync",
                 cu_.cuMemcpyHtoDAsync(cmd.dst + seg.first.size(), seg.second.data(),
                                       seg.second.size(), stream));
    // The ring space is handed back only once the DMA has read it.
    if (r == CUDA_SUCCESS) r = traced("cuStreamSynchronize", cu_.cuStreamSynchronize(stream));
    status = r;
  }
  upload_ring_.consume(cmd.size);  // consumed even on error, to stay in step with the guest
  return status;
}

int32_t ChannelExecutor::handle(const MemcpyDtoHInlineCmd& cmd, Reply& reply) {
  if (int32_t st = require_context()) return st;
  if (cmd.size == 0) return 0;
  CUstream stream;
  if (!objects_.resolve_stream(cmd.stream, &stream)) return CUDA_ERROR_INVALID_HANDLE;
  if (!objects_.memory.contains(cmd.src, cmd.size)) return CUDA_ERROR_INVALID_VALUE;
  reply.payload.resize(cmd.size);
  CUresult r = traced("cuMemcpyDtoHAsync",
                      cu_.cuMemcpyDtoHAsync(reply.payload.data(), cmd.src, cmd.size, stream));
  if (r == CUDA_SUCCESS) r = traced("cuStreamSynchronize", cu_.cuStreamSynchronize(stream));
  if (r != CUDA_SUCCESS) reply.payload.clear();
  return r;
}

int32_t ChannelExecutor::handle(const MemcpyDtoHStagedCmd& cmd, Reply& reply) {
  uint64_t published = 0;
  auto answer = [&](int32_t status) {
    put(reply.payload, proto::MemcpyDtoHStagedReply{published});
    return status;
  };
  if (int32_t st = require_context()) return answer(st);
  CUstream stream;
  if (!objects_.resolve_stream(cmd.stream, &stream)) return answer(CUDA_ERROR_INVALID_HANDLE);
  if (cmd.size == 0) return answer(0);
  if (!objects_.memory.contains(cmd.src, cmd.size)) return answer(CUDA_ERROR_INVALID_VALUE);

  // Chunks of a quarter ring: the guest copies one out while the GPU fills the next.
  const uint64_t chunk = output_.download_capacity() / 4;
  while (published < cmd.size) {
    const uint64_t n = std::min(chunk, cmd.size - published);
    proto::RingSegments seg;
    if (!room_or_fail(output_.reserve_download(n, &seg), "download"))
      return answer(static_cast<int32_t>(proto::Status::ChannelBroken));
    const uint64_t src = cmd.src + published;
    CUresult r = traced("cuMemcpyDtoHAsync",
                        cu_.cuMemcpyDtoHAsync(seg.first.data(), src, seg.first.size(), stream));
    if (r == CUDA_SUCCESS && !seg.second.empty())
      r = traced("cuMemcpyDtoHAsync", cu_.cuMemcpyDtoHAsync(seg.second.data(), src + seg.first.size(),
                                                            seg.second.size(), stream));
    if (r == CUDA_SUCCESS) r = traced("cuStreamSynchronize", cu_.cuStreamSynchronize(stream));
    if (r != CUDA_SUCCESS) return answer(r);
    output_.publish_download(n);
    published += n;
  }
  return answer(0);
}

int32_t ChannelExecutor::handle(const MemcpySharedCmd& cmd, Reply&) {
  if (int32_t st = require_context()) return st;
  if (cmd.size == 0) return 0;
  CUstream stream;
  if (!objects_.resolve_stream(cmd.stream, &stream)) return CUDA_ERROR_INVALID_HANDLE;
  if (!objects_.memory.contains(cmd.device_ptr, cmd.size) || !heap_range_ok(cmd.heap_offset, cmd.size))
    return CUDA_ERROR_INVALID_VALUE;
  uint8_t* host = heap_at(cmd.heap_offset);
  // Registered memory: a truly asynchronous DMA, as with native pinned memory.
  CUresult r = cmd.to_device
                   ? traced("cuMemcpyHtoDAsync",
                            cu_.cuMemcpyHtoDAsync(cmd.device_ptr, host, cmd.size, stream))
                   : traced("cuMemcpyDtoHAsync",
                            cu_.cuMemcpyDtoHAsync(host, cmd.device_ptr, cmd.size, stream));
  if (r == CUDA_SUCCESS && synchronize_current_)
    r = traced("cuStreamSynchronize", cu_.cuStreamSynchronize(stream));
  return r;
}

int32_t ChannelExecutor::handle(const MemcpyDtoDCmd& cmd, Reply&) {
  if (int32_t st = require_context()) return st;
  if (cmd.size == 0) return 0;
  CUstream stream;
  if (!objects_.resolve_stream(cmd.stream, &stream)) return CUDA_ERROR_INVALID_HANDLE;
  const std::optional<uint32_t> dst_device = objects_.memory.device_of(cmd.dst, cmd.size);
  const std::optional<uint32_t> src_device = objects_.memory.device_of(cmd.src, cmd.size);
  if (!dst_device || !src_device) return CUDA_ERROR_INVALID_VALUE;
  CUresult r = *dst_device == *src_device
                   ? traced("cuMemcpyDtoDAsync", cu_.cuMemcpyDtoDAsync(cmd.dst, cmd.src, cmd.size, stream))
                   : copy_between_devices(cmd.dst, *dst_device, cmd.src, *src_device, cmd.size, cmd.stream, stream);
  if (r == CUDA_SUCCESS && synchronize_current_)
    r = traced("cuStreamSynchronize", cu_.cuStreamSynchronize(stream));
  return r;
}

CUresult ChannelExecutor::copy_between_devices(uint64_t dst, uint32_t dst_device, uint64_t src, uint32_t src_device,
                                               uint64_t size, uint64_t stream_id, CUstream stream) {
  // Both contexts exist: the memory map only holds ranges of live contexts. The driver copies
  // over the peer link where the two GPUs have one and stages through host memory where not.
  CUcontext dst_ctx = contexts_.context_of(dst_device);
  CUcontext src_ctx = contexts_.context_of(src_device);
  const auto detail = [&] {
    return fmt::format("dst={} device {} src={} device {} bytes={}", hex(dst), dst_device, hex(src), src_device, size);
  };
  // On the legacy stream (cudaMemcpy, cudaMemcpyPeer), the copy waits for all work of both
  // devices, as the legacy stream orders against every blocking stream; on a stream of the
  // guest's, it is ordered on that stream only, as cudaMemcpyPeerAsync.
  if (stream_id == proto::kStreamLegacy || stream_id == proto::kStreamLegacyAlias)
    return traced("cuMemcpyPeer", cu_.cuMemcpyPeer(dst, dst_ctx, src, src_ctx, size), detail);
  return traced("cuMemcpyPeerAsync", cu_.cuMemcpyPeerAsync(dst, dst_ctx, src, src_ctx, size, stream), detail);
}

int32_t ChannelExecutor::handle(const MemsetCmd& cmd, Reply&) {
  if (int32_t st = require_context()) return st;
  if (cmd.count == 0) return 0;
  CUstream stream;
  if (!objects_.resolve_stream(cmd.stream, &stream)) return CUDA_ERROR_INVALID_HANDLE;
  if (!objects_.memory.contains(cmd.dst, cmd.count)) return CUDA_ERROR_INVALID_VALUE;
  CUresult r = traced("cuMemsetD8Async", cu_.cuMemsetD8Async(cmd.dst, cmd.value, cmd.count, stream));
  if (r == CUDA_SUCCESS && synchronize_current_)
    r = traced("cuStreamSynchronize", cu_.cuStreamSynchronize(stream));
  return r;
}

// cudaMemset2D[Async] and the 16/32-bit 1D memsets: `height` rows of `width` elements, `pitch`
// bytes apart. The whole span from the first byte of the first row to the last byte of the last
// row must lie in one range of the channel's; nothing in it overflows.
int32_t ChannelExecutor::handle(const Memset2DCmd& cmd, Reply&) {
  if (int32_t st = require_context()) return st;
  const uint64_t element = cmd.element_size;
  if (element != 1 && element != 2 && element != 4) return CUDA_ERROR_INVALID_VALUE;
  CUstream stream;
  if (!objects_.resolve_stream(cmd.stream, &stream)) return CUDA_ERROR_INVALID_HANDLE;
  const std::optional<uint64_t> span = pitched_span(cmd.pitch, cmd.width, element, cmd.height);
  if (!span) return CUDA_ERROR_INVALID_VALUE;
  if (*span == 0) return 0;
  if (!objects_.memory.contains(cmd.dst, *span)) return CUDA_ERROR_INVALID_VALUE;
  const auto detail = [&] {
    return fmt::format("dst={} pitch={} width={} height={}", hex(cmd.dst), cmd.pitch, cmd.width, cmd.height);
  };
  CUresult r;
  switch (element) {
    case 1:
      r = traced("cuMemsetD2D8Async",
                 cu_.cuMemsetD2D8Async(cmd.dst, cmd.pitch, static_cast<unsigned char>(cmd.value), cmd.width,
                                       cmd.height, stream),
                 detail);
      break;
    case 2:
      r = traced("cuMemsetD2D16Async",
                 cu_.cuMemsetD2D16Async(cmd.dst, cmd.pitch, static_cast<unsigned short>(cmd.value), cmd.width,
                                        cmd.height, stream),
                 detail);
      break;
    default:
      r = traced("cuMemsetD2D32Async",
                 cu_.cuMemsetD2D32Async(cmd.dst, cmd.pitch, cmd.value, cmd.width, cmd.height, stream), detail);
      break;
  }
  if (r == CUDA_SUCCESS && synchronize_current_)
    r = traced("cuStreamSynchronize", cu_.cuStreamSynchronize(stream));
  return r;
}

int32_t ChannelExecutor::handle(const HeapDevicePointerCmd&, Reply& reply) {
  if (int32_t st = require_context()) return st;
  if (!contexts_.region_pinned()) return CUDA_ERROR_NOT_SUPPORTED;
  CUdeviceptr device_ptr = 0;
  if (CUresult r = traced("cuMemHostGetDevicePointer", cu_.cuMemHostGetDevicePointer(&device_ptr, heap_at(0), 0));
      r != CUDA_SUCCESS)
    return r;
  // The heap by that address is the channel's memory too: a framework memsets or copies mapped
  // host memory through its device pointer (JAX does). Registered PORTABLE, it has this address
  // in every context of the channel.
  if (objects_.memory.range_at(device_ptr) == std::nullopt)
    objects_.memory.add(device_ptr, setup_.geometry.heap.size, DeviceMemoryMap::Kind::HostHeap, contexts_.current());
  put(reply.payload, proto::HeapDevicePointerReply{device_ptr});
  return 0;
}

}  // namespace vgpud
