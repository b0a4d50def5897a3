// The per-thread-default-stream variants (_ptds, _ptsz) of the entry points vgpu implements:
// what programs built with --default-stream per-thread call, and what cuGetProcAddress hands
// out for CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM. Each is its legacy twin with the null
// stream read as the calling thread's per-thread default stream (CU_STREAM_PER_THREAD).
#include "guest/cuda/api.h"
#include "guest/cuda/streams.h"

using vgpu::cuda::per_thread;

// Synchronous calls (_ptds): ordered on the per-thread stream instead of the legacy one.
VGPU_DRIVER_API CUresult cuMemcpy_ptds(CUdeviceptr dst, CUdeviceptr src, size_t size) {
  if (CUresult r = cuMemcpyAsync(dst, src, size, CU_STREAM_PER_THREAD); r != CUDA_SUCCESS) return r;
  return cuStreamSynchronize(CU_STREAM_PER_THREAD);
}
VGPU_DRIVER_API CUresult cuMemcpyHtoD_v2_ptds(CUdeviceptr dst, const void* src, size_t size) {
  if (CUresult r = cuMemcpyHtoDAsync_v2(dst, src, size, CU_STREAM_PER_THREAD); r != CUDA_SUCCESS) return r;
  return cuStreamSynchronize(CU_STREAM_PER_THREAD);
}
VGPU_DRIVER_API CUresult cuMemcpyDtoH_v2_ptds(void* dst, CUdeviceptr src, size_t size) {
  if (CUresult r = cuMemcpyDtoHAsync_v2(dst, src, size, CU_STREAM_PER_THREAD); r != CUDA_SUCCESS) return r;
  return cuStreamSynchronize(CU_STREAM_PER_THREAD);
}
VGPU_DRIVER_API CUresult cuMemcpyDtoD_v2_ptds(CUdeviceptr dst, CUdeviceptr src, size_t size) {
  if (CUresult r = cuMemcpyDtoDAsync_v2(dst, src, size, CU_STREAM_PER_THREAD); r != CUDA_SUCCESS) return r;
  return cuStreamSynchronize(CU_STREAM_PER_THREAD);
}
VGPU_DRIVER_API CUresult cuMemcpy2D_v2_ptds(const CUDA_MEMCPY2D* copy) {
  if (CUresult r = cuMemcpy2DAsync_v2(copy, CU_STREAM_PER_THREAD); r != CUDA_SUCCESS) return r;
  return cuStreamSynchronize(CU_STREAM_PER_THREAD);
}
VGPU_DRIVER_API CUresult cuMemcpy3D_v2_ptds(const CUDA_MEMCPY3D* copy) {
  if (CUresult r = cuMemcpy3DAsync_v2(copy, CU_STREAM_PER_THREAD); r != CUDA_SUCCESS) return r;
  return cuStreamSynchronize(CU_STREAM_PER_THREAD);
}
VGPU_DRIVER_API CUresult cuMemcpy2DUnaligned_v2_ptds(const CUDA_MEMCPY2D* copy) { return cuMemcpy2D_v2_ptds(copy); }
VGPU_DRIVER_API CUresult cuMemcpyPeer_ptds(CUdeviceptr dst, CUcontext dst_ctx, CUdeviceptr src, CUcontext src_ctx,
                                           size_t size) {
  if (CUresult r = cuMemcpyPeerAsync(dst, dst_ctx, src, src_ctx, size, CU_STREAM_PER_THREAD); r != CUDA_SUCCESS)
    return r;
  return cuStreamSynchronize(CU_STREAM_PER_THREAD);
}
VGPU_DRIVER_API CUresult cuMemsetD8_v2_ptds(CUdeviceptr dst, unsigned char value, size_t count) {
  return cuMemsetD8Async(dst, value, count, CU_STREAM_PER_THREAD);
}
VGPU_DRIVER_API CUresult cuMemsetD16_v2_ptds(CUdeviceptr dst, unsigned short value, size_t count) {
  return cuMemsetD16Async(dst, value, count, CU_STREAM_PER_THREAD);
}
VGPU_DRIVER_API CUresult cuMemsetD32_v2_ptds(CUdeviceptr dst, unsigned int value, size_t count) {
  return cuMemsetD32Async(dst, value, count, CU_STREAM_PER_THREAD);
}
VGPU_DRIVER_API CUresult cuMemsetD2D8_v2_ptds(CUdeviceptr dst, size_t pitch, unsigned char value, size_t w, size_t h) {
  return cuMemsetD2D8Async(dst, pitch, value, w, h, CU_STREAM_PER_THREAD);
}
VGPU_DRIVER_API CUresult cuMemsetD2D16_v2_ptds(CUdeviceptr dst, size_t pitch, unsigned short value, size_t w, size_t h) {
  return cuMemsetD2D16Async(dst, pitch, value, w, h, CU_STREAM_PER_THREAD);
}
VGPU_DRIVER_API CUresult cuMemsetD2D32_v2_ptds(CUdeviceptr dst, size_t pitch, unsigned int value, size_t w, size_t h) {
  return cuMemsetD2D32Async(dst, pitch, value, w, h, CU_STREAM_PER_THREAD);
}

