// The values a GraphEdge's data may hold (GRAPH_ADD_DEPENDENCIES, GRAPH_REMOVE_DEPENDENCIES,
// GRAPH_GET_EDGES; the struct itself is generated from protocol/calls.yaml). They are the
// driver's CUgraphDependencyType and CU_GRAPH_KERNEL_NODE_PORT_* numbers, which guest and
// executor static_assert against cuda.h; the protocol does not include it. Which combinations
// the driver takes (a programmatic edge only between kernel nodes, from a port other than the
// default) is the driver's to say: vgpud checks only that each value is one there is.
#pragma once
#include <cstdint>

#include "vgpu/protocol/messages.h"

namespace vgpu::proto {

inline constexpr uint8_t kEdgeTypeDefault = 0;
inline constexpr uint8_t kEdgeTypeProgrammatic = 1;
inline constexpr uint8_t kEdgePortDefault = 0;
inline constexpr uint8_t kEdgePortProgrammatic = 1;
inline constexpr uint8_t kEdgePortLaunchOrder = 2;

// GRAPH_REMOVE_DEPENDENCIES's flags: the program gave no edge data, and the driver is given none.
// (Driver 580 removes an edge whatever data it is given: test/gpu/programs/programmatic_launch.cu.)
inline constexpr uint32_t kRemoveEdgesWithoutData = 1u << 0;

// True when every field of `e`'s data holds a value there is: a type and an outgoing port the
// driver defines, no incoming port (the driver defines none), the reserved bytes zero.
constexpr bool edge_data_known(const GraphEdge& e) {
  for (uint8_t b : e.reserved)
    if (b != 0) return false;
  return e.type <= kEdgeTypeProgrammatic && e.from_port <= kEdgePortLaunchOrder && e.to_port == kEdgePortDefault;
}

// A plain dependency: `to` runs after `from` has finished.
constexpr GraphEdge plain_edge(uint32_t from, uint32_t to) { return GraphEdge{from, to, 0, 0, 0, {}}; }

}  // namespace vgpu::proto
