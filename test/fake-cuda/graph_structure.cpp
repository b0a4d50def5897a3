// fake-cuda (test double, never ships): a graph's structure changed or read node by node:
// cuGraphRemoveDependencies_v2, cuGraphDestroyNode, cuGraphNodeFindInClone and
// cuGraphChildGraphNodeGetGraph. (cuGraphGetNodes, cuGraphGetEdges_v2 and cuGraphNodeGetType
// are graph.cpp's.)
#include "graph.h"

using namespace vgpu::fake;

// Removes the edges from[i] -> to[i] whatever their data, and whatever edgeData says, as driver
// 580 does, all or none:
// an edge that is not there with that data, or an unknown graph, is CUDA_ERROR_INVALID_VALUE; a
// graph a capture records into is CUDA_ERROR_ILLEGAL_STATE, as the driver forbids removal then.
FAKE_CUDA_API CUresult CUDAAPI cuGraphRemoveDependencies_v2(CUgraph hGraph, const CUgraphNode* from,
                                                            const CUgraphNode* to, const CUgraphEdgeData* edgeData,
                                                            size_t numDependencies) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (hGraph == nullptr || (numDependencies != 0 && (from == nullptr || to == nullptr))) return CUDA_ERROR_INVALID_VALUE;
  (void)edgeData;
  return graph_disconnect(hGraph, from, to, numDependencies);
}

// Removes a node and its edges; the graphs it owns (a child graph node's graph once handed out,
// a conditional node's bodies) go with it. Graph memory it allocated stays until the context
// goes, as all of the fake's graph memory.
FAKE_CUDA_API CUresult CUDAAPI cuGraphDestroyNode(CUgraphNode hNode) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  NodeOp removed;
  return graph_remove_node(hNode, &removed);
}

// The node of a clone made from `hOriginalNode` (its graph cloned by cuGraphClone): an unknown
// node or graph, or one not cloned from the node's graph, is CUDA_ERROR_INVALID_VALUE.
FAKE_CUDA_API CUresult CUDAAPI cuGraphNodeFindInClone(CUgraphNode* phNode, CUgraphNode hOriginalNode,
                                                      CUgraph hClonedGraph) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (phNode == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return graph_find_in_clone(hOriginalNode, hClonedGraph, phNode);
}

// A child graph node's graph, which the node keeps owning: made the first time from the copy the
// node holds, its nodes chained in the order they run (the fake keeps no edges in that copy),
// and from then on what an instantiation runs for the node, so that nodes added to it count.
FAKE_CUDA_API CUresult CUDAAPI cuGraphChildGraphNodeGetGraph(CUgraphNode hNode, CUgraph* phGraph) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (phGraph == nullptr) return CUDA_ERROR_INVALID_VALUE;
  CUgraph owner = nullptr;
  NodeOp op;
  if (!graph_node_info(hNode, &owner, &op)) return CUDA_ERROR_INVALID_VALUE;
  const auto* child = std::get_if<ChildNode>(&op);
  if (child == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (child->body != nullptr) {
    *phGraph = child->body;
    return CUDA_SUCCESS;
  }
  bool capturing = false;
  CUcontext ctx = nullptr;
  if (!graph_state(owner, &capturing, &ctx)) return CUDA_ERROR_INVALID_VALUE;
  const CUgraph body = graph_make(ctx);
  CUgraphNode previous = nullptr;
  for (const Node& n : *child->nodes) {
    CUgraphNode made = nullptr;
    if (CUresult r = graph_insert(body, nullptr, n.op, &previous, previous != nullptr ? 1 : 0, &made);
        r != CUDA_SUCCESS) {
      graph_drop(body);
      return r;
    }
    previous = made;
  }
  CUgraph kept = nullptr;
  graph_node_update(hNode, [&](NodeOp& o) {
    auto& c = std::get<ChildNode>(o);
    if (c.body == nullptr) c.body = body;
    kept = c.body;
  });
  if (kept != body) graph_drop(body);  // another thread asked first, or the node went
  if (kept == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *phGraph = kept;
  write_state_file();
  return CUDA_SUCCESS;
}
