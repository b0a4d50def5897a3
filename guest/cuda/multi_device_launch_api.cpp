// cuLaunchCooperativeKernelMultiDevice (deprecated since CUDA 11.3, still in the driver): one
// cooperative launch per device, ordered against each other with events as the driver orders
// them. By default each kernel starts only after all prior work of every stream named, and later
// work of every stream waits for every kernel; the two flags narrow that to each kernel's own
// stream. CUDA 13's cooperative groups have no grid spanning devices (multi_grid_group is
// gone), so a kernel cannot tell these launches from the driver's single one.
#include <cuda.h>

#include <vector>

#include "guest/cuda/api.h"

namespace {

constexpr unsigned kKnownFlags =
    CUDA_COOPERATIVE_LAUNCH_MULTI_DEVICE_NO_PRE_LAUNCH_SYNC | CUDA_COOPERATIVE_LAUNCH_MULTI_DEVICE_NO_POST_LAUNCH_SYNC;

bool same_shape(const CUDA_LAUNCH_PARAMS& a, const CUDA_LAUNCH_PARAMS& b) {
  return a.gridDimX == b.gridDimX && a.gridDimY == b.gridDimY && a.gridDimZ == b.gridDimZ &&
         a.blockDimX == b.blockDimX && a.blockDimY == b.blockDimY && a.blockDimZ == b.blockDimZ &&
         a.sharedMemBytes == b.sharedMemBytes;
}

// Runs `fn` with `ctx` current, as each launch and event must be made in its stream's context.
template <typename Fn>
CUresult in_context(CUcontext ctx, Fn&& fn) {
  if (CUresult r = cuCtxPushCurrent(ctx); r != CUDA_SUCCESS) return r;
  const CUresult r = fn();
  CUcontext popped = nullptr;
  const CUresult p = cuCtxPopCurrent(&popped);
  return r != CUDA_SUCCESS ? r : p;
}

// Every stream waits for what each of the others has been given so far (records an event on
// each, then waits on the others'). The events go once the waits are queued, as the driver allows.
CUresult join_streams(const std::vector<CUstream>& streams, const std::vector<CUcontext>& contexts) {
  std::vector<CUevent> events(streams.size(), nullptr);
  CUresult r = CUDA_SUCCESS;
  for (size_t i = 0; i < streams.size() && r == CUDA_SUCCESS; ++i) {
    r = in_context(contexts[i], [&] {
      if (CUresult e = cuEventCreate(&events[i], CU_EVENT_DISABLE_TIMING); e != CUDA_SUCCESS) return e;
      return cuEventRecord(events[i], streams[i]);
    });
  }
  for (size_t j = 0; j < streams.size() && r == CUDA_SUCCESS; ++j) {
    r = in_context(contexts[j], [&] {
      for (size_t i = 0; i < streams.size(); ++i)
        if (i != j)
          if (CUresult e = cuStreamWaitEvent(streams[j], events[i], 0); e != CUDA_SUCCESS) return e;
      return CUDA_SUCCESS;
    });
  }
  for (CUevent e : events)
    if (e != nullptr) (void)cuEventDestroy(e);
  return r;
}

}  // namespace

VGPU_DRIVER_API CUresult cuLaunchCooperativeKernelMultiDevice(CUDA_LAUNCH_PARAMS* list, unsigned int count,
                                                              unsigned int flags) {
  if (list == nullptr || count == 0 || (flags & ~kKnownFlags) != 0) return CUDA_ERROR_INVALID_VALUE;
  int devices = 0;
  if (CUresult r = cuDeviceGetCount(&devices); r != CUDA_SUCCESS) return r;
  if (count > static_cast<unsigned>(devices)) return CUDA_ERROR_INVALID_VALUE;
  std::vector<CUstream> streams(count);
  std::vector<CUcontext> contexts(count);
  std::vector<CUdevice> used;
  for (unsigned i = 0; i < count; ++i) {
    const CUDA_LAUNCH_PARAMS& p = list[i];
    if (p.function == nullptr || !same_shape(p, list[0])) return CUDA_ERROR_INVALID_VALUE;
    // Streams the program made: not the NULL, legacy or per-thread stream (the driver's answer).
    if (p.hStream == nullptr || p.hStream == CU_STREAM_LEGACY || p.hStream == CU_STREAM_PER_THREAD)
      return CUDA_ERROR_INVALID_HANDLE;
    if (CUresult r = cuStreamGetCtx(p.hStream, &contexts[i]); r != CUDA_SUCCESS) return r;
    CUdevice device = 0;
    if (CUresult r = in_context(contexts[i], [&] { return cuCtxGetDevice(&device); }); r != CUDA_SUCCESS) return r;
    for (CUdevice d : used)
      if (d == device) return CUDA_ERROR_INVALID_VALUE;  // no two kernels on one device
    used.push_back(device);
    streams[i] = p.hStream;
  }
  if (count > 1 && (flags & CUDA_COOPERATIVE_LAUNCH_MULTI_DEVICE_NO_PRE_LAUNCH_SYNC) == 0)
    if (CUresult r = join_streams(streams, contexts); r != CUDA_SUCCESS) return r;
  for (unsigned i = 0; i < count; ++i) {
    const CUDA_LAUNCH_PARAMS& p = list[i];
    const CUresult r = in_context(contexts[i], [&] {
      return cuLaunchCooperativeKernel(p.function, p.gridDimX, p.gridDimY, p.gridDimZ, p.blockDimX, p.blockDimY,
                                       p.blockDimZ, p.sharedMemBytes, p.hStream, p.kernelParams);
    });
    if (r != CUDA_SUCCESS) return r;
  }
  if (count > 1 && (flags & CUDA_COOPERATIVE_LAUNCH_MULTI_DEVICE_NO_POST_LAUNCH_SYNC) == 0)
    return join_streams(streams, contexts);
  return CUDA_SUCCESS;
}
