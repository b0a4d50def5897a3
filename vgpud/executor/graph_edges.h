// A graph's edges between the wire's form (GraphEdge: node ids and edge data, checked by the
// mediator) and the driver's (node handles and CUgraphEdgeData, docs/design.md §19). Edge data
// travels both ways as it is: a programmatic edge (programmatic dependent launch) reaches the
// driver as one, and is listed back as one.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <span>
#include <vector>

#include "vgpu/protocol/graph_edge.h"
#include "vgpud/executor/channel_objects.h"
#include "vgpud/executor/cuda_driver.h"

namespace vgpud {

// Edges as the driver's graph calls take them: (from[i], to[i]) with data[i].
struct DriverEdges {
  std::vector<CUgraphNode> from, to;
  std::vector<CUgraphEdgeData> data;
  size_t size() const { return from.size(); }
};

CUgraphEdgeData driver_edge_data(const vgpu::proto::GraphEdge& e);
vgpu::proto::GraphEdge wire_edge(uint32_t from, uint32_t to, const CUgraphEdgeData& data);

// The edges in `bytes` (whole GraphEdge entries, as the mediator passes them) between nodes the
// channel added to graph `graph`: CUDA_ERROR_INVALID_VALUE when an end is none of them.
[[nodiscard]] int32_t resolve_edges(const ChannelObjects& objects, uint32_t graph, std::span<const uint8_t> bytes,
                                    DriverEdges* out);

// Every edge of `graph` with its data, in the driver's order (asked with data, so a programmatic
// edge is listed rather than refused as a lossy query).
[[nodiscard]] CUresult read_driver_edges(const CudaDriver& cu, CUgraph graph, DriverEdges* out);

}  // namespace vgpud
