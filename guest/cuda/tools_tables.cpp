#include "guest/cuda/tools_tables.h"

#include <cstdint>

#include "guest/cuda/api.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/export_slots.h"
#include "guest/cuda/handles.h"
#include "guest/cuda/modules.h"
#include "guest/cuda/streams.h"

namespace vgpu::cuda {
namespace {

constexpr char kToolsContext[] = "TOOLS_CONTEXT";
constexpr char kToolsModule[] = "TOOLS_MODULE";

// A null context means the calling thread's current one.
Context* context_or_current(CUcontext handle) {
  return handle == nullptr ? current_context() : context_from_handle(handle);
}

// ---- TOOLS_CONTEXT

CUresult context_device(CUcontext ctx, CUdevice* out) noexcept {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  Context* c = context_or_current(ctx);
  if (c == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  *out = static_cast<CUdevice>(c->device);
  return CUDA_SUCCESS;
}

CUresult context_id(CUcontext ctx, uint64_t* out) noexcept {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  Context* c = context_or_current(ctx);
  if (c == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  *out = c->id;
  return CUDA_SUCCESS;
}

// The driver's handle for a public stream: vgpu's stream object itself (a created stream), or
// one of the default streams' objects.
CUresult stream_tools_handle(CUcontext, CUstream stream, void** out, uint8_t /*per_thread*/) noexcept {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (stream == reinterpret_cast<CUstream>(~uintptr_t{0})) return CUDA_ERROR_INVALID_HANDLE;
  StreamObject* s = stream_object(stream);
  if (s == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  *out = s;
  return CUDA_SUCCESS;
}

CUresult stream_id(CUcontext, void* tools_stream, uint64_t* out) noexcept {
  if (out == nullptr || tools_stream == nullptr) return CUDA_ERROR_INVALID_VALUE;
  StreamObject* s = object_of<StreamObject>(tools_stream, HandleKind::Stream);
  if (s == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  *out = stream_id_of(*s);
  return CUDA_SUCCESS;
}

// ---- TOOLS_MODULE

uint64_t module_walk(CUcontext, CUmodule module, void (*visit)(void*, CUfunction, void*), void* user) noexcept {
  return walk_module_functions(module, visit, user);
}

CUresult function_param_count(CUfunction f, size_t* count) noexcept {
  if (count == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    Context* c = nullptr;
    if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
    FunctionObject* fn = nullptr;
    if (CUresult r = function_on(*ch, f, c->device, &fn); r != CUDA_SUCCESS) return r;
    *count = fn->params.size();
    return CUDA_SUCCESS;
  });
}

}  // namespace

const void* const* tools_context_table() {
  static const auto table = [] {
    auto t = unimplemented_table<kToolsContext, 93>();
    t[3] = slot(context_device);
    t[4] = slot(context_id);
    t[39] = slot(stream_id);
    t[51] = slot(stream_tools_handle);
    return t;
  }();
  return table.data();
}

const void* const* tools_module_table() {
  static const auto table = [] {
    auto t = unimplemented_table<kToolsModule, 99>();
    t[7] = slot(module_walk);
    t[33] = slot(function_param_count);
    return t;
  }();
  return table.data();
}

}  // namespace vgpu::cuda
