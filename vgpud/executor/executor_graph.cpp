// Handlers for stream capture and graphs (docs/design.md §19). The guest's work on a stream it
// captures reaches the host's stream as usual, so the host driver builds the graph exactly as it
// would for a local program; guests hold graphs and executable graphs by opaque ids.
#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/graph_cycles.h"
#include "vgpud/executor/reply_payload.h"

namespace vgpud {

int32_t ChannelExecutor::handle(const StreamBeginCaptureCmd& cmd, Reply&) {
  if (int32_t st = require_context()) return st;
  CUstream s;
  if (!objects_.resolve_stream(cmd.stream, &s)) return CUDA_ERROR_INVALID_HANDLE;
  // Always relaxed. A global or thread-local capture forbids "unsafe" calls (cuMemAlloc, ...)
  // to threads of the capturing process: here that would be this one thread, which serves all
  // of the guest's threads, and the threads serving other tenants. The guest applies the mode
  // it was asked for, to its own threads.
  const CUresult r = traced("cuStreamBeginCapture", cu_.cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_RELAXED));
  if (r == CUDA_SUCCESS) capturing_.insert(cmd.stream);
  return r;
}

int32_t ChannelExecutor::handle(const StreamEndCaptureCmd& cmd, Reply& reply) {
  if (int32_t st = require_context()) return st;
  CUstream s;
  if (!objects_.resolve_stream(cmd.stream, &s)) return CUDA_ERROR_INVALID_HANDLE;
  CUgraph graph = nullptr;
  const CUresult r = traced("cuStreamEndCapture", cu_.cuStreamEndCapture(s, &graph));
  capturing_.erase(cmd.stream);  // ended, successfully or not
  if (r != CUDA_SUCCESS) {
    if (graph != nullptr) cu_.cuGraphDestroy(graph);
    return r;
  }
  if (objects_.graphs.full()) {
    cu_.cuGraphDestroy(graph);
    return limit_exceeded();
  }
  const ChannelObjects::Stream* stream = objects_.streams.find(cmd.stream);
  const uint32_t device = stream != nullptr ? stream->device : contexts_.current();
  put(reply.payload, proto::StreamEndCaptureReply{objects_.graphs.insert({graph, device, 0}), 0});
  return 0;
}

int32_t ChannelExecutor::handle(const StreamCaptureInfoCmd& cmd, Reply& reply) {
  if (int32_t st = require_context()) return st;
  CUstream s;
  if (!objects_.resolve_stream(cmd.stream, &s)) return CUDA_ERROR_INVALID_HANDLE;
  CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
  cuuint64_t id = 0;
  const CUresult r = traced("cuStreamGetCaptureInfo",
                            cu_.cuStreamGetCaptureInfo(s, &status, &id, nullptr, nullptr, nullptr, nullptr));
  if (r != CUDA_SUCCESS) return r;
  put(reply.payload, proto::StreamCaptureInfoReply{static_cast<uint32_t>(status), 0, id});
  return 0;
}

int32_t ChannelExecutor::handle(const GraphInstantiateCmd& cmd, Reply& reply) {
  ChannelObjects::Graph* g = objects_.graphs.find(cmd.graph);
  if (g == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (int32_t st = require_context()) return st;
  if (objects_.graph_execs.full()) return limit_exceeded();
  if (g->hand_edges > 0)  // only edges added by hand can close a cycle
    if (CUresult r = refuse_cycle(cu_, g->handle)) return r;
  CUgraphExec exec = nullptr;
  const CUresult r = contexts_.in_context_of(g->device, [&] {
    return traced("cuGraphInstantiateWithFlags", cu_.cuGraphInstantiateWithFlags(&exec, g->handle, cmd.flags));
  });
  if (r != CUDA_SUCCESS) return r;
  put(reply.payload, proto::GraphInstantiateReply{objects_.graph_execs.insert({exec, g->device}), 0});
  return 0;
}

int32_t ChannelExecutor::handle(const GraphLaunchCmd& cmd, Reply&) {
  ChannelObjects::GraphExec* e = objects_.graph_execs.find(cmd.exec);
  if (e == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (int32_t st = require_context()) return st;
  CUstream s;
  if (!objects_.resolve_stream(cmd.stream, &s)) return CUDA_ERROR_INVALID_HANDLE;
  return traced("cuGraphLaunch", cu_.cuGraphLaunch(e->handle, s));
}

int32_t ChannelExecutor::handle(const GraphUploadCmd& cmd, Reply&) {
  ChannelObjects::GraphExec* e = objects_.graph_execs.find(cmd.exec);
  if (e == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (int32_t st = require_context()) return st;
  CUstream s;
  if (!objects_.resolve_stream(cmd.stream, &s)) return CUDA_ERROR_INVALID_HANDLE;
  return traced("cuGraphUpload", cu_.cuGraphUpload(e->handle, s));
}

int32_t ChannelExecutor::handle(const GraphExecDestroyCmd& cmd, Reply&) {
  ChannelObjects::GraphExec* e = objects_.graph_execs.find(cmd.exec);
  if (e == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const CUresult r = contexts_.in_existing_context_of(
      e->device, [&] { return traced("cuGraphExecDestroy", cu_.cuGraphExecDestroy(e->handle)); });
  objects_.graph_execs.erase(cmd.exec);
  return r;
}

int32_t ChannelExecutor::handle(const GraphDestroyCmd& cmd, Reply&) {
  ChannelObjects::Graph* g = objects_.graphs.find(cmd.graph);
  if (g == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const CUresult r = traced("cuGraphDestroy", cu_.cuGraphDestroy(g->handle));
  objects_.forget_graph(cmd.graph);
  return r;
}

void ChannelExecutor::destroy_graphs_on(uint32_t device) {
  // Captures still open on the device's streams are ended, their graphs dropped; then the
  // executable graphs and graphs, which a context's end would not free (graphs are not
  // a context's) or would free behind the ids.
  for (auto it = capturing_.begin(); it != capturing_.end();) {
    const ChannelObjects::Stream* s = objects_.streams.find(*it);
    if (s == nullptr || s->device != device) {
      ++it;
      continue;
    }
    CUgraph graph = nullptr;
    contexts_.in_existing_context_of(device, [&] { return cu_.cuStreamEndCapture(s->handle, &graph); });
    if (graph != nullptr) cu_.cuGraphDestroy(graph);
    it = capturing_.erase(it);
  }
  objects_.graph_execs.for_each([&](uint32_t, ChannelObjects::GraphExec& e) {
    if (e.device == device)
      contexts_.in_existing_context_of(device, [&] { return cu_.cuGraphExecDestroy(e.handle); });
  });
  objects_.graphs.for_each([&](uint32_t, ChannelObjects::Graph& g) {
    if (g.device == device) cu_.cuGraphDestroy(g.handle);
  });
  objects_.forget_graphs_on(device);
}

}  // namespace vgpud
