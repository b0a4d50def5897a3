// The graph a capture builds into, as the program may hold it (docs/design.md §19):
// cuStreamGetCaptureInfo's graph and the nodes the stream's next captured node will depend on,
// cuStreamUpdateCaptureDependencies, and cuStreamBeginCaptureToGraph. The program may add nodes
// to the graph being captured (conditional nodes are added so) and make the capture go on after
// them; the graph object it is handed is the one cuStreamEndCapture then returns (capture.h).
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/capture.h"
#include "guest/cuda/graph_build.h"
#include "guest/cuda/handles.h"
#include "guest/cuda/streams.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace {

std::mutex g_mutex;
std::unordered_map<uint64_t, CaptureGraph> g_graphs;  // by the driver's capture id; guarded by g_mutex
// The dependencies last handed out for each stream: the driver's array stays valid until the
// next call on the stream, and so does this one. Guarded by g_mutex.
std::unordered_map<uint64_t, std::vector<CUgraphNode>> g_dependencies;

// The node object of vgpud's node `info` in `g` (its mutex held), made for a node the driver made.
GraphNodeObject* node_object(GraphObject& g, const proto::GraphNodeInfo& info) {
  for (const auto& n : g.nodes)
    if (n->wire == info.node) return n.get();
  const auto type = static_cast<CUgraphNodeType>(info.type);
  g.nodes.push_back(std::make_unique<GraphNodeObject>(GraphNodeObject{HandleKind::GraphNode, info.node, type, &g}));
  if (type == CU_GRAPH_NODE_TYPE_MEM_ALLOC || type == CU_GRAPH_NODE_TYPE_MEM_FREE) g.nodes.back()->address = info.detail;
  return g.nodes.back().get();
}

// The graph of capture `capture`, vgpud's graph `wire`: the program's object, made on first use.
GraphObject* graph_of(uint64_t capture, uint32_t wire, uint32_t device) {
  std::lock_guard lock(g_mutex);
  CaptureGraph& c = g_graphs[capture];
  if (c.graph == nullptr) c = {new GraphObject(wire, device, /*was_captured=*/true), true};
  return c.graph;
}

// The graph the capture on vgpud's stream `stream` builds into, if the program holds it.
CUresult capture_graph_of(uint64_t stream, GraphObject** out) {
  *out = nullptr;
  uint64_t capture = 0;
  if (CUresult r = capture_of_stream(stream, &capture); r != CUDA_SUCCESS) return r;
  if (capture == 0) return CUDA_ERROR_ILLEGAL_STATE;  // not capturing
  std::lock_guard lock(g_mutex);
  if (auto it = g_graphs.find(capture); it != g_graphs.end()) *out = it->second.graph;
  return CUDA_SUCCESS;
}

// Node ids of `g` for a request's tail; false when one is not a node of it.
bool wire_nodes(const GraphObject* g, const CUgraphNode* nodes, size_t count, std::vector<uint32_t>* out) {
  if (count != 0 && nodes == nullptr) return false;
  for (size_t i = 0; i < count; ++i) {
    const GraphNodeObject* n = node_of(nodes[i], g);
    if (n == nullptr) return false;
    out->push_back(n->last());  // what follows waits for the node's last piece
  }
  return true;
}

std::span<const uint8_t> bytes_of(const std::vector<uint32_t>& ids) {
  return {reinterpret_cast<const uint8_t*>(ids.data()), ids.size() * sizeof(uint32_t)};
}

