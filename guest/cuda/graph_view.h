// A graph as the program sees it, read from vgpud's driver (docs/design.md §19): its nodes in the
// driver's order and the edges between them. Some of the driver's nodes are not the program's
// (the staging pieces of a copy of pageable memory, pageable_stage.h): an edge through them is
// an edge between the program's nodes on either side, so that dependencies, dependents, root
// nodes and edges read as the program built or captured them.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "guest/client/channel.h"
#include "guest/cuda/handles.h"

namespace vgpu::cuda {

struct GraphView {
  std::vector<GraphNodeObject*> nodes;  // the program's, in the driver's order
  std::vector<std::pair<GraphNodeObject*, GraphNodeObject*>> edges;  // each once
  std::vector<uint32_t> hidden;  // the driver's nodes that are none of the program's (staging pieces)
};

// Reads `g` (its mutex held by the caller): every node gets its object (made now for a node the
// driver made: captured, cloned, added to a graph a node holds), and a memory node its address.
CUresult read_graph(guest::Channel& ch, GraphObject& g, GraphView* out);

// The staging pieces a node of a graph built here stands for besides itself: the driver's nodes
// after it that are none of the program's, up to the next that is (`view` read just before).
std::vector<uint32_t> staging_pieces(const GraphView& view, const std::vector<std::pair<uint32_t, uint32_t>>& edges,
                                     const GraphNodeObject& node);

// The driver's edges of `g`, as pairs of vgpud's node ids.
CUresult read_edges(guest::Channel& ch, const GraphObject& g, std::vector<std::pair<uint32_t, uint32_t>>* out);

}  // namespace vgpu::cuda
