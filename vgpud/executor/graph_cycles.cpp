// Kahn's algorithm over the driver's nodes and edges: a graph is acyclic exactly when every
// node can be taken once all the nodes it depends on have been.
#include "vgpud/executor/graph_cycles.h"

#include <unordered_map>
#include <vector>

#include "vgpud/executor/graph_edges.h"

namespace vgpud {

CUresult refuse_cycle(const CudaDriver& cu, CUgraph graph) {
  size_t node_count = 0;
  if (CUresult r = cu.cuGraphGetNodes(graph, nullptr, &node_count)) return r;
  std::vector<CUgraphNode> nodes(node_count);
  if (CUresult r = cu.cuGraphGetNodes(graph, nodes.data(), &node_count)) return r;
  // Every edge orders its ends, whatever its data (a programmatic one too).
  DriverEdges edges;
  if (CUresult r = read_driver_edges(cu, graph, &edges)) return r;
  const std::vector<CUgraphNode>& from = edges.from;
  const std::vector<CUgraphNode>& to = edges.to;
  const size_t edge_count = edges.size();

  std::unordered_map<CUgraphNode, size_t> index;
  index.reserve(node_count);
  for (size_t i = 0; i < node_count; ++i) index.emplace(nodes[i], i);
  std::vector<std::vector<size_t>> waiters(node_count);
  std::vector<size_t> waiting_for(node_count, 0);
  for (size_t e = 0; e < edge_count; ++e) {
    auto a = index.find(from[e]), b = index.find(to[e]);
    if (a == index.end() || b == index.end()) return CUDA_ERROR_INVALID_VALUE;  // not this graph's
    waiters[a->second].push_back(b->second);
    ++waiting_for[b->second];
  }
  std::vector<size_t> ready;
  for (size_t i = 0; i < node_count; ++i) {
    if (waiting_for[i] == 0) ready.push_back(i);
  }
  size_t taken = 0;
  while (!ready.empty()) {
    const size_t i = ready.back();
    ready.pop_back();
    ++taken;
    for (size_t w : waiters[i]) {
      if (--waiting_for[w] == 0) ready.push_back(w);
    }
  }
  return taken == node_count ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

}  // namespace vgpud
