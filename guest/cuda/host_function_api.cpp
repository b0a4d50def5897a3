// Host functions on streams and in graphs (host_functions.h): vgpud is sent the id of a function
// registered here, never a pointer of the process's.
#include <memory>

#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/capture.h"
#include "guest/cuda/graph_build.h"
#include "guest/cuda/graph_params.h"
#include "guest/cuda/handles.h"
#include "guest/cuda/host_functions.h"
#include "guest/cuda/streams.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace {

CUresult launch_host_func(CUstream stream, CUhostFn fn, void* data) {
  if (fn == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    proto::LaunchHostFuncRequest request{};
    if (!wire_stream(stream, &request.stream)) return CUDA_ERROR_INVALID_HANDLE;
    if (CUresult r = start_host_functions(*ch); r != CUDA_SUCCESS) return r;
    // On a capturing stream the function becomes a node of the graph and runs at each of its
    // launches, not now: it is kept for the graph the capture ends in.
    uint64_t capture = 0;
    if (CUresult r = capture_of_stream(request.stream, &capture); r != CUDA_SUCCESS) return r;
    request.function = add_host_function(fn, data, /*kept=*/capture != 0);
    if (CUresult r = to_cu_result(guest::post<proto::CallId::LaunchHostFunc>(*ch, request)); r != CUDA_SUCCESS) {
      drop_host_function(request.function);
      return r;
    }
    if (capture != 0)
      capture_keeps_host_function(capture, request.function);
    else
      expect_host_functions(1);
    return CUDA_SUCCESS;
  });
}

// A stream callback: a host function that also gets the stream and a status.
struct StreamCallback {
  CUstreamCallback callback;
  CUstream stream;
  void* data;
};

void CUDA_CB run_stream_callback(void* p) {
  std::unique_ptr<StreamCallback> c(static_cast<StreamCallback*>(p));
  // Errors of earlier work reach the program at its next synchronizing call, as its stream's
  // do natively; the callback itself is told the stream got here.
  c->callback(c->stream, CUDA_SUCCESS, c->data);
}

CUresult add_callback(CUstream stream, CUstreamCallback callback, void* data, unsigned flags) {
  if (callback == nullptr || flags != 0) return CUDA_ERROR_INVALID_VALUE;
  // Runs once, so its wrapper is freed when it has: a capture could not replay it.
  CUstreamCaptureStatus capturing = CU_STREAM_CAPTURE_STATUS_NONE;
  if (CUresult r = cuStreamIsCapturing(stream, &capturing); r != CUDA_SUCCESS) return r;
  if (capturing != CU_STREAM_CAPTURE_STATUS_NONE) return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
  auto c = std::make_unique<StreamCallback>(StreamCallback{callback, stream, data});
  const CUresult r = launch_host_func(stream, &run_stream_callback, c.get());
  if (r == CUDA_SUCCESS) c.release();
  return r;
}

}  // namespace

VGPU_DRIVER_API CUresult cuStreamAddCallback(CUstream stream, CUstreamCallback callback, void* data, unsigned flags) {
  return add_callback(stream, callback, data, flags);
}
VGPU_DRIVER_API CUresult cuStreamAddCallback_ptsz(CUstream stream, CUstreamCallback callback, void* data,
                                                  unsigned flags) {
  return add_callback(per_thread(stream), callback, data, flags);
}

VGPU_DRIVER_API CUresult cuLaunchHostFunc(CUstream stream, CUhostFn fn, void* data) {
  return launch_host_func(stream, fn, data);
}
VGPU_DRIVER_API CUresult cuLaunchHostFunc_ptsz(CUstream stream, CUhostFn fn, void* data) {
  return launch_host_func(per_thread(stream), fn, data);
}

VGPU_DRIVER_API CUresult cuGraphAddHostNode(CUgraphNode* out, CUgraph graph, const CUgraphNode* deps, size_t count,
                                            const CUDA_HOST_NODE_PARAMS* params) {
  if (params == nullptr || params->fn == nullptr) return CUDA_ERROR_INVALID_VALUE;
  uint64_t id = 0;
  const CUresult result = add_graph_node(out, graph, deps, count, CU_GRAPH_NODE_TYPE_HOST,
                        [&](guest::Channel& ch, GraphObject& g, proto::GraphNodeReply* reply) {
                          if (CUresult r = start_host_functions(ch); r != CUDA_SUCCESS) return r;
                          id = add_host_function(params->fn, params->userData, /*kept=*/true);
                          const guest::CallResult r = guest::call<proto::CallId::GraphAddHostNode>(
                              ch, proto::GraphAddHostNodeRequest{g.wire, 0, id}, reply);
                          if (r.status != 0) {
                            drop_host_function(id);
                            return to_cu_result(r.status);
                          }
                          g.host_functions.adopt(id);
                          return CUDA_SUCCESS;
                        });
  if (result == CUDA_SUCCESS) remember_host_node(*out, params->fn, params->userData, id);
  return result;
}
