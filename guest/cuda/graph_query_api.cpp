// A graph's structure (docs/design.md §19): edges, root nodes, a node's dependencies and
// dependents, read from vgpud's driver (graph_view.h) so that they hold for captured and cloned
// graphs as for graphs built here; edges removed, a node destroyed, a node found in a clone, a
// child graph node's graph, and a DOT file of what the guest knows.
#include <algorithm>
#include <cstdio>
#include <vector>

#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/graph_build.h"
#include "guest/cuda/graph_view.h"
#include "guest/cuda/handles.h"
#include "vgpu/protocol/graph_edge.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace {

// As the driver fills an array of nodes: with `out` null, *count gets how many there are; else
// up to *count of them, the rest of the array null, and *count how many were written. With
// `data`, each written node's edge data, the rest zeroed; without it, an edge to write whose data
// is not the default is CUDA_ERROR_LOSSY_QUERY, as the driver answers.
CUresult fill(const std::vector<GraphNodeObject*>& nodes, const std::vector<CUgraphEdgeData>& edge_data,
              CUgraphNode* out, CUgraphEdgeData* data, size_t* count) {
  if (out == nullptr) {
    *count = nodes.size();
    return CUDA_SUCCESS;
  }
  const size_t n = std::min(*count, nodes.size());
  if (data == nullptr)
    for (size_t i = 0; i < n && i < edge_data.size(); ++i)
      if (!is_default_edge(edge_data[i])) return CUDA_ERROR_LOSSY_QUERY;
  for (size_t i = 0; i < *count; ++i) {
    out[i] = i < n ? reinterpret_cast<CUgraphNode>(nodes[i]) : nullptr;
    if (data != nullptr) data[i] = i < n && i < edge_data.size() ? edge_data[i] : CUgraphEdgeData{};
  }
  *count = n;
  return CUDA_SUCCESS;
}

// Reads the graph (its mutex held) and runs `use` on it.
template <typename Use>
CUresult with_view(GraphObject& g, Use&& use) {
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  GraphView view;
  if (CUresult r = read_graph(*ch, g, &view); r != CUDA_SUCCESS) return r;
  return use(view);
}

CUresult get_edges(CUgraph graph, CUgraphNode* from, CUgraphNode* to, CUgraphEdgeData* data, size_t* count) {
  GraphObject* g = object_of<GraphObject>(graph, HandleKind::Graph);
  if (g == nullptr || count == nullptr || (from == nullptr) != (to == nullptr) || (data != nullptr && from == nullptr))
    return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    std::lock_guard lock(g->mutex);
    return with_view(*g, [&](const GraphView& view) {
      std::vector<GraphNodeObject*> tails, heads;
      std::vector<CUgraphEdgeData> datas;
      for (const ViewEdge& e : view.edges) {
        tails.push_back(e.from);
        heads.push_back(e.to);
        datas.push_back(e.data);
      }
      size_t n = *count;
      if (CUresult r = fill(tails, datas, from, data, &n); r != CUDA_SUCCESS) return r;
      return fill(heads, {}, to, nullptr, count);
    });
  });
}

// A node's neighbours: its dependencies (`before`) or its dependents, with the edges' data.
CUresult neighbours(CUgraphNode node, bool before, CUgraphNode* out, CUgraphEdgeData* data, size_t* count) {
  GraphNodeObject* n = object_of<GraphNodeObject>(node, HandleKind::GraphNode);
  if (n == nullptr || count == nullptr || (data != nullptr && out == nullptr)) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    std::lock_guard lock(n->graph->mutex);
    return with_view(*n->graph, [&](const GraphView& view) {
      std::vector<GraphNodeObject*> found;
      std::vector<CUgraphEdgeData> datas;
      for (const ViewEdge& e : view.edges)
        if ((before ? e.to : e.from) == n) {
          found.push_back(before ? e.from : e.to);
          datas.push_back(e.data);
        }
      return fill(found, datas, out, data, count);
    });
  });
}

// The edges go to vgpud's driver with the data given, or none; driver 580 removes an edge whatever
// data it is given.
CUresult remove_dependencies(CUgraph graph, const CUgraphNode* from, const CUgraphNode* to,
                             const CUgraphEdgeData* data, size_t count) {
  GraphObject* g = object_of<GraphObject>(graph, HandleKind::Graph);
  if (g == nullptr || (count != 0 && (from == nullptr || to == nullptr))) return CUDA_ERROR_INVALID_VALUE;
  if (!edge_data_known(data, count)) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    std::lock_guard lock(g->mutex);
    std::vector<proto::GraphEdge> edges;
    for (size_t i = 0; i < count; ++i) {
      const GraphNodeObject* a = node_of(from[i], g);
      const GraphNodeObject* b = node_of(to[i], g);
      if (a == nullptr || b == nullptr) return CUDA_ERROR_INVALID_VALUE;
      edges.push_back(wire_edge(a->last(), b->wire, data, i));  // as cuGraphAddDependencies made it
    }
    return send_edge_removal(*ch, *g, edges, data == nullptr ? proto::kRemoveEdgesWithoutData : 0);
  });
}

