// Pageable host memory in a graph, through a staging block and a host function (pageable_stage.h).
#include "guest/cuda/pageable_stage.h"

#include <cstring>
#include <memory>

#include "guest/client/host_heap.h"
#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/capture.h"
#include "guest/cuda/host_functions.h"

namespace vgpu::cuda {
namespace {

namespace proto = vgpu::proto;

struct StagedRows {
  HostRows rows;
  uint8_t* staging;
};

void CUDA_CB fill_staging(void* p) {
  const auto* s = static_cast<const StagedRows*>(p);
  for (size_t y = 0; y < s->rows.height; ++y)
    std::memcpy(s->staging + y * s->rows.width, static_cast<const uint8_t*>(s->rows.host) + y * s->rows.pitch,
                s->rows.width);
}

void CUDA_CB empty_staging(void* p) {
  const auto* s = static_cast<const StagedRows*>(p);
  for (size_t y = 0; y < s->rows.height; ++y)
    std::memcpy(static_cast<uint8_t*>(s->rows.host) + y * s->rows.pitch, s->staging + y * s->rows.width,
                s->rows.width);
}

void forget_staging(void* p) {
  std::unique_ptr<StagedRows> s(static_cast<StagedRows*>(p));
  if (guest::HostHeap* heap = guest::process_host_heap()) heap->release(s->staging);
}

}  // namespace

CUresult make_stage(guest::Channel& ch, HostRows rows, bool to_device, Stage* out) noexcept {
  try {
    if (CUresult r = start_host_functions(ch); r != CUDA_SUCCESS) return r;
    guest::HostHeap* heap = guest::process_host_heap();
    if (heap == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
    const size_t bytes = rows.width * rows.height;
    void* block = heap->allocate_in_heap(bytes, 64);
    if (block == nullptr) return CUDA_ERROR_OUT_OF_MEMORY;
    if (!heap->range().offset_of(block, bytes, &out->heap_offset)) {
      heap->release(block);
      return CUDA_ERROR_OUT_OF_MEMORY;
    }
    auto staged = std::make_unique<StagedRows>(StagedRows{rows, static_cast<uint8_t*>(block)});
    out->function = add_host_function(to_device ? fill_staging : empty_staging, staged.release(), /*kept=*/true,
                                      forget_staging);
    return CUDA_SUCCESS;
  } catch (...) {
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
}

CUresult captured_pageable_copy(guest::Channel& ch, uint64_t capture, uint64_t stream, CUdeviceptr device, void* host,
                                size_t size, bool to_device) noexcept {
  Stage stage;
  if (CUresult r = make_stage(ch, HostRows{host, size, size, 1}, to_device, &stage); r != CUDA_SUCCESS) return r;
  const proto::LaunchHostFuncRequest run{stream, stage.function};
  const proto::MemcpySharedRequest copy{device, stage.heap_offset, size, stream};
  const proto::CallId copy_id = to_device ? proto::CallId::MemcpyHtoDShared : proto::CallId::MemcpyDtoHShared;
  int32_t status = 0;
  if (to_device) {
    status = guest::post<proto::CallId::LaunchHostFunc>(ch, run);
    if (status == 0) status = ch.post(copy_id, {{&copy, sizeof copy}});
  } else {
    status = ch.post(copy_id, {{&copy, sizeof copy}});
    if (status == 0) status = guest::post<proto::CallId::LaunchHostFunc>(ch, run);
  }
  if (status != 0) {
    drop_host_function(stage.function);
    return to_cu_result(status);
  }
  capture_keeps_host_function(capture, stage.function);
  return CUDA_SUCCESS;
}

}  // namespace vgpu::cuda
