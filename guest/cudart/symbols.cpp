// Copies to and from __device__/__constant__ variables, and their addresses and sizes. The
// host-side shadow variable nvcc registered names the symbol; its device address on the
// thread's device comes from the driver on first use (registry.h), which then knows it as
// device memory like any allocation.
#include "guest/client/log.h"
#include "guest/cudart/copy.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/registry.h"

namespace vgpu::cudart {
namespace {

cudaError_t resolve(const void* symbol, SymbolInfo* out) {
  if (symbol == nullptr) return cudaErrorInvalidSymbol;
  return registry().symbol(symbol, thread_device(), out);
}

// The device address of [offset, offset + count) inside the symbol.
cudaError_t symbol_range(const void* symbol, size_t count, size_t offset, void** out) {
  SymbolInfo info;
  if (cudaError_t e = resolve(symbol, &info); e != cudaSuccess) return e;
  if (offset > info.size || count > info.size - offset) return cudaErrorInvalidValue;
  *out = reinterpret_cast<void*>(static_cast<uintptr_t>(info.device_ptr + offset));
  return cudaSuccess;
}

cudaError_t to_symbol(const void* symbol, const void* src, size_t count, size_t offset, cudaMemcpyKind kind,
                      cudaStream_t stream, bool per_thread_default, bool async) {
  return context_call([&](Runtime&) {
    if (kind != cudaMemcpyHostToDevice && kind != cudaMemcpyDeviceToDevice && kind != cudaMemcpyDefault) {
      return cudaErrorInvalidMemcpyDirection;
    }
    void* dst = nullptr;
    if (cudaError_t e = symbol_range(symbol, count, offset, &dst); e != cudaSuccess) return e;
    return copy_memory(CopyArgs{dst, src, count, kind, stream, per_thread_default, async});
  });
}

cudaError_t from_symbol(void* dst, const void* symbol, size_t count, size_t offset, cudaMemcpyKind kind,
                        cudaStream_t stream, bool per_thread_default, bool async) {
  return context_call([&](Runtime&) {
    if (kind != cudaMemcpyDeviceToHost && kind != cudaMemcpyDeviceToDevice && kind != cudaMemcpyDefault) {
      return cudaErrorInvalidMemcpyDirection;
    }
    void* src = nullptr;
    if (cudaError_t e = symbol_range(symbol, count, offset, &src); e != cudaSuccess) return e;
    return copy_memory(CopyArgs{dst, src, count, kind, stream, per_thread_default, async});
  });
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT cudaError_t cudaMemcpyToSymbol(const void* symbol, const void* src, size_t count, size_t offset,
                                           cudaMemcpyKind kind) {
  trace_api("cudaMemcpyToSymbol symbol=%p count=%zu offset=%zu", symbol, count, offset);
  return to_symbol(symbol, src, count, offset, kind, nullptr, false, false);
}

VGPU_EXPORT cudaError_t cudaMemcpyToSymbol_ptds(const void* symbol, const void* src, size_t count, size_t offset,
                                                cudaMemcpyKind kind) {
  trace_api("cudaMemcpyToSymbol_ptds symbol=%p count=%zu offset=%zu", symbol, count, offset);
  return to_symbol(symbol, src, count, offset, kind, nullptr, true, false);
}

VGPU_EXPORT cudaError_t cudaMemcpyToSymbolAsync(const void* symbol, const void* src, size_t count, size_t offset,
                                                cudaMemcpyKind kind, cudaStream_t stream) {
  trace_api("cudaMemcpyToSymbolAsync symbol=%p count=%zu offset=%zu stream=%p", symbol, count, offset,
            static_cast<void*>(stream));
  return to_symbol(symbol, src, count, offset, kind, stream, false, true);
}

VGPU_EXPORT cudaError_t cudaMemcpyToSymbolAsync_ptsz(const void* symbol, const void* src, size_t count,
                                                     size_t offset, cudaMemcpyKind kind, cudaStream_t stream) {
  trace_api("cudaMemcpyToSymbolAsync_ptsz symbol=%p count=%zu offset=%zu stream=%p", symbol, count, offset,
            static_cast<void*>(stream));
  return to_symbol(symbol, src, count, offset, kind, stream, true, true);
}

VGPU_EXPORT cudaError_t cudaMemcpyFromSymbol(void* dst, const void* symbol, size_t count, size_t offset,
                                             cudaMemcpyKind kind) {
  trace_api("cudaMemcpyFromSymbol symbol=%p count=%zu offset=%zu", symbol, count, offset);
  return from_symbol(dst, symbol, count, offset, kind, nullptr, false, false);
}

VGPU_EXPORT cudaError_t cudaMemcpyFromSymbol_ptds(void* dst, const void* symbol, size_t count, size_t offset,
                                                  cudaMemcpyKind kind) {
  trace_api("cudaMemcpyFromSymbol_ptds symbol=%p count=%zu offset=%zu", symbol, count, offset);
  return from_symbol(dst, symbol, count, offset, kind, nullptr, true, false);
}

VGPU_EXPORT cudaError_t cudaMemcpyFromSymbolAsync(void* dst, const void* symbol, size_t count, size_t offset,
                                                  cudaMemcpyKind kind, cudaStream_t stream) {
  trace_api("cudaMemcpyFromSymbolAsync symbol=%p count=%zu offset=%zu stream=%p", symbol, count, offset,
            static_cast<void*>(stream));
  return from_symbol(dst, symbol, count, offset, kind, stream, false, true);
}

VGPU_EXPORT cudaError_t cudaMemcpyFromSymbolAsync_ptsz(void* dst, const void* symbol, size_t count, size_t offset,
                                                       cudaMemcpyKind kind, cudaStream_t stream) {
  trace_api("cudaMemcpyFromSymbolAsync_ptsz symbol=%p count=%zu offset=%zu stream=%p", symbol, count, offset,
            static_cast<void*>(stream));
  return from_symbol(dst, symbol, count, offset, kind, stream, true, true);
}

VGPU_EXPORT cudaError_t cudaGetSymbolAddress(void** devPtr, const void* symbol) {
  trace_api("cudaGetSymbolAddress symbol=%p", symbol);
  return context_call([&](Runtime&) {
    if (devPtr == nullptr) return cudaErrorInvalidValue;
    SymbolInfo info;
    if (cudaError_t e = resolve(symbol, &info); e != cudaSuccess) return e;
    *devPtr = reinterpret_cast<void*>(static_cast<uintptr_t>(info.device_ptr));
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaGetSymbolSize(size_t* size, const void* symbol) {
  trace_api("cudaGetSymbolSize symbol=%p", symbol);
  return context_call([&](Runtime&) {
    if (size == nullptr) return cudaErrorInvalidValue;
    SymbolInfo info;
    if (cudaError_t e = resolve(symbol, &info); e != cudaSuccess) return e;
    *size = info.size;
    return cudaSuccess;
  });
}
