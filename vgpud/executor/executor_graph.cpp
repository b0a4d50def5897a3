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
  // The capture's id: a graph the channel named while it was open keeps its id (capture_ended).
  cuuint64_t capture = 0;
  CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
  (void)cu_.cuStreamGetCaptureInfo(s, &status, &capture, nullptr, nullptr, nullptr, nullptr);
  CUgraph graph = nullptr;
  const CUresult r = traced("cuStreamEndCapture", cu_.cuStreamEndCapture(s, &graph));
  capturing_.erase(cmd.stream);  // ended, successfully or not
  const uint32_t known = capture_ended(capture, r == CUDA_SUCCESS ? graph : nullptr);
  if (r != CUDA_SUCCESS) {
    bool held = false;  // a graph of the channel's the capture was begun into stays the channel's
    objects_.graphs.for_each([&](uint32_t, ChannelObjects::Graph& g) { held = held || g.handle == graph; });
    if (graph != nullptr && !held) cu_.cuGraphDestroy(graph);
    sweep_graph_memory();  // what a failed capture allocated went with its graph
    return r;
  }
  if (known != 0) {
    put(reply.payload, proto::StreamEndCaptureReply{known, 0});
    return 0;
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
  const uint32_t id = objects_.graph_execs.insert({exec, g->device, cmd.graph});
  note_exec_graph_memory(id, g->handle);  // the graph memory it holds from now on
  put(reply.payload, proto::GraphInstantiateReply{id, 0});
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
  exec_graph_memory_gone(cmd.exec);
  return r;
}

int32_t ChannelExecutor::handle(const GraphDestroyCmd& cmd, Reply&) {
  ChannelObjects::Graph* g = objects_.graphs.find(cmd.graph);
  // A graph a node holds goes with the node; one an open capture builds into, with the capture.
  if (g == nullptr || g->owner_node != 0) return CUDA_ERROR_INVALID_VALUE;
  if (g->capture != 0) return CUDA_ERROR_ILLEGAL_STATE;
  const CUresult r = traced("cuGraphDestroy", cu_.cuGraphDestroy(g->handle));
  objects_.forget_graph(cmd.graph);
  sweep_graph_memory();
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
    const uint64_t id = *it;
    ++it;
    contexts_.in_existing_context_of(device, [&] {
      drop_capture(id, s->handle);  // a graph the channel named goes below, with the others
      return CUDA_SUCCESS;
    });
  }
  objects_.graph_execs.for_each([&](uint32_t, ChannelObjects::GraphExec& e) {
    if (e.device == device)
      contexts_.in_existing_context_of(device, [&] { return cu_.cuGraphExecDestroy(e.handle); });
  });
  // A graph a node holds goes with its parent.
  objects_.graphs.for_each([&](uint32_t, ChannelObjects::Graph& g) {
    if (g.device == device && g.owner_node == 0) cu_.cuGraphDestroy(g.handle);
  });
  objects_.forget_graphs_on(device);
}

}  // namespace vgpud