CUresult update_dependencies(CUstream stream, CUgraphNode* deps, const CUgraphEdgeData* data, size_t count,
                             unsigned flags) {
  if (flags != CU_STREAM_ADD_CAPTURE_DEPENDENCIES && flags != CU_STREAM_SET_CAPTURE_DEPENDENCIES)
    return CUDA_ERROR_INVALID_VALUE;
  if (!accept_capture_edge_data(data, count)) return CUDA_ERROR_INVALID_VALUE;
  if (count > vgpu::limits::kMaxCaptureDependencies) return CUDA_ERROR_NOT_SUPPORTED;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    uint64_t wire = 0;
    if (!wire_stream(stream, &wire)) return CUDA_ERROR_INVALID_HANDLE;
    // The nodes must be the capture's graph's: the program holds that graph, or it could not
    // name any of them.
    GraphObject* g = nullptr;
    if (CUresult r = capture_graph_of(wire, &g); r != CUDA_SUCCESS) return r;
    if (g == nullptr) return CUDA_ERROR_INVALID_VALUE;
    std::vector<uint32_t> ids;
    {
      std::lock_guard lock(g->mutex);
      if (!wire_nodes(g, deps, count, &ids)) return CUDA_ERROR_INVALID_VALUE;
    }
    return to_cu_result(guest::call<proto::CallId::StreamUpdateCaptureDependencies>(
                            *ch, proto::StreamUpdateCaptureDependenciesRequest{wire, flags, 0}, bytes_of(ids), nullptr)
                            .status);
  });
}

CUresult begin_capture_to_graph(CUstream stream, CUgraph graph, const CUgraphNode* deps, const CUgraphEdgeData* data,
                                size_t count, CUstreamCaptureMode mode) {
  GraphObject* g = object_of<GraphObject>(graph, HandleKind::Graph);
  if (g == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (mode != CU_STREAM_CAPTURE_MODE_GLOBAL && mode != CU_STREAM_CAPTURE_MODE_THREAD_LOCAL &&
      mode != CU_STREAM_CAPTURE_MODE_RELAXED)
    return CUDA_ERROR_INVALID_VALUE;
  if (!accept_capture_edge_data(data, count)) return CUDA_ERROR_INVALID_VALUE;
  if (count > vgpu::limits::kMaxCaptureDependencies) return CUDA_ERROR_NOT_SUPPORTED;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    uint64_t wire = 0;
    if (!wire_stream(stream, &wire)) return CUDA_ERROR_INVALID_HANDLE;
    std::vector<uint32_t> ids;
    {
      std::lock_guard lock(g->mutex);
      if (!wire_nodes(g, deps, count, &ids)) return CUDA_ERROR_INVALID_VALUE;
    }
    const guest::CallResult r = guest::call<proto::CallId::StreamBeginCaptureToGraph>(
        *ch, proto::StreamBeginCaptureToGraphRequest{wire, g->wire, 0}, bytes_of(ids), nullptr);
    if (r.status != 0) return to_cu_result(r.status);
    capture_begun(wire, mode);
    {
      // The driver makes the nodes from now on: they are listed from vgpud, as a captured graph's.
      std::lock_guard lock(g->mutex);
      g->captured = true;
    }
    uint64_t capture = 0;
    if (CUresult e = capture_of_stream(wire, &capture); e != CUDA_SUCCESS) return e;
    std::lock_guard lock(g_mutex);
    if (capture != 0) g_graphs[capture] = {g, false};
    return CUDA_SUCCESS;
  });
}

}  // namespace

