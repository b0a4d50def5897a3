// fake-cuda (test double, never ships): contexts. A context is current per thread; several
// contexts live at once; destroying one frees everything it owns.
#include "internal.h"

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

FAKE_CUDA_API CUresult CUDAAPI cuCtxSynchronize(void) {
  Locked l;
  return enter(l);  // work ran synchronously already; only the sticky error can surface
}
