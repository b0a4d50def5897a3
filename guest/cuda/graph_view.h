// A graph as the program sees it, read from vgpud's driver (docs/design.md §19): its nodes in the
// driver's order and the edges between them. Some of the driver's nodes are not the program's
// (the staging pieces of a copy of pageable memory, pageable_stage.h): an edge through them is
// an edge between the program's nodes on either side, so that dependencies, dependents, root
// nodes and edges read as the program built or captured them.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <vector>

#include "guest/client/channel.h"
#include "guest/cuda/handles.h"
#include "vgpu/protocol/messages.h"

namespace vgpu::cuda {

// An edge between two of the program's nodes, with the driver's data for it (the default for an
// edge through staging pieces, which are never kernels).
struct ViewEdge {
  GraphNodeObject* from;
  GraphNodeObject* to;
  CUgraphEdgeData data;
};

struct GraphView {
  std::vector<GraphNodeObject*> nodes;  // the program's, in the driver's order
  std::vector<ViewEdge> edges;          // each once
  std::vector<uint32_t> hidden;  // the driver's nodes that are none of the program's (staging pieces)
};

// Reads `g` (its mutex held by the caller): every node gets its object (made now for a node the
// driver made: captured, cloned, added to a graph a node holds), and a memory node its address.
CUresult read_graph(guest::Channel& ch, GraphObject& g, GraphView* out);

// The staging pieces a node of a graph built here stands for besides itself: the driver's nodes
// after it that are none of the program's, up to the next that is (`view` read just before).
std::vector<uint32_t> staging_pieces(const GraphView& view, const std::vector<proto::GraphEdge>& edges,
                                     const GraphNodeObject& node);

// The driver's edges of `g`, between vgpud's node ids, with their data.
CUresult read_edges(guest::Channel& ch, const GraphObject& g, std::vector<proto::GraphEdge>* out);

}  // namespace vgpu::cuda
