// Adding a node to a graph built node by node (graph_build_api.cpp, host_function_api.cpp):
// the checks every kind shares, and the edges from its dependencies sent after it.
#pragma once
#include <cuda.h>

#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <vector>

#include "guest/client/channel.h"
#include "guest/cuda/api.h"
#include "guest/cuda/handles.h"
#include "guest/cuda/pageable_stage.h"
#include "vgpu/protocol/graph_edge.h"

namespace vgpu::cuda {

inline GraphNodeObject* node_of(CUgraphNode node, const GraphObject* graph) {
  GraphNodeObject* n = object_of<GraphNodeObject>(node, HandleKind::GraphNode);
  return n != nullptr && n->graph == graph ? n : nullptr;
}

// Every dependency is a live node of `graph` (and there are some where count says so).
inline bool dependencies_ok(const GraphObject* graph, const CUgraphNode* deps, size_t count) {
  if (count != 0 && deps == nullptr) return false;
  for (size_t i = 0; i < count; ++i)
    if (node_of(deps[i], graph) == nullptr) return false;
  return true;
}

// Edge data (cuGraphAddDependencies_v2, cuGraphAddNode_v2, cuGraphRemoveDependencies_v2) travels
// with each edge to vgpud's driver, so a programmatic edge (programmatic dependent launch: the
// dependent kernel may start once its producer triggers, or once all its blocks have begun) is
// one there too. False for data no edge can carry: an unknown type or port, a port on the
// receiving end, reserved bytes set. Which combinations are allowed is the driver's to say.
bool edge_data_known(const CUgraphEdgeData* data, size_t count) noexcept;
// Whether an edge's data is the default (a plain dependency).
bool is_default_edge(const CUgraphEdgeData& data) noexcept;
// Whether any of the edges has data other than the default (null data has none).
bool edge_data_set(const CUgraphEdgeData* data, size_t count) noexcept;
// Edge `i` on the wire: from `from` to `to`, with data[i] (the default when data is null).
proto::GraphEdge wire_edge(uint32_t from, uint32_t to, const CUgraphEdgeData* data, size_t i) noexcept;
// The driver's data of an edge on the wire.
CUgraphEdgeData edge_data_of(const proto::GraphEdge& e) noexcept;
// Edge data given to a capture (cuStreamUpdateCaptureDependencies_v2, cuStreamBeginCaptureToGraph):
// its edges are kept as full dependencies. A programmatic one then waits for the producer to
// finish: the same results, less overlap. Said once. False as for edge_data_known.
bool accept_capture_edge_data(const CUgraphEdgeData* data, size_t count) noexcept;

// A memcpy node's copy on the wire (GRAPH_ADD_MEMCPY_NODE's request, its graph left 0), checked
// as adding the node checks it (graph_build_api.cpp; GRAPH_MEMCPY_NODE_SET sends the same): when
// one end is pageable host memory, `pageable` gets its rows, staged through the heap
// (pageable_stage.h), and `to_device` whether it is the source. `caller` names what is refused.
CUresult memcpy_node_request(const CUDA_MEMCPY3D* p, const char* caller, proto::GraphAddMemcpyNodeRequest* request,
                             std::optional<HostRows>* pageable, bool* to_device);

// The graph's nodes as cuGraphGetNodes lists them: a captured or cloned graph's listed from vgpud
// (each gets an object the first time). The caller holds g.mutex.
CUresult graph_nodes(GraphObject& g, std::vector<GraphNodeObject*>* out);

// Sends `edges` to vgpud, in as many GRAPH_ADD_DEPENDENCIES as they take.
CUresult send_edges(guest::Channel& ch, const GraphObject& graph, const std::vector<proto::GraphEdge>& edges);
// Removes `edges`, in as many GRAPH_REMOVE_DEPENDENCIES (with `flags`) as they take.
CUresult send_edge_removal(guest::Channel& ch, const GraphObject& graph, const std::vector<proto::GraphEdge>& edges,
                           uint32_t flags);

// Where a new node's dependencies travel: as edges sent after it, or in its own request, for a
// node whose making depends on them (an allocation node's address, GRAPH_MEM_ALLOC).
enum class Edges { After, InRequest };

// Adds a node: `send` makes it in vgpud and returns its id (and, taking a fourth argument, the
// id of a second node it made after it); then the edges from its dependencies.
template <Edges edges_travel = Edges::After, typename Send>
CUresult add_graph_node(CUgraphNode* out, CUgraph graph, const CUgraphNode* deps, size_t count,
                        CUgraphNodeType type, Send&& send) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  GraphObject* g = object_of<GraphObject>(graph, HandleKind::Graph);
  if (g == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    std::lock_guard lock(g->mutex);
    if (!dependencies_ok(g, deps, count)) return CUDA_ERROR_INVALID_VALUE;
    proto::GraphNodeReply reply{};
    uint32_t second = 0;  // set by a `send` that makes two nodes
    if constexpr (std::is_invocable_v<Send, guest::Channel&, GraphObject&, proto::GraphNodeReply*, uint32_t*>) {
      if (CUresult r = send(*ch, *g, &reply, &second); r != CUDA_SUCCESS) return r;
    } else {
      if (CUresult r = send(*ch, *g, &reply); r != CUDA_SUCCESS) return r;
    }
    auto node = std::make_unique<GraphNodeObject>(GraphNodeObject{HandleKind::GraphNode, reply.node, type, g, second});
    std::vector<proto::GraphEdge> edges;
    for (size_t i = 0; i < count; ++i) edges.push_back(proto::plain_edge(node_of(deps[i], g)->last(), reply.node));
    *out = reinterpret_cast<CUgraphNode>(node.get());
    g->nodes.push_back(std::move(node));
    return edges_travel == Edges::After ? send_edges(*ch, *g, edges) : CUDA_SUCCESS;
  });
}

}  // namespace vgpu::cuda