const char* type_name(CUgraphNodeType type) {
  static const char* const kNames[] = {"kernel", "memcpy", "memset", "host", "graph", "empty", "wait_event",
                                       "event_record", "ext_semas_signal", "ext_semas_wait", "mem_alloc",
                                       "mem_free", "batch_mem_op", "conditional"};
  const auto i = static_cast<size_t>(type);
  return i < sizeof kNames / sizeof kNames[0] ? kNames[i] : "node";
}

}  // namespace

VGPU_DRIVER_API CUresult cuGraphGetEdges_v2(CUgraph graph, CUgraphNode* from, CUgraphNode* to,
                                            CUgraphEdgeData* edge_data, size_t* count) {
  return get_edges(graph, from, to, edge_data, count);
}
VGPU_DRIVER_API CUresult cuGraphGetEdges(CUgraph graph, CUgraphNode* from, CUgraphNode* to, size_t* count) {
  return get_edges(graph, from, to, nullptr, count);
}

VGPU_DRIVER_API CUresult cuGraphGetRootNodes(CUgraph graph, CUgraphNode* roots, size_t* count) {
  GraphObject* g = object_of<GraphObject>(graph, HandleKind::Graph);
  if (g == nullptr || count == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    std::lock_guard lock(g->mutex);
    return with_view(*g, [&](const GraphView& view) {
      std::vector<GraphNodeObject*> found;
      for (GraphNodeObject* n : view.nodes) {
        bool waits = false;
        for (const ViewEdge& e : view.edges) waits = waits || e.to == n;
        if (!waits) found.push_back(n);
      }
      return fill(found, {}, roots, nullptr, count);
    });
  });
}

VGPU_DRIVER_API CUresult cuGraphNodeGetDependencies_v2(CUgraphNode node, CUgraphNode* deps, CUgraphEdgeData* edge_data,
                                                       size_t* count) {
  return neighbours(node, true, deps, edge_data, count);
}
VGPU_DRIVER_API CUresult cuGraphNodeGetDependencies(CUgraphNode node, CUgraphNode* deps, size_t* count) {
  return neighbours(node, true, deps, nullptr, count);
}
VGPU_DRIVER_API CUresult cuGraphNodeGetDependentNodes_v2(CUgraphNode node, CUgraphNode* dependents,
                                                         CUgraphEdgeData* edge_data, size_t* count) {
  return neighbours(node, false, dependents, edge_data, count);
}
VGPU_DRIVER_API CUresult cuGraphNodeGetDependentNodes(CUgraphNode node, CUgraphNode* dependents, size_t* count) {
  return neighbours(node, false, dependents, nullptr, count);
}

VGPU_DRIVER_API CUresult cuGraphRemoveDependencies_v2(CUgraph graph, const CUgraphNode* from, const CUgraphNode* to,
                                                      const CUgraphEdgeData* edge_data, size_t count) {
  return remove_dependencies(graph, from, to, edge_data, count);
}
VGPU_DRIVER_API CUresult cuGraphRemoveDependencies(CUgraph graph, const CUgraphNode* from, const CUgraphNode* to,
                                                   size_t count) {
  return remove_dependencies(graph, from, to, nullptr, count);
}

