// fake-cuda (test double, never ships): contexts. A context is current per thread; several
// contexts live at once; destroying one frees everything it owns.
#include "graph.h"

using namespace vgpu::fake;

FAKE_CUDA_API CUresult CUDAAPI cuCtxCreate_v2(CUcontext* pctx, unsigned int flags, CUdevice dev) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (pctx == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (dev < 0 || dev >= config().device_count) return CUDA_ERROR_INVALID_DEVICE;
  return create_context(dev, flags, pctx);
}

FAKE_CUDA_API CUresult CUDAAPI cuCtxDestroy_v2(CUcontext ctx) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (ctx == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return destroy_context(ctx);  // works on a sticky-broken context too
}

FAKE_CUDA_API CUresult CUDAAPI cuCtxSetCurrent(CUcontext ctx) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (ctx != nullptr && !find_context(ctx)) return CUDA_ERROR_INVALID_CONTEXT;
  current_handle() = ctx;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuCtxGetCurrent(CUcontext* pctx) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (pctx == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *pctx = current_handle();
  return CUDA_SUCCESS;
}

void vgpu::fake::flush_printf(Context& ctx) {
  if (ctx.printf_pending.empty()) return;
  std::fwrite(ctx.printf_pending.data(), 1, ctx.printf_pending.size(), stdout);
  std::fflush(stdout);
  ctx.printf_pending.clear();
}

FAKE_CUDA_API CUresult CUDAAPI cuCtxSynchronize(void) {
  Locked l;
  // Work ran synchronously already; only the sticky error can surface, and printf output.
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  // Captured work never runs: waiting for it is refused, and invalidates the captures.
  if (CUresult r = capture_ctx_sync_check(*l.ctx); r != CUDA_SUCCESS) return r;
  flush_printf(*l.ctx);
  return CUDA_SUCCESS;
}

// Limits are the context's own, starting at the driver's defaults (internal.h). Values a real
// driver rounds are stored as given; the ones it bounds are bounded the same way.
FAKE_CUDA_API CUresult CUDAAPI cuCtxGetLimit(size_t* pvalue, CUlimit limit) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  const int which = raw_enum(&limit);
  if (pvalue == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (which < 0 || which >= static_cast<int>(CU_LIMIT_MAX)) return CUDA_ERROR_UNSUPPORTED_LIMIT;
  *pvalue = l->limits[static_cast<std::size_t>(which)];
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuCtxSetLimit(CUlimit limit, size_t value) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  const int which = raw_enum(&limit);
  if (which < 0 || which >= static_cast<int>(CU_LIMIT_MAX)) return CUDA_ERROR_UNSUPPORTED_LIMIT;
  switch (which) {
    case CU_LIMIT_SHMEM_SIZE:
    case CU_LIMIT_CIG_ENABLED:
      return CUDA_ERROR_INVALID_VALUE;  // can only be queried
    case CU_LIMIT_DEV_RUNTIME_SYNC_DEPTH:
      if (value > 24) return CUDA_ERROR_INVALID_VALUE;
      break;
    case CU_LIMIT_MAX_L2_FETCH_GRANULARITY:
      if (value > 128) return CUDA_ERROR_INVALID_VALUE;
      break;
    case CU_LIMIT_PERSISTING_L2_CACHE_SIZE:
      if (value > 34078720) return CUDA_ERROR_INVALID_VALUE;  // MAX_PERSISTING_L2_CACHE_SIZE
      break;
    case CU_LIMIT_CIG_SHMEM_FALLBACK_ENABLED:
      if (value > 1) return CUDA_ERROR_INVALID_VALUE;
      break;
    default:
      break;
  }
  l->limits[static_cast<std::size_t>(which)] = value;
  return CUDA_SUCCESS;
}