// Stream-ordered calls (_ptsz).
VGPU_DRIVER_API CUresult cuMemcpyAsync_ptsz(CUdeviceptr dst, CUdeviceptr src, size_t size, CUstream s) {
  return cuMemcpyAsync(dst, src, size, per_thread(s));
}
VGPU_DRIVER_API CUresult cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr dst, const void* src, size_t size, CUstream s) {
  return cuMemcpyHtoDAsync_v2(dst, src, size, per_thread(s));
}
VGPU_DRIVER_API CUresult cuMemcpyDtoHAsync_v2_ptsz(void* dst, CUdeviceptr src, size_t size, CUstream s) {
  return cuMemcpyDtoHAsync_v2(dst, src, size, per_thread(s));
}
VGPU_DRIVER_API CUresult cuMemcpyDtoDAsync_v2_ptsz(CUdeviceptr dst, CUdeviceptr src, size_t size, CUstream s) {
  return cuMemcpyDtoDAsync_v2(dst, src, size, per_thread(s));
}
VGPU_DRIVER_API CUresult cuMemcpy2DAsync_v2_ptsz(const CUDA_MEMCPY2D* copy, CUstream s) {
  return cuMemcpy2DAsync_v2(copy, per_thread(s));
}
VGPU_DRIVER_API CUresult cuMemcpy3DAsync_v2_ptsz(const CUDA_MEMCPY3D* copy, CUstream s) {
  return cuMemcpy3DAsync_v2(copy, per_thread(s));
}
VGPU_DRIVER_API CUresult cuMemcpyPeerAsync_ptsz(CUdeviceptr dst, CUcontext dst_ctx, CUdeviceptr src, CUcontext src_ctx,
                                                size_t size, CUstream s) {
  return cuMemcpyPeerAsync(dst, dst_ctx, src, src_ctx, size, per_thread(s));
}
VGPU_DRIVER_API CUresult cuMemsetD8Async_ptsz(CUdeviceptr dst, unsigned char value, size_t count, CUstream s) {
  return cuMemsetD8Async(dst, value, count, per_thread(s));
}
VGPU_DRIVER_API CUresult cuMemsetD16Async_ptsz(CUdeviceptr dst, unsigned short value, size_t count, CUstream s) {
  return cuMemsetD16Async(dst, value, count, per_thread(s));
}
VGPU_DRIVER_API CUresult cuMemsetD32Async_ptsz(CUdeviceptr dst, unsigned int value, size_t count, CUstream s) {
  return cuMemsetD32Async(dst, value, count, per_thread(s));
}
VGPU_DRIVER_API CUresult cuMemsetD2D8Async_ptsz(CUdeviceptr dst, size_t pitch, unsigned char value, size_t w, size_t h,
                                                CUstream s) {
  return cuMemsetD2D8Async(dst, pitch, value, w, h, per_thread(s));
}
VGPU_DRIVER_API CUresult cuMemsetD2D16Async_ptsz(CUdeviceptr dst, size_t pitch, unsigned short value, size_t w,
                                                 size_t h, CUstream s) {
  return cuMemsetD2D16Async(dst, pitch, value, w, h, per_thread(s));
}
VGPU_DRIVER_API CUresult cuMemsetD2D32Async_ptsz(CUdeviceptr dst, size_t pitch, unsigned int value, size_t w, size_t h,
                                                 CUstream s) {
  return cuMemsetD2D32Async(dst, pitch, value, w, h, per_thread(s));
}
VGPU_DRIVER_API CUresult cuStreamQuery_ptsz(CUstream s) { return cuStreamQuery(per_thread(s)); }
VGPU_DRIVER_API CUresult cuStreamSynchronize_ptsz(CUstream s) { return cuStreamSynchronize(per_thread(s)); }
VGPU_DRIVER_API CUresult cuStreamWaitEvent_ptsz(CUstream s, CUevent event, unsigned int flags) {
  return cuStreamWaitEvent(per_thread(s), event, flags);
}
VGPU_DRIVER_API CUresult cuEventRecord_ptsz(CUevent event, CUstream s) { return cuEventRecord(event, per_thread(s)); }
VGPU_DRIVER_API CUresult cuStreamGetId_ptsz(CUstream s, unsigned long long* id) { return cuStreamGetId(per_thread(s), id); }
VGPU_DRIVER_API CUresult cuStreamGetPriority_ptsz(CUstream s, int* priority) {
  return cuStreamGetPriority(per_thread(s), priority);
}
VGPU_DRIVER_API CUresult cuStreamGetFlags_ptsz(CUstream s, unsigned int* flags) {
  return cuStreamGetFlags(per_thread(s), flags);
}
VGPU_DRIVER_API CUresult cuStreamGetCtx_ptsz(CUstream s, CUcontext* context) { return cuStreamGetCtx(per_thread(s), context); }
VGPU_DRIVER_API CUresult cuStreamGetDevice_ptsz(CUstream s, CUdevice* device) {
  return cuStreamGetDevice(per_thread(s), device);
}
