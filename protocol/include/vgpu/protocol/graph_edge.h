// One dependency in GRAPH_ADD_DEPENDENCIES's tail: node `to` runs after node `from`. The
// generator's tails are bytes, so the layout of their elements lives here.
#pragma once
#include <cstddef>
#include <cstdint>

namespace vgpu::proto {

struct GraphEdge {
  uint32_t from;
  uint32_t to;
};
static_assert(sizeof(GraphEdge) == 8 && offsetof(GraphEdge, to) == 4);

}  // namespace vgpu::proto
