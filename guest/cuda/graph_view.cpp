// Reading a graph's nodes and edges from vgpud (graph_view.h).
#include "guest/cuda/graph_view.h"

#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/graph_build.h"
#include "guest/cuda/pageable_stage.h"
#include "vgpu/protocol/graph_edge.h"

namespace vgpu::cuda {
namespace {

namespace proto = vgpu::proto;

CUresult list_nodes(guest::Channel& ch, const GraphObject& g, std::vector<proto::GraphNodeInfo>* infos) {
  std::vector<uint8_t> tail(vgpu::limits::kMaxGraphListNodes * sizeof(proto::GraphNodeInfo));
  for (;;) {
    proto::GraphListNodesReply reply{};
    const guest::CallResult r = guest::call<proto::CallId::GraphListNodes>(
        ch, {g.wire, static_cast<uint32_t>(infos->size())}, {}, &reply, tail);
    if (r.status != 0) return to_cu_result(r.status);
    if (reply.returned > vgpu::limits::kMaxGraphListNodes ||
        r.payload_size < sizeof reply + reply.returned * sizeof(proto::GraphNodeInfo))
      return CUDA_ERROR_UNKNOWN;
    for (uint32_t i = 0; i < reply.returned; ++i) {
      proto::GraphNodeInfo info;
      std::memcpy(&info, tail.data() + i * sizeof info, sizeof info);
      infos->push_back(info);
    }
    if (infos->size() >= reply.total || reply.returned == 0) return CUDA_SUCCESS;
  }
}

}  // namespace

CUresult read_edges(guest::Channel& ch, const GraphObject& g, std::vector<proto::GraphEdge>* out) {
  std::vector<uint8_t> tail(vgpu::limits::kMaxGraphEdgeBytes);
  for (;;) {
    proto::GraphGetEdgesReply reply{};
    const guest::CallResult r = guest::call<proto::CallId::GraphGetEdges>(
        ch, {g.wire, static_cast<uint32_t>(out->size())}, {}, &reply, tail);
    if (r.status != 0) return to_cu_result(r.status);
    if (reply.returned > tail.size() / sizeof(proto::GraphEdge) ||
        r.payload_size < sizeof reply + reply.returned * sizeof(proto::GraphEdge))
      return CUDA_ERROR_UNKNOWN;
    for (uint32_t i = 0; i < reply.returned; ++i) {
      proto::GraphEdge e;
      std::memcpy(&e, tail.data() + i * sizeof e, sizeof e);
      out->push_back(e);
    }
    if (out->size() >= reply.total || reply.returned == 0) return CUDA_SUCCESS;
  }
}

CUresult read_graph(guest::Channel& ch, GraphObject& g, GraphView* out) {
  std::vector<proto::GraphNodeInfo> infos;
  if (CUresult r = list_nodes(ch, g, &infos); r != CUDA_SUCCESS) return r;
  std::vector<proto::GraphEdge> edges;
  if (CUresult r = read_edges(ch, g, &edges); r != CUDA_SUCCESS) return r;

  std::unordered_map<uint32_t, GraphNodeObject*> known;
  for (const auto& n : g.nodes) known.emplace(n->wire, n.get());
  std::unordered_map<uint32_t, GraphNodeObject*> visible;  // vgpud's id -> the program's node
  std::unordered_set<uint64_t> blocks_seen;
  for (const proto::GraphNodeInfo& info : infos) {
    const auto type = static_cast<CUgraphNodeType>(info.type);
    GraphNodeObject* n = nullptr;
    if (auto it = known.find(info.node); it != known.end()) {
      n = it->second;
    } else if (g.captured) {
      // A node the driver made: a staging piece (its host function, or a copy through a block
      // already seen) is none of the program's; any other gets an object now.
      const bool staging =
          (type == CU_GRAPH_NODE_TYPE_HOST && is_staging_function(info.detail)) ||
          (type == CU_GRAPH_NODE_TYPE_MEMCPY && info.detail != 0 && is_staging_block(info.detail - 1) &&
           !blocks_seen.insert(info.detail - 1).second);
      if (!staging) {
        g.nodes.push_back(std::make_unique<GraphNodeObject>(GraphNodeObject{HandleKind::GraphNode, info.node, type, &g}));
        n = g.nodes.back().get();
        known.emplace(info.node, n);
      }
    }
    // In a graph built here, a node with no object is a staging piece of the node before it.
    if (n == nullptr) {
      out->hidden.push_back(info.node);
      continue;
    }
    if ((type == CU_GRAPH_NODE_TYPE_MEM_ALLOC || type == CU_GRAPH_NODE_TYPE_MEM_FREE) && n->address == 0)
      n->address = info.detail;
    visible.emplace(info.node, n);
    out->nodes.push_back(n);
  }

  // Each of the program's nodes to the next ones of the program's, through staging pieces. A
  // direct edge keeps its data; one through staging pieces is a plain dependency.
  std::unordered_map<uint32_t, std::vector<const proto::GraphEdge*>> next;
  for (const proto::GraphEdge& e : edges) next[e.from].push_back(&e);
  for (GraphNodeObject* from : out->nodes) {
    std::vector<const proto::GraphEdge*> stack = next[from->wire];
    const size_t direct = stack.size();  // the first `direct` taken from the stack's bottom are from->wire's own
    std::unordered_set<uint32_t> seen;
    std::vector<ViewEdge> reached;
    while (!stack.empty()) {
      const bool own = stack.size() <= direct;
      const proto::GraphEdge* e = stack.back();
      stack.pop_back();
      if (!seen.insert(e->to).second) continue;
      if (auto v = visible.find(e->to); v != visible.end()) {
        if (v->second != from) {
          reached.push_back(ViewEdge{from, v->second, own ? edge_data_of(*e) : CUgraphEdgeData{}});
        }
        continue;
      }
      for (const proto::GraphEdge* after : next[e->to]) stack.push_back(after);
    }
    // In the driver's order of edges, as far as that goes: the stack reverses it.
    std::unordered_set<GraphNodeObject*> once;
    for (auto it = reached.rbegin(); it != reached.rend(); ++it)
      if (once.insert(it->to).second) out->edges.push_back(*it);
  }
  return CUDA_SUCCESS;
}

std::vector<uint32_t> staging_pieces(const GraphView& view, const std::vector<proto::GraphEdge>& edges,
                                     const GraphNodeObject& node) {
  std::unordered_set<uint32_t> hidden(view.hidden.begin(), view.hidden.end());
  std::vector<uint32_t> pieces, stack{node.wire};
  std::unordered_set<uint32_t> seen;
  while (!stack.empty()) {
    const uint32_t id = stack.back();
    stack.pop_back();
    for (const proto::GraphEdge& e : edges)
      if (e.from == id && hidden.count(e.to) != 0 && seen.insert(e.to).second) {
        pieces.push_back(e.to);
        stack.push_back(e.to);
      }
  }
  return pieces;
}

}  // namespace vgpu::cuda
