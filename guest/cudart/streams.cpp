// cudaStream* entry points, over the driver's streams.
#include "guest/cudart/streams.h"

#include <memory>

#include "guest/client/log.h"
#include "guest/cudart/entry.h"

namespace vgpu::cudart {
namespace {

cudaError_t create_stream(cudaStream_t* stream, unsigned flags, int priority) {
  static_assert(cudaStreamNonBlocking == CU_STREAM_NON_BLOCKING);
  return context_call([&](Runtime&) {
    if (stream == nullptr || (flags & ~unsigned{cudaStreamNonBlocking}) != 0) return cudaErrorInvalidValue;
    // The driver clamps priorities outside the range rather than failing, as CUDA does.
    return to_cuda_error(cuStreamCreateWithPriority(reinterpret_cast<CUstream*>(stream), flags, priority));
  });
}

template <typename Call>
cudaError_t stream_call(Call call, cudaStream_t stream, bool per_thread_default) {
  return context_call([&](Runtime&) { return to_cuda_error(call(driver_stream(stream, per_thread_default))); });
}

cudaError_t is_capturing(cudaStream_t stream, cudaStreamCaptureStatus* status, bool per_thread_default) {
  static_assert(static_cast<int>(cudaStreamCaptureStatusNone) == CU_STREAM_CAPTURE_STATUS_NONE);
  return context_call([&](Runtime&) {
    if (status == nullptr) return cudaErrorInvalidValue;
    return to_cuda_error(cuStreamIsCapturing(driver_stream(stream, per_thread_default),
                                             reinterpret_cast<CUstreamCaptureStatus*>(status)));
  });
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT cudaError_t cudaStreamCreate(cudaStream_t* pStream) {
  trace_api("cudaStreamCreate");
  return create_stream(pStream, cudaStreamDefault, 0);
}

VGPU_EXPORT cudaError_t cudaStreamCreateWithFlags(cudaStream_t* pStream, unsigned int flags) {
  trace_api("cudaStreamCreateWithFlags flags=%u", flags);
  return create_stream(pStream, flags, 0);
}

VGPU_EXPORT cudaError_t cudaStreamCreateWithPriority(cudaStream_t* pStream, unsigned int flags, int priority) {
  trace_api("cudaStreamCreateWithPriority flags=%u priority=%d", flags, priority);
  return create_stream(pStream, flags, priority);
}

VGPU_EXPORT cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  trace_api("cudaStreamDestroy stream=%p", static_cast<void*>(stream));
  return context_call([&](Runtime&) {
    // The default streams live on; the driver refuses to destroy them too.
    if (stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread)
      return cudaErrorInvalidResourceHandle;
    return to_cuda_error(cuStreamDestroy(stream));
  });
}

VGPU_EXPORT cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  trace_api("cudaStreamSynchronize stream=%p", static_cast<void*>(stream));
  return stream_call(cuStreamSynchronize, stream, false);
}

VGPU_EXPORT cudaError_t cudaStreamSynchronize_ptsz(cudaStream_t stream) {
  trace_api("cudaStreamSynchronize_ptsz stream=%p", static_cast<void*>(stream));
  return stream_call(cuStreamSynchronize, stream, true);
}

VGPU_EXPORT cudaError_t cudaStreamQuery(cudaStream_t stream) {
  trace_api("cudaStreamQuery stream=%p", static_cast<void*>(stream));
  return stream_call(cuStreamQuery, stream, false);
}

VGPU_EXPORT cudaError_t cudaStreamQuery_ptsz(cudaStream_t stream) {
  trace_api("cudaStreamQuery_ptsz stream=%p", static_cast<void*>(stream));
  return stream_call(cuStreamQuery, stream, true);
}

VGPU_EXPORT cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags) {
  trace_api("cudaStreamWaitEvent stream=%p event=%p", static_cast<void*>(stream), static_cast<void*>(event));
  return stream_call([&](CUstream s) { return cuStreamWaitEvent(s, event, flags); }, stream, false);
}

VGPU_EXPORT cudaError_t cudaStreamWaitEvent_ptsz(cudaStream_t stream, cudaEvent_t event, unsigned int flags) {
  trace_api("cudaStreamWaitEvent_ptsz stream=%p event=%p", static_cast<void*>(stream), static_cast<void*>(event));
  return stream_call([&](CUstream s) { return cuStreamWaitEvent(s, event, flags); }, stream, true);
}

VGPU_EXPORT cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* pCaptureStatus) {
  trace_api("cudaStreamIsCapturing stream=%p", static_cast<void*>(stream));
  return is_capturing(stream, pCaptureStatus, false);
}

VGPU_EXPORT cudaError_t cudaStreamIsCapturing_ptsz(cudaStream_t stream, cudaStreamCaptureStatus* pCaptureStatus) {
  trace_api("cudaStreamIsCapturing_ptsz stream=%p", static_cast<void*>(stream));
  return is_capturing(stream, pCaptureStatus, true);
}

namespace vgpu::cudart {
namespace {

template <typename Out, typename Get>
cudaError_t stream_get(cudaStream_t stream, Out* out, bool per_thread_default, Get get) {
  return context_call([&](Runtime&) {
    if (out == nullptr) return cudaErrorInvalidValue;
    return to_cuda_error(get(driver_stream(stream, per_thread_default), out));
  });
}

}  // namespace
}  // namespace vgpu::cudart

