// Graphs (docs/design.md §19): vgpud holds each graph and executable graph; the guest holds a
// tagged object with its id, so a bad handle is refused here, before anything is sent, and a
// launch of a whole graph is one posted message.
#include <atomic>
#include <cstring>

#include "guest/client/log.h"
#include "guest/cuda/api.h"
#include "guest/cuda/capture.h"
#include "guest/cuda/managed_memory.h"
#include "guest/cuda/handles.h"
#include "guest/cuda/host_functions.h"
#include "guest/cuda/streams.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace {

// The flags vgpud's driver applies for a guest; device launch would hand kernels a graph to
// launch from the GPU, which vgpu does not offer.
constexpr unsigned long long kInstantiateFlags = CUDA_GRAPH_INSTANTIATE_FLAG_AUTO_FREE_ON_LAUNCH |
                                                 CUDA_GRAPH_INSTANTIATE_FLAG_UPLOAD |
                                                 CUDA_GRAPH_INSTANTIATE_FLAG_USE_NODE_PRIORITY;

CUresult instantiate(CUgraphExec* out, CUgraph graph, unsigned long long flags) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  GraphObject* g = object_of<GraphObject>(graph, HandleKind::Graph);
  if (g == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if ((flags & CUDA_GRAPH_INSTANTIATE_FLAG_DEVICE_LAUNCH) != 0) {
    static std::atomic<bool> said{false};
    if (!said.exchange(true))
      guest::log(guest::LogLevel::Warn, "cuGraphInstantiate: device launch is not supported by vgpu");
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  if ((flags & ~kInstantiateFlags) != 0) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    const proto::GraphInstantiateRequest request{g->wire, 0, flags};
    proto::GraphInstantiateReply reply{};
    const guest::CallResult result =
        ch->call(proto::CallId::GraphInstantiate, {{&request, sizeof request}},
                 std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
    if (result.status != 0) return to_cu_result(result.status);
    std::lock_guard lock(g->mutex);
    *out = reinterpret_cast<CUgraphExec>(
        new GraphExecObject{HandleKind::GraphExec, reply.exec, g->device, g->host_functions, flags, g->wire});
    return CUDA_SUCCESS;
  });
}

// Launch and upload: posted, in stream order, after the handle checks the driver makes at the call.
CUresult exec_into_stream(proto::CallId id, CUgraphExec exec, CUstream stream) {
  GraphExecObject* e = object_of<GraphExecObject>(exec, HandleKind::GraphExec);
  if (e == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    proto::GraphExecStreamRequest request{e->wire, 0, 0};
    if (!wire_stream(stream, &request.stream)) return CUDA_ERROR_INVALID_HANDLE;
    // The graph's kernels may use any managed memory (managed_memory.h).
    if (id == proto::CallId::GraphLaunch) {
      if (CUresult r = before_gpu_work_on(request.stream); r != CUDA_SUCCESS) return r;
    }
    if (CUresult r = to_cu_result(ch->post(id, {{&request, sizeof request}})); r != CUDA_SUCCESS) return r;
    // Its host nodes will hand their functions to this process's thread.
    if (id == proto::CallId::GraphLaunch) expect_host_functions(e->host_functions.size());
    return CUDA_SUCCESS;
  });
}

// Destroys vgpud's object, then the guest's: the handle reads as stale from here on.
template <typename Object, typename Request>
CUresult destroy(void* handle, HandleKind kind, proto::CallId id) {
  Object* o = object_of<Object>(handle, kind);
  if (o == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    const Request request{o->wire, 0};
    const CUresult r = to_cu_result(ch->call(id, {{&request, sizeof request}}, {}).status);
    o->kind = HandleKind::Dead;
    delete o;
    return r;
  });
}

}  // namespace

