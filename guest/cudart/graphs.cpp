// Stream capture and graphs, over the driver shim's (guest/cuda/capture_api.cpp, graph_api.cpp).
// A cudaGraph_t is a CUgraph and a cudaGraphExec_t a CUgraphExec, as in NVIDIA's runtime.
#include "guest/client/log.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/streams.h"

namespace vgpu::cudart {
namespace {

static_assert(static_cast<int>(cudaStreamCaptureModeGlobal) == CU_STREAM_CAPTURE_MODE_GLOBAL);
static_assert(static_cast<int>(cudaStreamCaptureModeThreadLocal) == CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
static_assert(static_cast<int>(cudaStreamCaptureModeRelaxed) == CU_STREAM_CAPTURE_MODE_RELAXED);
static_assert(static_cast<int>(cudaStreamCaptureStatusActive) == CU_STREAM_CAPTURE_STATUS_ACTIVE);
static_assert(static_cast<int>(cudaStreamCaptureStatusInvalidated) == CU_STREAM_CAPTURE_STATUS_INVALIDATED);

cudaError_t begin_capture(cudaStream_t stream, cudaStreamCaptureMode mode, bool per_thread_default) {
  return context_call([&](Runtime&) {
    return to_cuda_error(
        cuStreamBeginCapture_v2(driver_stream(stream, per_thread_default), static_cast<CUstreamCaptureMode>(mode)));
  });
}

cudaError_t end_capture(cudaStream_t stream, cudaGraph_t* graph, bool per_thread_default) {
  return context_call([&](Runtime&) {
    return to_cuda_error(cuStreamEndCapture(driver_stream(stream, per_thread_default), reinterpret_cast<CUgraph*>(graph)));
  });
}

cudaError_t capture_info(cudaStream_t stream, cudaStreamCaptureStatus* status, unsigned long long* id,
                         cudaGraph_t* graph, const cudaGraphNode_t** dependencies, const cudaGraphEdgeData** edges,
                         size_t* count, bool per_thread_default) {
  static_assert(sizeof(cudaGraphEdgeData) == sizeof(CUgraphEdgeData));
  return context_call([&](Runtime&) {
    return to_cuda_error(cuStreamGetCaptureInfo_v3(
        driver_stream(stream, per_thread_default), reinterpret_cast<CUstreamCaptureStatus*>(status),
        reinterpret_cast<cuuint64_t*>(id), reinterpret_cast<CUgraph*>(graph),
        reinterpret_cast<const CUgraphNode**>(dependencies), reinterpret_cast<const CUgraphEdgeData**>(edges), count));
  });
}

cudaError_t instantiate_with_params(cudaGraphExec_t* exec, cudaGraph_t graph, cudaGraphInstantiateParams* params,
                                    bool per_thread_default) {
  return context_call([&](Runtime&) {
    if (params == nullptr) return cudaErrorInvalidValue;
    CUDA_GRAPH_INSTANTIATE_PARAMS p{};
    p.flags = params->flags;
    p.hUploadStream = driver_stream(params->uploadStream, per_thread_default);
    const CUresult r = cuGraphInstantiateWithParams(reinterpret_cast<CUgraphExec*>(exec), graph, &p);
    params->errNode_out = p.hErrNode_out;
    params->result_out = static_cast<cudaGraphInstantiateResult>(p.result_out);
    return to_cuda_error(r);
  });
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode) {
  trace_api("cudaStreamBeginCapture stream=%p mode=%d", static_cast<void*>(stream), static_cast<int>(mode));
  return begin_capture(stream, mode, false);
}
VGPU_EXPORT cudaError_t cudaStreamBeginCapture_ptsz(cudaStream_t stream, cudaStreamCaptureMode mode) {
  trace_api("cudaStreamBeginCapture_ptsz stream=%p mode=%d", static_cast<void*>(stream), static_cast<int>(mode));
  return begin_capture(stream, mode, true);
}
VGPU_EXPORT cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* pGraph) {
  trace_api("cudaStreamEndCapture stream=%p", static_cast<void*>(stream));
  return end_capture(stream, pGraph, false);
}
VGPU_EXPORT cudaError_t cudaStreamEndCapture_ptsz(cudaStream_t stream, cudaGraph_t* pGraph) {
  trace_api("cudaStreamEndCapture_ptsz stream=%p", static_cast<void*>(stream));
  return end_capture(stream, pGraph, true);
}
VGPU_EXPORT cudaError_t cudaStreamGetCaptureInfo(cudaStream_t stream, cudaStreamCaptureStatus* status,
                                                 unsigned long long* id, cudaGraph_t* graph,
                                                 const cudaGraphNode_t** dependencies,
                                                 const cudaGraphEdgeData** edges, size_t* count) {
  trace_api("cudaStreamGetCaptureInfo stream=%p", static_cast<void*>(stream));
  return capture_info(stream, status, id, graph, dependencies, edges, count, false);
}
VGPU_EXPORT cudaError_t cudaStreamGetCaptureInfo_ptsz(cudaStream_t stream, cudaStreamCaptureStatus* status,
                                                      unsigned long long* id, cudaGraph_t* graph,
                                                      const cudaGraphNode_t** dependencies,
                                                      const cudaGraphEdgeData** edges, size_t* count) {
  trace_api("cudaStreamGetCaptureInfo_ptsz stream=%p", static_cast<void*>(stream));
  return capture_info(stream, status, id, graph, dependencies, edges, count, true);
}
VGPU_EXPORT cudaError_t cudaThreadExchangeStreamCaptureMode(cudaStreamCaptureMode* mode) {
  trace_api("cudaThreadExchangeStreamCaptureMode");
  return offline_call([&] { return to_cuda_error(cuThreadExchangeStreamCaptureMode(reinterpret_cast<CUstreamCaptureMode*>(mode))); });
}

VGPU_EXPORT cudaError_t cudaGraphInstantiate(cudaGraphExec_t* pGraphExec, cudaGraph_t graph, unsigned long long flags) {
  trace_api("cudaGraphInstantiate graph=%p flags=%llu", static_cast<void*>(graph), flags);
  return context_call([&](Runtime&) {
    return to_cuda_error(cuGraphInstantiateWithFlags(reinterpret_cast<CUgraphExec*>(pGraphExec), graph, flags));
  });
}
VGPU_EXPORT cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t* pGraphExec, cudaGraph_t graph,
                                                      unsigned long long flags) {
  return cudaGraphInstantiate(pGraphExec, graph, flags);
}
VGPU_EXPORT cudaError_t cudaGraphInstantiateWithParams(cudaGraphExec_t* pGraphExec, cudaGraph_t graph,
                                                       cudaGraphInstantiateParams* params) {
  trace_api("cudaGraphInstantiateWithParams graph=%p", static_cast<void*>(graph));
  return instantiate_with_params(pGraphExec, graph, params, false);
}
VGPU_EXPORT cudaError_t cudaGraphInstantiateWithParams_ptsz(cudaGraphExec_t* pGraphExec, cudaGraph_t graph,
                                                            cudaGraphInstantiateParams* params) {
  trace_api("cudaGraphInstantiateWithParams_ptsz graph=%p", static_cast<void*>(graph));
  return instantiate_with_params(pGraphExec, graph, params, true);
}

VGPU_EXPORT cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  trace_api("cudaGraphLaunch exec=%p stream=%p", static_cast<void*>(exec), static_cast<void*>(stream));
  return context_call([&](Runtime&) { return to_cuda_error(cuGraphLaunch(exec, driver_stream(stream, false))); });
}
VGPU_EXPORT cudaError_t cudaGraphLaunch_ptsz(cudaGraphExec_t exec, cudaStream_t stream) {
  trace_api("cudaGraphLaunch_ptsz exec=%p stream=%p", static_cast<void*>(exec), static_cast<void*>(stream));
  return context_call([&](Runtime&) { return to_cuda_error(cuGraphLaunch(exec, driver_stream(stream, true))); });
}
VGPU_EXPORT cudaError_t cudaGraphUpload(cudaGraphExec_t exec, cudaStream_t stream) {
  trace_api("cudaGraphUpload exec=%p stream=%p", static_cast<void*>(exec), static_cast<void*>(stream));
  return context_call([&](Runtime&) { return to_cuda_error(cuGraphUpload(exec, driver_stream(stream, false))); });
}
VGPU_EXPORT cudaError_t cudaGraphUpload_ptsz(cudaGraphExec_t exec, cudaStream_t stream) {
  trace_api("cudaGraphUpload_ptsz exec=%p stream=%p", static_cast<void*>(exec), static_cast<void*>(stream));
  return context_call([&](Runtime&) { return to_cuda_error(cuGraphUpload(exec, driver_stream(stream, true))); });
}
VGPU_EXPORT cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  trace_api("cudaGraphExecDestroy exec=%p", static_cast<void*>(exec));
  return context_call([&](Runtime&) { return to_cuda_error(cuGraphExecDestroy(exec)); });
}
VGPU_EXPORT cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  trace_api("cudaGraphDestroy graph=%p", static_cast<void*>(graph));
  return context_call([&](Runtime&) { return to_cuda_error(cuGraphDestroy(graph)); });
}

VGPU_EXPORT cudaError_t cudaGraphClone(cudaGraph_t* pGraphClone, cudaGraph_t originalGraph) {
  trace_api("cudaGraphClone graph=%p", static_cast<void*>(originalGraph));
  return context_call([&](Runtime&) {
    return to_cuda_error(cuGraphClone(reinterpret_cast<CUgraph*>(pGraphClone), originalGraph));
  });
}
