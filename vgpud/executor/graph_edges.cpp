#include "vgpud/executor/graph_edges.h"

#include <cstring>

namespace vgpud {

namespace proto = vgpu::proto;

// The wire's values are the driver's (graph_edge.h).
static_assert(proto::kEdgeTypeDefault == CU_GRAPH_DEPENDENCY_TYPE_DEFAULT &&
              proto::kEdgeTypeProgrammatic == CU_GRAPH_DEPENDENCY_TYPE_PROGRAMMATIC);
static_assert(proto::kEdgePortDefault == CU_GRAPH_KERNEL_NODE_PORT_DEFAULT &&
              proto::kEdgePortProgrammatic == CU_GRAPH_KERNEL_NODE_PORT_PROGRAMMATIC &&
              proto::kEdgePortLaunchOrder == CU_GRAPH_KERNEL_NODE_PORT_LAUNCH_ORDER);

CUgraphEdgeData driver_edge_data(const proto::GraphEdge& e) {
  CUgraphEdgeData d{};
  d.type = e.type;
  d.from_port = e.from_port;
  d.to_port = e.to_port;
  return d;
}

proto::GraphEdge wire_edge(uint32_t from, uint32_t to, const CUgraphEdgeData& data) {
  proto::GraphEdge e = proto::plain_edge(from, to);
  e.type = data.type;
  e.from_port = data.from_port;
  e.to_port = data.to_port;
  return e;
}

int32_t resolve_edges(const ChannelObjects& objects, uint32_t graph, std::span<const uint8_t> bytes, DriverEdges* out) {
  const size_t count = bytes.size() / sizeof(proto::GraphEdge);
  out->from.resize(count);
  out->to.resize(count);
  out->data.resize(count);
  for (size_t i = 0; i < count; ++i) {
    proto::GraphEdge e;
    std::memcpy(&e, bytes.data() + i * sizeof e, sizeof e);
    const ChannelObjects::GraphNode* a = objects.graph_nodes.find(e.from);
    const ChannelObjects::GraphNode* b = objects.graph_nodes.find(e.to);
    if (a == nullptr || b == nullptr || a->graph != graph || b->graph != graph) return CUDA_ERROR_INVALID_VALUE;
    out->from[i] = a->handle;
    out->to[i] = b->handle;
    out->data[i] = driver_edge_data(e);
  }
  return 0;
}

CUresult read_driver_edges(const CudaDriver& cu, CUgraph graph, DriverEdges* out) {
  size_t count = 0;
  if (CUresult r = cu.cuGraphGetEdges(graph, nullptr, nullptr, nullptr, &count)) return r;
  out->from.resize(count);
  out->to.resize(count);
  out->data.resize(count);
  if (count != 0)
    if (CUresult r = cu.cuGraphGetEdges(graph, out->from.data(), out->to.data(), out->data.data(), &count)) return r;
  out->from.resize(count);
  out->to.resize(count);
  out->data.resize(count);
  return CUDA_SUCCESS;
}

}  // namespace vgpud