// The node and, for a copy of pageable memory built here, its staging pieces; its object, and
// the graphs it held (a child graph's, a conditional's bodies), go with it.
VGPU_DRIVER_API CUresult cuGraphDestroyNode(CUgraphNode node) {
  GraphNodeObject* n = object_of<GraphNodeObject>(node, HandleKind::GraphNode);
  if (n == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    GraphObject& g = *n->graph;
    std::lock_guard lock(g.mutex);
    std::vector<uint32_t> pieces;
    if (n->second != 0 && !g.captured) {
      GraphView view;
      std::vector<proto::GraphEdge> edges;
      if (CUresult r = read_graph(*ch, g, &view); r != CUDA_SUCCESS) return r;
      if (CUresult r = read_edges(*ch, g, &edges); r != CUDA_SUCCESS) return r;
      pieces = staging_pieces(view, edges, *n);
    }
    const guest::CallResult r = guest::call<proto::CallId::GraphDestroyNode>(*ch, {n->wire, 0}, nullptr);
    if (r.status != 0) return to_cu_result(r.status);
    for (uint32_t piece : pieces) (void)guest::call<proto::CallId::GraphDestroyNode>(*ch, {piece, 0}, nullptr);
    std::erase_if(g.held, [&](const std::unique_ptr<GraphObject>& h) {
      if (h->owner != n) return false;
      h->kind = HandleKind::Dead;
      return true;
    });
    n->kind = HandleKind::Dead;
    std::erase_if(g.nodes, [&](const std::unique_ptr<GraphNodeObject>& o) { return o.get() == n; });
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuGraphNodeFindInClone(CUgraphNode* out, CUgraphNode original, CUgraph cloned) {
  GraphNodeObject* n = object_of<GraphNodeObject>(original, HandleKind::GraphNode);
  GraphObject* clone = object_of<GraphObject>(cloned, HandleKind::Graph);
  if (out == nullptr || n == nullptr || clone == nullptr || n->graph == clone) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    proto::GraphNodeReply reply{};
    const guest::CallResult r =
        guest::call<proto::CallId::GraphNodeFindInClone>(*ch, {n->wire, clone->wire}, &reply);
    if (r.status != 0) return to_cu_result(r.status);
    std::lock_guard lock(clone->mutex);
    for (const auto& c : clone->nodes)
      if (c->wire == reply.node) {
        *out = reinterpret_cast<CUgraphNode>(c.get());
        return CUDA_SUCCESS;
      }
    auto copy = std::make_unique<GraphNodeObject>(GraphNodeObject{HandleKind::GraphNode, reply.node, n->type, clone});
    copy->address = n->address;
    *out = reinterpret_cast<CUgraphNode>(copy.get());
    clone->nodes.push_back(std::move(copy));
    return CUDA_SUCCESS;
  });
}

// The graph the node runs, which it keeps owning: the same object each time, dead with the node.
VGPU_DRIVER_API CUresult cuGraphChildGraphNodeGetGraph(CUgraphNode node, CUgraph* out) {
  GraphNodeObject* n = object_of<GraphNodeObject>(node, HandleKind::GraphNode);
  if (n == nullptr || out == nullptr || n->type != CU_GRAPH_NODE_TYPE_GRAPH) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    GraphObject& g = *n->graph;
    std::lock_guard lock(g.mutex);
    for (const auto& h : g.held)
      if (h->owner == n) {
        *out = reinterpret_cast<CUgraph>(h.get());
        return CUDA_SUCCESS;
      }
    proto::GraphCreateReply reply{};
    const guest::CallResult r = guest::call<proto::CallId::GraphChildGetGraph>(*ch, {n->wire, 0}, &reply);
    if (r.status != 0) return to_cu_result(r.status);
    // The driver's copy of the child: its nodes are listed from vgpud, as a captured graph's.
    auto child = std::make_unique<GraphObject>(reply.graph, g.device, /*was_captured=*/true);
    child->owner = n;
    *out = reinterpret_cast<CUgraph>(child.get());
    g.held.push_back(std::move(child));
    return CUDA_SUCCESS;
  });
}

// A DOT file of the graph as the guest reads it: each node with its type, each edge. The
// driver's file says more (parameters); this one is for looking at the shape.
VGPU_DRIVER_API CUresult cuGraphDebugDotPrint(CUgraph graph, const char* path, unsigned int) {
  GraphObject* g = object_of<GraphObject>(graph, HandleKind::Graph);
  if (g == nullptr || path == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    std::lock_guard lock(g->mutex);
    return with_view(*g, [&](const GraphView& view) {
      std::FILE* f = std::fopen(path, "w");
      if (f == nullptr) return CUDA_ERROR_OPERATING_SYSTEM;
      std::fprintf(f, "digraph vgpu_graph_%u {\n", g->wire);
      for (const GraphNodeObject* n : view.nodes)
        std::fprintf(f, "  n%u [label=\"%s\"];\n", n->wire, type_name(n->type));
      for (const ViewEdge& e : view.edges)
        std::fprintf(f, "  n%u -> n%u%s;\n", e.from->wire, e.to->wire,
                     e.data.type == CU_GRAPH_DEPENDENCY_TYPE_PROGRAMMATIC ? " [style=dashed]" : "");
      std::fprintf(f, "}\n");
      return std::fclose(f) == 0 ? CUDA_SUCCESS : CUDA_ERROR_OPERATING_SYSTEM;
    });
  });
}