VGPU_DRIVER_API CUresult cuGraphInstantiateWithFlags(CUgraphExec* out, CUgraph graph, unsigned long long flags) {
  return instantiate(out, graph, flags);
}
// CUDA 10-11's form, with an error node and a log: vgpud's driver reports a failure as a status.
VGPU_DRIVER_API CUresult cuGraphInstantiate_v2(CUgraphExec* out, CUgraph graph, CUgraphNode* error_node, char* log,
                                               size_t log_size) {
  if (error_node != nullptr) *error_node = nullptr;
  if (log != nullptr && log_size > 0) log[0] = '\0';
  return instantiate(out, graph, 0);
}
VGPU_DRIVER_API CUresult cuGraphInstantiate(CUgraphExec* out, CUgraph graph, CUgraphNode* error_node, char* log,
                                            size_t log_size) {
  return cuGraphInstantiate_v2(out, graph, error_node, log, log_size);
}
VGPU_DRIVER_API CUresult cuGraphInstantiateWithParams(CUgraphExec* out, CUgraph graph,
                                                      CUDA_GRAPH_INSTANTIATE_PARAMS* params) {
  if (params == nullptr) return CUDA_ERROR_INVALID_VALUE;
  params->hErrNode_out = nullptr;
  params->result_out = CUDA_GRAPH_INSTANTIATE_ERROR;
  // The upload the flag asks for goes into the stream the parameters name.
  const bool upload = (params->flags & CUDA_GRAPH_INSTANTIATE_FLAG_UPLOAD) != 0;
  CUresult r = instantiate(out, graph, params->flags & ~static_cast<cuuint64_t>(CUDA_GRAPH_INSTANTIATE_FLAG_UPLOAD));
  if (r == CUDA_SUCCESS) static_cast<GraphExecObject*>(static_cast<void*>(*out))->flags = params->flags;  // as given
  if (r == CUDA_SUCCESS && upload) r = cuGraphUpload(*out, params->hUploadStream);
  if (r == CUDA_SUCCESS) params->result_out = CUDA_GRAPH_INSTANTIATE_SUCCESS;
  return r;
}
VGPU_DRIVER_API CUresult cuGraphInstantiateWithParams_ptsz(CUgraphExec* out, CUgraph graph,
                                                           CUDA_GRAPH_INSTANTIATE_PARAMS* params) {
  if (params == nullptr) return CUDA_ERROR_INVALID_VALUE;
  CUDA_GRAPH_INSTANTIATE_PARAMS own = *params;
  own.hUploadStream = per_thread(params->hUploadStream);
  const CUresult r = cuGraphInstantiateWithParams(out, graph, &own);
  params->hErrNode_out = own.hErrNode_out;
  params->result_out = own.result_out;
  return r;
}

VGPU_DRIVER_API CUresult cuGraphLaunch(CUgraphExec exec, CUstream stream) {
  return exec_into_stream(proto::CallId::GraphLaunch, exec, stream);
}
VGPU_DRIVER_API CUresult cuGraphLaunch_ptsz(CUgraphExec exec, CUstream stream) {
  return cuGraphLaunch(exec, per_thread(stream));
}
VGPU_DRIVER_API CUresult cuGraphUpload(CUgraphExec exec, CUstream stream) {
  return exec_into_stream(proto::CallId::GraphUpload, exec, stream);
}
VGPU_DRIVER_API CUresult cuGraphUpload_ptsz(CUgraphExec exec, CUstream stream) {
  return cuGraphUpload(exec, per_thread(stream));
}

VGPU_DRIVER_API CUresult cuGraphExecDestroy(CUgraphExec exec) {
  return destroy<GraphExecObject, proto::GraphExecRequest>(exec, HandleKind::GraphExec, proto::CallId::GraphExecDestroy);
}
VGPU_DRIVER_API CUresult cuGraphDestroy(CUgraph graph) {
  const GraphObject* g = object_of<GraphObject>(graph, HandleKind::Graph);
  // A graph a node holds goes with the node; one an open capture builds into, with the capture.
  if (g != nullptr && g->owner != nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (g != nullptr && capture_builds_into(g)) return CUDA_ERROR_ILLEGAL_STATE;
  return destroy<GraphObject, proto::GraphRequest>(graph, HandleKind::Graph, proto::CallId::GraphDestroy);
}
