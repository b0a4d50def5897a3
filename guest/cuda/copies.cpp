#include "guest/cuda/copies.h"

#include "guest/cuda/api.h"
#include "guest/cuda/capture.h"
#include "guest/cuda/host_memory.h"
#include "guest/cuda/managed_memory.h"
#include "guest/cuda/pageable_stage.h"
#include "guest/cuda/streams.h"
#include "vgpu/protocol/limits.h"

namespace vgpu::cuda {
namespace {

using proto::CallId;

// A synchronous heap copy also waits for its stream, which makes it cuMemcpy's.
constexpr uint16_t kSyncFlags = proto::kFlagNeedsReply | proto::kFlagSynchronize;

// The channel and the copy's wire stream, once the context and stream are known to be good.
CUresult enter_copy(CUstream stream, guest::Channel** ch, uint64_t* wire) {
  if (CUresult r = enter_context(ch, nullptr); r != CUDA_SUCCESS) return r;
  return wire_stream(stream, wire) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

bool is_managed(const void* p) { return find_managed(reinterpret_cast<uint64_t>(p)).has_value(); }

}  // namespace

// Managed memory at an end of a copy (managed_memory.h): what the CPU wrote goes to the GPU
// first, and a managed end in place of program memory makes it a device copy, so the shim never
// touches managed pages itself.

CUresult to_device(CUdeviceptr dst, const void* src, size_t size, CUstream stream, bool wait) {
  guest::Channel* ch = nullptr;
  uint64_t wire = 0;
  if (CUresult r = enter_copy(stream, &ch, &wire); r != CUDA_SUCCESS) return r;
  if (size == 0) return CUDA_SUCCESS;
  if (src == nullptr) return CUDA_ERROR_INVALID_VALUE;
  bool dst_pinned = false;  // pinned host memory named as device memory (unified addressing)
  if (CUresult r = gpu_address_of(*ch, &dst, size, &dst_pinned); r != CUDA_SUCCESS) return r;
  if (const bool from_managed = is_managed(src); from_managed || is_managed(reinterpret_cast<void*>(dst))) {
    if (CUresult r = before_gpu_work_on(wire); r != CUDA_SUCCESS) return r;
    if (from_managed) return device_to_device(dst, reinterpret_cast<CUdeviceptr>(src), size, stream, wait);
  }
  if (uint64_t offset = 0; heap_offset_of(src, size, &offset)) {
    const proto::MemcpySharedRequest request{dst, offset, size, wire};
    if (!wait) return to_cu_result(ch->post(CallId::MemcpyHtoDShared, {{&request, sizeof request}}));
    return to_cu_result(ch->call(CallId::MemcpyHtoDShared, {{&request, sizeof request}}, {}, kSyncFlags).status);
  }
  // Captured, the copy runs at each launch of the graph, reading the program's memory then.
  if (uint64_t capture = 0; !wait && capture_of_stream(wire, &capture) == CUDA_SUCCESS && capture != 0)
    return captured_pageable_copy(*ch, capture, wire, dst, const_cast<void*>(src), size, /*to_device=*/true);
  if (size <= limits::kMaxInlineCopy) {
    // The bytes travel inside the message, so even an async copy may return at once.
    const proto::MemcpyHtoDRequest request{dst, size, wire};
    const std::initializer_list<guest::Part> parts = {{&request, sizeof request}, {src, static_cast<uint32_t>(size)}};
    if (!wait) return to_cu_result(ch->post(CallId::MemcpyHtoDInline, parts));
    return to_cu_result(ch->call(CallId::MemcpyHtoDInline, parts, {}).status);
  }
  return to_cu_result(ch->copy_to_device(dst, src, size, wire, wait));
}

CUresult to_host(void* dst, CUdeviceptr src, size_t size, CUstream stream, bool wait) {
  guest::Channel* ch = nullptr;
  uint64_t wire = 0;
  if (CUresult r = enter_copy(stream, &ch, &wire); r != CUDA_SUCCESS) return r;
  if (size == 0) return CUDA_SUCCESS;
  if (dst == nullptr) return CUDA_ERROR_INVALID_VALUE;
  bool src_pinned = false;  // pinned host memory named as device memory (unified addressing)
  if (CUresult r = gpu_address_of(*ch, &src, size, &src_pinned); r != CUDA_SUCCESS) return r;
  if (const bool into_managed = is_managed(dst); into_managed || is_managed(reinterpret_cast<void*>(src))) {
    if (CUresult r = before_gpu_work_on(wire); r != CUDA_SUCCESS) return r;
    if (into_managed) return device_to_device(reinterpret_cast<CUdeviceptr>(dst), src, size, stream, wait);
  }
  if (uint64_t offset = 0; heap_offset_of(dst, size, &offset)) {
    const proto::MemcpySharedRequest request{src, offset, size, wire};
    if (!wait) return to_cu_result(ch->post(CallId::MemcpyDtoHShared, {{&request, sizeof request}}));
    return to_cu_result(ch->call(CallId::MemcpyDtoHShared, {{&request, sizeof request}}, {}, kSyncFlags).status);
  }
  // Captured, the copy runs at each launch of the graph, writing the program's memory then.
  if (uint64_t capture = 0; !wait && capture_of_stream(wire, &capture) == CUDA_SUCCESS && capture != 0)
    return captured_pageable_copy(*ch, capture, wire, src, dst, size, /*to_device=*/false);
  if (size <= limits::kMaxInlineCopy) {
    const proto::MemcpyDtoHRequest request{src, size, wire};
    const guest::CallResult r = ch->call(CallId::MemcpyDtoHInline, {{&request, sizeof request}},
                                         std::span(static_cast<uint8_t*>(dst), size));
    if (r.status != 0) return to_cu_result(r.status);
    return r.payload_size == size ? CUDA_SUCCESS : CUDA_ERROR_UNKNOWN;
  }
  return to_cu_result(ch->copy_from_device(dst, src, size, wire));
}

CUresult device_to_device(CUdeviceptr dst, CUdeviceptr src, size_t size, CUstream stream, bool wait) {
  guest::Channel* ch = nullptr;
  proto::MemcpyDtoDRequest request{dst, src, size, 0};
  if (CUresult r = enter_copy(stream, &ch, &request.stream); r != CUDA_SUCCESS) return r;
  if (size == 0) return CUDA_SUCCESS;
  bool pinned = false;  // either end pinned host memory named as device memory (unified addressing)
  CUdeviceptr gpu_dst = dst, gpu_src = src;
  if (CUresult r = gpu_address_of(*ch, &gpu_dst, size, &pinned); r != CUDA_SUCCESS) return r;
  if (CUresult r = gpu_address_of(*ch, &gpu_src, size, &pinned); r != CUDA_SUCCESS) return r;
  request.dst = gpu_dst;
  request.src = gpu_src;
  if (is_managed(reinterpret_cast<void*>(dst)) || is_managed(reinterpret_cast<void*>(src))) {
    if (CUresult r = before_gpu_work_on(request.stream); r != CUDA_SUCCESS) return r;
  }
  if (!wait) return to_cu_result(ch->post(CallId::MemcpyDtoD, {{&request, sizeof request}}));
  return to_cu_result(ch->call(CallId::MemcpyDtoD, {{&request, sizeof request}}, {}, kSyncFlags).status);
}

}  // namespace vgpu::cuda
