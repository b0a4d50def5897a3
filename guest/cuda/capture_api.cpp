// Stream capture (CUDA graphs) is not offered yet (cuStreamBeginCapture answers "not
// supported"), so no stream is ever capturing: the queries libraries make before each
// operation (cuBLAS asks on every GEMM) answer "none", as the driver does for a stream that is
// not being captured.
#include "guest/cuda/api.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/streams.h"

using namespace vgpu::cuda;

namespace {

CUresult not_capturing(CUstream stream, CUstreamCaptureStatus* status, cuuint64_t* id, CUgraph* graph,
                       const CUgraphNode** dependencies, const CUgraphEdgeData** edges, size_t* count) {
  if (status == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (init_status() != CUDA_SUCCESS) return init_status();
  if (stream_object(stream) == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  *status = CU_STREAM_CAPTURE_STATUS_NONE;
  // The other outputs are only defined while capturing; cleared so nothing stale is read.
  if (id != nullptr) *id = 0;
  if (graph != nullptr) *graph = nullptr;
  if (dependencies != nullptr) *dependencies = nullptr;
  if (edges != nullptr) *edges = nullptr;
  if (count != nullptr) *count = 0;
  return CUDA_SUCCESS;
}

}  // namespace

VGPU_DRIVER_API CUresult cuStreamIsCapturing(CUstream s, CUstreamCaptureStatus* status) {
  return not_capturing(s, status, nullptr, nullptr, nullptr, nullptr, nullptr);
}
VGPU_DRIVER_API CUresult cuStreamIsCapturing_ptsz(CUstream s, CUstreamCaptureStatus* status) {
  return cuStreamIsCapturing(per_thread(s), status);
}
VGPU_DRIVER_API CUresult cuStreamGetCaptureInfo(CUstream s, CUstreamCaptureStatus* status, cuuint64_t* id) {
  return not_capturing(s, status, id, nullptr, nullptr, nullptr, nullptr);
}
VGPU_DRIVER_API CUresult cuStreamGetCaptureInfo_ptsz(CUstream s, CUstreamCaptureStatus* status, cuuint64_t* id) {
  return cuStreamGetCaptureInfo(per_thread(s), status, id);
}
VGPU_DRIVER_API CUresult cuStreamGetCaptureInfo_v2(CUstream s, CUstreamCaptureStatus* status, cuuint64_t* id,
                                                   CUgraph* graph, const CUgraphNode** dependencies, size_t* count) {
  return not_capturing(s, status, id, graph, dependencies, nullptr, count);
}
VGPU_DRIVER_API CUresult cuStreamGetCaptureInfo_v2_ptsz(CUstream s, CUstreamCaptureStatus* status, cuuint64_t* id,
                                                        CUgraph* graph, const CUgraphNode** dependencies,
                                                        size_t* count) {
  return cuStreamGetCaptureInfo_v2(per_thread(s), status, id, graph, dependencies, count);
}
VGPU_DRIVER_API CUresult cuStreamGetCaptureInfo_v3(CUstream s, CUstreamCaptureStatus* status, cuuint64_t* id,
                                                   CUgraph* graph, const CUgraphNode** dependencies,
                                                   const CUgraphEdgeData** edges, size_t* count) {
  return not_capturing(s, status, id, graph, dependencies, edges, count);
}
VGPU_DRIVER_API CUresult cuStreamGetCaptureInfo_v3_ptsz(CUstream s, CUstreamCaptureStatus* status, cuuint64_t* id,
                                                        CUgraph* graph, const CUgraphNode** dependencies,
                                                        const CUgraphEdgeData** edges, size_t* count) {
  return cuStreamGetCaptureInfo_v3(per_thread(s), status, id, graph, dependencies, edges, count);
}
VGPU_DRIVER_API CUresult cuThreadExchangeStreamCaptureMode(CUstreamCaptureMode* mode) {
  if (mode == nullptr) return CUDA_ERROR_INVALID_VALUE;
  // Nothing is ever captured, so the mode has nothing to govern; the exchange is kept per thread.
  thread_local CUstreamCaptureMode current = CU_STREAM_CAPTURE_MODE_GLOBAL;
  const CUstreamCaptureMode previous = current;
  current = *mode;
  *mode = previous;
  return CUDA_SUCCESS;
}
