// Handlers for a graph's structure (docs/design.md §19): its edges listed and removed, a node
// destroyed or found in a clone, a child graph node's graph, and the graph a capture builds into
// with the nodes its next node will depend on. Every node and graph a request names is an id of
// the channel's, looked up here before the driver sees its handle; a node or graph the driver
// names for the first time gets an id of the channel's, as GRAPH_LIST_NODES gives one.
#include <cstring>
#include <unordered_map>
#include <vector>

#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/graph_edges.h"
#include "vgpud/executor/reply_payload.h"

namespace vgpud {
namespace {

using Graph = ChannelObjects::Graph;
using GraphNode = ChannelObjects::GraphNode;

// The ids the channel gave graph `graph`'s nodes, by the driver's handle.
std::unordered_map<CUgraphNode, uint32_t> node_ids(ChannelObjects& objects, uint32_t graph) {
  std::unordered_map<CUgraphNode, uint32_t> known;
  objects.graph_nodes.for_each([&](uint32_t id, GraphNode& n) {
    if (n.graph == graph) known.emplace(n.handle, id);
  });
  return known;
}

// The id of node `handle` of graph `graph`, given now when it has none; 0 when the table is full.
uint32_t node_id_in(ChannelObjects& objects, std::unordered_map<CUgraphNode, uint32_t>& known, CUgraphNode handle,
                 uint32_t graph) {
  if (auto it = known.find(handle); it != known.end()) return it->second;
  if (objects.graph_nodes.full()) return 0;
  const uint32_t id = objects.graph_nodes.insert({handle, graph});
  known.emplace(handle, id);
  return id;
}

// The id of the graph with the driver's handle `handle`, or 0.
uint32_t graph_id_of(ChannelObjects& objects, CUgraph handle) {
  uint32_t found = 0;
  objects.graphs.for_each([&](uint32_t id, Graph& g) {
    if (g.handle == handle) found = id;
  });
  return found;
}

// Node ids (u32 each) of graph `graph`, as the driver's handles: false when the length is not
// whole ids, or one is not a node of that graph.
bool nodes_of(ChannelObjects& objects, const std::vector<uint8_t>& bytes, uint32_t graph,
              std::vector<CUgraphNode>* out) {
  if (bytes.size() % sizeof(uint32_t) != 0) return false;
  for (size_t i = 0; i < bytes.size(); i += sizeof(uint32_t)) {
    uint32_t id;
    std::memcpy(&id, bytes.data() + i, sizeof id);
    const GraphNode* n = objects.graph_nodes.find(id);
    if (n == nullptr || n->graph != graph) return false;
    out->push_back(n->handle);
  }
  return true;
}

}  // namespace

int32_t ChannelExecutor::handle(const GraphGetEdgesCmd& cmd, Reply& reply) {
  Graph* g = objects_.graphs.find(cmd.graph);
  if (g == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (int32_t st = require_context()) return st;
  DriverEdges all;
  if (CUresult r = traced("cuGraphGetEdges", read_driver_edges(cu_, g->handle, &all))) return r;
  const size_t count = all.size();
  if (cmd.first > count) return CUDA_ERROR_INVALID_VALUE;
  std::unordered_map<CUgraphNode, uint32_t> known = node_ids(objects_, cmd.graph);
  const size_t returned = std::min<size_t>(count - cmd.first, vgpu::limits::kMaxGraphEdgesPerCall);
  std::vector<proto::GraphEdge> edges;
  edges.reserve(returned);
  for (size_t i = cmd.first; i < cmd.first + returned; ++i) {
    const uint32_t a = node_id_in(objects_, known, all.from[i], cmd.graph);
    const uint32_t b = node_id_in(objects_, known, all.to[i], cmd.graph);
    if (a == 0 || b == 0) return limit_exceeded();
    edges.push_back(wire_edge(a, b, all.data[i]));
  }
  put(reply.payload, proto::GraphGetEdgesReply{static_cast<uint32_t>(count), static_cast<uint32_t>(returned)});
  for (const proto::GraphEdge& e : edges) put(reply.payload, e);
  return 0;
}

int32_t ChannelExecutor::handle(const GraphRemoveDependenciesCmd& cmd, Reply&) {
  Graph* g = objects_.graphs.find(cmd.graph);
  if (g == nullptr) return CUDA_ERROR_INVALID_VALUE;
  DriverEdges edges;
  if (int32_t st = resolve_edges(objects_, cmd.graph, cmd.edges, &edges)) return st;
  if (edges.size() == 0) return 0;
  if (int32_t st = require_context()) return st;
  // Fewer edges cannot close a cycle: the count of edges added by hand stays an upper bound.
  // The driver gets the edge data as the program gave it, or none (driver 580 removes an edge
  // whatever data it is given).
  const CUgraphEdgeData* data = (cmd.flags & proto::kRemoveEdgesWithoutData) != 0 ? nullptr : edges.data.data();
  return traced("cuGraphRemoveDependencies",
                cu_.cuGraphRemoveDependencies(g->handle, edges.from.data(), edges.to.data(), data, edges.size()));
}

int32_t ChannelExecutor::handle(const GraphDestroyNodeCmd& cmd, Reply&) {
  const GraphNode* n = objects_.graph_nodes.find(cmd.node);
  if (n == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const Graph* g = objects_.graphs.find(n->graph);
  // An open capture owns its graph's nodes (the driver forbids removing them until it ends).
  if (g == nullptr || g->capture != 0) return CUDA_ERROR_ILLEGAL_STATE;
  if (int32_t st = require_context()) return st;
  const CUresult r = traced("cuGraphDestroyNode", cu_.cuGraphDestroyNode(n->handle));
  if (r != CUDA_SUCCESS) return r;
  objects_.forget_node(cmd.node);  // and the graphs it held
  sweep_graph_memory();            // an allocation node may have been the last to hold its memory
  return 0;
}

int32_t ChannelExecutor::handle(const GraphNodeFindInCloneCmd& cmd, Reply& reply) {
  const GraphNode* n = objects_.graph_nodes.find(cmd.node);
  const Graph* clone = objects_.graphs.find(cmd.clone);
  if (n == nullptr || clone == nullptr || n->graph == cmd.clone) return CUDA_ERROR_INVALID_VALUE;
  if (int32_t st = require_context()) return st;
  CUgraphNode found = nullptr;
  const CUresult r = traced("cuGraphNodeFindInClone", cu_.cuGraphNodeFindInClone(&found, n->handle, clone->handle));
  if (r != CUDA_SUCCESS) return r;
  std::unordered_map<CUgraphNode, uint32_t> known = node_ids(objects_, cmd.clone);
  const uint32_t id = node_id_in(objects_, known, found, cmd.clone);
  if (id == 0) return limit_exceeded();
  put(reply.payload, proto::GraphNodeReply{id, 0});
  return 0;
}

int32_t ChannelExecutor::handle(const GraphChildGetGraphCmd& cmd, Reply& reply) {
  const GraphNode* n = objects_.graph_nodes.find(cmd.node);
  if (n == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const Graph* parent = objects_.graphs.find(n->graph);
  if (parent == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (int32_t st = require_context()) return st;
  CUgraphNodeType type = CU_GRAPH_NODE_TYPE_EMPTY;
  if (CUresult r = cu_.cuGraphNodeGetType(n->handle, &type)) return r;
  if (type != CU_GRAPH_NODE_TYPE_GRAPH) return CUDA_ERROR_INVALID_VALUE;
  CUgraph child = nullptr;
  const CUresult r = traced("cuGraphChildGraphNodeGetGraph", cu_.cuGraphChildGraphNodeGetGraph(n->handle, &child));
  if (r != CUDA_SUCCESS) return r;
  // The same graph each time: the node owns it, and it goes with the node (forget_node).
  uint32_t id = 0;
  objects_.graphs.for_each([&](uint32_t gid, Graph& g) {
    if (g.handle == child && g.owner_node == cmd.node) id = gid;
  });
  if (id == 0) {
    if (objects_.graphs.full()) return limit_exceeded();
    id = objects_.graphs.insert({child, parent->device, 0, cmd.node});
  }
  put(reply.payload, proto::GraphCreateReply{id, 0});
  return 0;
}

int32_t ChannelExecutor::handle(const StreamCaptureGraphCmd& cmd, Reply& reply) {
  if (int32_t st = require_context()) return st;
  CUstream s;
  if (!objects_.resolve_stream(cmd.stream, &s)) return CUDA_ERROR_INVALID_HANDLE;
  CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
  cuuint64_t capture = 0;
  CUgraph graph = nullptr;
  const CUgraphNode* deps = nullptr;
  const CUgraphEdgeData* edge_data = nullptr;
  size_t count = 0;
  const CUresult r = traced("cuStreamGetCaptureInfo",
                            cu_.cuStreamGetCaptureInfo(s, &status, &capture, &graph, &deps, &edge_data, &count));
  if (r != CUDA_SUCCESS) return r;
  if (status != CU_STREAM_CAPTURE_STATUS_ACTIVE || graph == nullptr) {
    put(reply.payload, proto::StreamCaptureGraphReply{static_cast<uint32_t>(status), 0, capture, 0, 0});
    return 0;
  }
  if (count > vgpu::limits::kMaxCaptureDependencies) return limit_exceeded();
  // The graph keeps this id when the capture ends in it (capture_ended); until then the
  // capture owns it.
  uint32_t id = graph_id_of(objects_, graph);
  if (id == 0) {
    if (objects_.graphs.full()) return limit_exceeded();
    const ChannelObjects::Stream* stream = objects_.streams.find(cmd.stream);
    const uint32_t device = stream != nullptr ? stream->device : contexts_.current();
    id = objects_.graphs.insert({graph, device, 0, 0, capture, true});
  }
  std::unordered_map<CUgraphNode, uint32_t> known = node_ids(objects_, id);
  std::vector<proto::GraphNodeInfo> infos;
  for (size_t i = 0; i < count; ++i) {
    const uint32_t node = node_id_in(objects_, known, deps[i], id);
    if (node == 0) return limit_exceeded();
    CUgraphNodeType type = CU_GRAPH_NODE_TYPE_EMPTY;
    if (CUresult t = cu_.cuGraphNodeGetType(deps[i], &type)) return t;
    infos.push_back({node, static_cast<uint32_t>(type), node_detail(deps[i], type)});
  }
  put(reply.payload, proto::StreamCaptureGraphReply{static_cast<uint32_t>(status), id, capture,
                                                    static_cast<uint32_t>(count), 0});
  for (const proto::GraphNodeInfo& info : infos) put(reply.payload, info);
  return 0;
}

int32_t ChannelExecutor::handle(const StreamUpdateCaptureDependenciesCmd& cmd, Reply&) {
  if (int32_t st = require_context()) return st;
  CUstream s;
  if (!objects_.resolve_stream(cmd.stream, &s)) return CUDA_ERROR_INVALID_HANDLE;
  CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
  CUgraph graph = nullptr;
  if (CUresult r = cu_.cuStreamGetCaptureInfo(s, &status, nullptr, &graph, nullptr, nullptr, nullptr)) return r;
  if (status != CU_STREAM_CAPTURE_STATUS_ACTIVE) return CUDA_ERROR_ILLEGAL_STATE;
  // Its nodes have ids only once the graph has one (STREAM_CAPTURE_GRAPH, or the graph a
  // capture began into).
  const uint32_t id = graph != nullptr ? graph_id_of(objects_, graph) : 0;
  std::vector<CUgraphNode> nodes;
  if (id == 0 || !nodes_of(objects_, cmd.nodes, id, &nodes)) return CUDA_ERROR_INVALID_VALUE;
  return traced("cuStreamUpdateCaptureDependencies",
                cu_.cuStreamUpdateCaptureDependencies(s, nodes.data(), nullptr, nodes.size(), cmd.flags));
}

int32_t ChannelExecutor::handle(const StreamBeginCaptureToGraphCmd& cmd, Reply&) {
  Graph* g = objects_.graphs.find(cmd.graph);
  if (g == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (g->capture != 0) return CUDA_ERROR_ILLEGAL_STATE;
  if (int32_t st = require_context()) return st;
  CUstream s;
  if (!objects_.resolve_stream(cmd.stream, &s)) return CUDA_ERROR_INVALID_HANDLE;
  const ChannelObjects::Stream* stream = objects_.streams.find(cmd.stream);
  if ((stream != nullptr ? stream->device : contexts_.current()) != g->device) return CUDA_ERROR_INVALID_VALUE;
  std::vector<CUgraphNode> deps;
  if (!nodes_of(objects_, cmd.nodes, cmd.graph, &deps)) return CUDA_ERROR_INVALID_VALUE;
  // Relaxed, as every capture vgpud begins (STREAM_BEGIN_CAPTURE says why).
  const CUresult r = traced("cuStreamBeginCaptureToGraph",
                            cu_.cuStreamBeginCaptureToGraph(s, g->handle, deps.data(), nullptr, deps.size(),
                                                            CU_STREAM_CAPTURE_MODE_RELAXED));
  if (r != CUDA_SUCCESS) return r;
  capturing_.insert(cmd.stream);
  CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
  cuuint64_t capture = 0;
  (void)cu_.cuStreamGetCaptureInfo(s, &status, &capture, nullptr, nullptr, nullptr, nullptr);
  g->capture = capture != 0 ? capture : ~uint64_t{0};  // never 0 while capturing
  return 0;
}

uint32_t ChannelExecutor::capture_ended(uint64_t capture, CUgraph graph) {
  if (capture == 0) return 0;
  uint32_t found = 0;
  std::vector<uint32_t> gone;
  objects_.graphs.for_each([&](uint32_t id, Graph& g) {
    if (g.capture != capture) return;
    if (graph != nullptr && g.handle == graph) {
      found = id;
    } else if (g.capture_owned) {
      gone.push_back(id);  // a failed capture's graph: the driver destroyed it
      return;
    }
    g.capture = 0;
    g.capture_owned = false;
  });
  for (uint32_t id : gone) objects_.forget_graph(id);
  return found;
}

}  // namespace vgpud

namespace vgpud {

void ChannelExecutor::drop_capture(uint64_t stream_id, CUstream s) {
  cuuint64_t capture = 0;
  CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
  (void)cu_.cuStreamGetCaptureInfo(s, &status, &capture, nullptr, nullptr, nullptr, nullptr);
  CUgraph graph = nullptr;
  const CUresult r = cu_.cuStreamEndCapture(s, &graph);
  capturing_.erase(stream_id);
  const uint32_t known = capture_ended(capture, r == CUDA_SUCCESS ? graph : nullptr);
  bool held = known != 0;
  objects_.graphs.for_each([&](uint32_t, Graph& g) { held = held || g.handle == graph; });
  if (graph != nullptr && !held) cu_.cuGraphDestroy(graph);
  sweep_graph_memory();
}

}  // namespace vgpud