VGPU_EXPORT cudaError_t cudaStreamGetFlags(cudaStream_t stream, unsigned int* flags) {
  trace_api("cudaStreamGetFlags stream=%p", static_cast<void*>(stream));
  return stream_get(stream, flags, false, cuStreamGetFlags);
}

VGPU_EXPORT cudaError_t cudaStreamGetFlags_ptsz(cudaStream_t stream, unsigned int* flags) {
  trace_api("cudaStreamGetFlags_ptsz stream=%p", static_cast<void*>(stream));
  return stream_get(stream, flags, true, cuStreamGetFlags);
}

VGPU_EXPORT cudaError_t cudaStreamGetPriority(cudaStream_t stream, int* priority) {
  trace_api("cudaStreamGetPriority stream=%p", static_cast<void*>(stream));
  return stream_get(stream, priority, false, cuStreamGetPriority);
}

VGPU_EXPORT cudaError_t cudaStreamGetPriority_ptsz(cudaStream_t stream, int* priority) {
  trace_api("cudaStreamGetPriority_ptsz stream=%p", static_cast<void*>(stream));
  return stream_get(stream, priority, true, cuStreamGetPriority);
}

// A CUdevice is the device's ordinal, as a runtime device number is.
VGPU_EXPORT cudaError_t cudaStreamGetDevice(cudaStream_t stream, int* device) {
  trace_api("cudaStreamGetDevice stream=%p", static_cast<void*>(stream));
  return stream_get(stream, device, false, cuStreamGetDevice);
}

VGPU_EXPORT cudaError_t cudaStreamGetDevice_ptsz(cudaStream_t stream, int* device) {
  trace_api("cudaStreamGetDevice_ptsz stream=%p", static_cast<void*>(stream));
  return stream_get(stream, device, true, cuStreamGetDevice);
}

VGPU_EXPORT cudaError_t cudaStreamGetId(cudaStream_t stream, unsigned long long* streamId) {
  trace_api("cudaStreamGetId stream=%p", static_cast<void*>(stream));
  return stream_get(stream, streamId, false, cuStreamGetId);
}

VGPU_EXPORT cudaError_t cudaStreamGetId_ptsz(cudaStream_t stream, unsigned long long* streamId) {
  trace_api("cudaStreamGetId_ptsz stream=%p", static_cast<void*>(stream));
  return stream_get(stream, streamId, true, cuStreamGetId);
}

// ---- host work ordered on a stream: the driver's host functions (guest/cuda/host_functions.h)

namespace {

// A runtime callback, told the stream as the program named it.
struct RuntimeCallback {
  cudaStreamCallback_t callback;
  cudaStream_t stream;
  void* data;
};

void CUDA_CB run_runtime_callback(CUstream, CUresult status, void* p) {
  std::unique_ptr<RuntimeCallback> c(static_cast<RuntimeCallback*>(p));
  c->callback(c->stream, static_cast<cudaError_t>(status), c->data);
}

cudaError_t add_callback(cudaStream_t stream, cudaStreamCallback_t callback, void* data, unsigned flags,
                         bool per_thread_default) {
  return context_call([&](Runtime&) {
    if (callback == nullptr) return cudaErrorInvalidValue;
    auto c = std::make_unique<RuntimeCallback>(RuntimeCallback{callback, stream, data});
    const CUresult r =
        cuStreamAddCallback(driver_stream(stream, per_thread_default), &run_runtime_callback, c.get(), flags);
    if (r == CUDA_SUCCESS) c.release();  // freed once it has run
    return to_cuda_error(r);
  });
}

cudaError_t launch_host_func(cudaStream_t stream, cudaHostFn_t fn, void* data, bool per_thread_default) {
  return context_call(
      [&](Runtime&) { return to_cuda_error(cuLaunchHostFunc(driver_stream(stream, per_thread_default), fn, data)); });
}

}  // namespace

VGPU_EXPORT cudaError_t cudaLaunchHostFunc(cudaStream_t stream, cudaHostFn_t fn, void* userData) {
  trace_api("cudaLaunchHostFunc stream=%p", static_cast<void*>(stream));
  return launch_host_func(stream, fn, userData, false);
}

VGPU_EXPORT cudaError_t cudaLaunchHostFunc_ptsz(cudaStream_t stream, cudaHostFn_t fn, void* userData) {
  trace_api("cudaLaunchHostFunc_ptsz stream=%p", static_cast<void*>(stream));
  return launch_host_func(stream, fn, userData, true);
}

VGPU_EXPORT cudaError_t cudaStreamAddCallback(cudaStream_t stream, cudaStreamCallback_t callback, void* userData,
                                              unsigned int flags) {
  trace_api("cudaStreamAddCallback stream=%p", static_cast<void*>(stream));
  return add_callback(stream, callback, userData, flags, false);
}

VGPU_EXPORT cudaError_t cudaStreamAddCallback_ptsz(cudaStream_t stream, cudaStreamCallback_t callback,
                                                   void* userData, unsigned int flags) {
  trace_api("cudaStreamAddCallback_ptsz stream=%p", static_cast<void*>(stream));
  return add_callback(stream, callback, userData, flags, true);
}