namespace vgpu::cuda {

bool any_capture_graph() noexcept {
  std::lock_guard lock(g_mutex);
  return !g_graphs.empty();
}

CaptureGraph take_capture_graph(uint64_t capture) noexcept {
  std::lock_guard lock(g_mutex);
  auto it = g_graphs.find(capture);
  if (capture == 0 || it == g_graphs.end()) return {};
  const CaptureGraph c = it->second;
  g_graphs.erase(it);
  return c;
}

bool capture_builds_into(const GraphObject* graph) noexcept {
  std::lock_guard lock(g_mutex);
  for (const auto& [capture, c] : g_graphs)
    if (c.graph == graph) return true;
  return false;
}

CUresult capture_graph_info(guest::Channel& ch, uint64_t stream, CUstreamCaptureStatus* status, cuuint64_t* id,
                            CUgraph* graph, const CUgraphNode** dependencies, const CUgraphEdgeData** edges,
                            size_t* count) {
  std::vector<uint8_t> tail(vgpu::limits::kMaxCaptureDependencies * sizeof(proto::GraphNodeInfo));
  proto::StreamCaptureGraphReply reply{};
  const guest::CallResult r = guest::call<proto::CallId::StreamCaptureGraph>(ch, proto::StreamRequest{stream}, {},
                                                                            &reply, tail);
  if (r.status != 0) return to_cu_result(r.status);
  if (reply.dependency_count > vgpu::limits::kMaxCaptureDependencies ||
      r.payload_size < sizeof reply + reply.dependency_count * sizeof(proto::GraphNodeInfo))
    return CUDA_ERROR_UNKNOWN;
  *status = static_cast<CUstreamCaptureStatus>(reply.status);
  if (id != nullptr) *id = reply.capture_id;
  if (*status != CU_STREAM_CAPTURE_STATUS_ACTIVE || reply.graph == 0) return CUDA_SUCCESS;
  guest::Channel* entered = nullptr;
  Context* c = nullptr;
  if (CUresult e = enter_context(&entered, &c); e != CUDA_SUCCESS) return e;
  GraphObject* g = graph_of(reply.capture_id, reply.graph, c->device);
  if (graph != nullptr) *graph = reinterpret_cast<CUgraph>(g);
  std::vector<CUgraphNode> deps;
  {
    std::lock_guard lock(g->mutex);
    for (uint32_t i = 0; i < reply.dependency_count; ++i) {
      proto::GraphNodeInfo info;
      std::memcpy(&info, tail.data() + i * sizeof info, sizeof info);
      deps.push_back(reinterpret_cast<CUgraphNode>(node_object(*g, info)));
    }
  }
  std::lock_guard lock(g_mutex);
  std::vector<CUgraphNode>& kept = g_dependencies[stream];
  kept = std::move(deps);
  if (dependencies != nullptr) *dependencies = kept.empty() ? nullptr : kept.data();
  if (edges != nullptr) *edges = nullptr;  // every edge is a default one
  if (count != nullptr) *count = kept.size();
  return CUDA_SUCCESS;
}

}  // namespace vgpu::cuda

VGPU_DRIVER_API CUresult cuStreamUpdateCaptureDependencies_v2(CUstream stream, CUgraphNode* deps,
                                                              const CUgraphEdgeData* edge_data, size_t count,
                                                              unsigned int flags) {
  return update_dependencies(stream, deps, edge_data, count, flags);
}
VGPU_DRIVER_API CUresult cuStreamUpdateCaptureDependencies_v2_ptsz(CUstream stream, CUgraphNode* deps,
                                                                   const CUgraphEdgeData* edge_data, size_t count,
                                                                   unsigned int flags) {
  return update_dependencies(per_thread(stream), deps, edge_data, count, flags);
}
VGPU_DRIVER_API CUresult cuStreamUpdateCaptureDependencies(CUstream stream, CUgraphNode* deps, size_t count,
                                                           unsigned int flags) {
  return update_dependencies(stream, deps, nullptr, count, flags);
}
VGPU_DRIVER_API CUresult cuStreamUpdateCaptureDependencies_ptsz(CUstream stream, CUgraphNode* deps, size_t count,
                                                                unsigned int flags) {
  return update_dependencies(per_thread(stream), deps, nullptr, count, flags);
}

VGPU_DRIVER_API CUresult cuStreamBeginCaptureToGraph(CUstream stream, CUgraph graph, const CUgraphNode* deps,
                                                     const CUgraphEdgeData* edge_data, size_t count,
                                                     CUstreamCaptureMode mode) {
  return begin_capture_to_graph(stream, graph, deps, edge_data, count, mode);
}
VGPU_DRIVER_API CUresult cuStreamBeginCaptureToGraph_ptsz(CUstream stream, CUgraph graph, const CUgraphNode* deps,
                                                          const CUgraphEdgeData* edge_data, size_t count,
                                                          CUstreamCaptureMode mode) {
  return begin_capture_to_graph(per_thread(stream), graph, deps, edge_data, count, mode);
}
