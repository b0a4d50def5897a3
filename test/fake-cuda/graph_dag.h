// fake-cuda (test double, never ships): the nodes of one graph and the edges between them.
//
// A plain data structure: no locks and no CUDA state. graph.cpp keeps one per graph under its
// registry mutex; an executable graph keeps only the order it computes (ordered()), so that
// what is added to the graph afterwards does not reach the executable graph.
#pragma once

#include "graph.h"

namespace vgpu::fake {

// One edge as cuGraphGetEdges_v2 lists it: `to` waits for `from`, as `data` says (a default
// edge: for `from` to finish; a programmatic one: for its blocks to trigger or begin).
struct DagEdge {
  CUgraphNode from;
  CUgraphNode to;
  CUgraphEdgeData data;
};

class Dag {
 public:
  // In the order they were added: what cuGraphGetNodes lists.
  const std::vector<Node>& nodes() const { return nodes_; }
  // The node with that handle, or null when it is not one of this graph's.
  const Node* find(CUgraphNode handle) const;
  // Adds a node that depends on deps[0..n), with edge data data[i] (null: default edges): false,
  // and nothing added, when one of them is not a node of this graph or is named twice. A new
  // node can close no cycle.
  bool add(CUgraphNode handle, NodeOp op, const CUgraphNode* deps, std::size_t n, const CUgraphEdgeData* data = nullptr);
  // Adds the edges from[i] -> to[i] (to[i] then waits for from[i]) with data[i] (null: default
  // edges): false, and none added, when an end is not a node of this graph or an edge exists
  // already (or is named twice). An edge that closes a cycle is added, as the real driver adds
  // it (cyclic() then says so). Whether the data suits the ends is the caller's to check.
  bool connect(const CUgraphNode* from, const CUgraphNode* to, std::size_t n, const CUgraphEdgeData* data = nullptr);
  // The nodes in an order every edge respects; among the nodes ready at the same time, the
  // first added first, so that replays are deterministic. A graph whose edges all point
  // forward in the order of addition (a captured one) keeps that order. Nodes on or after a
  // cycle are left out.
  std::vector<Node> ordered() const;
  bool cyclic() const { return ordered().size() != nodes_.size(); }
  // Every edge, in no particular order: what cuGraphGetEdges_v2 lists.
  std::vector<DagEdge> edges() const;
  // Removes the edges from[i] -> to[i], whatever their data (driver 580 removes an edge whatever
  // data it is given): false, and none removed, when one does not exist (or is named twice).
  bool disconnect(const CUgraphNode* from, const CUgraphNode* to, std::size_t n);
  // Removes a node and every edge to and from it; false when it is not one of this graph's.
  bool remove(CUgraphNode handle);
  // The node's operation, to change in place (the caller holds the registry lock); null when
  // it is not one of this graph's.
  NodeOp* op_of(CUgraphNode handle);

 private:
  struct Waiter {
    std::size_t node;
    CUgraphEdgeData data;
  };
  bool has_edge(std::size_t from, std::size_t to) const;

  std::vector<Node> nodes_;
  std::vector<std::vector<Waiter>> waiters_;  // waiters_[i]: the nodes with an edge from node i
  std::unordered_map<CUgraphNode, std::size_t> index_;  // handle -> position in nodes_
};

}  // namespace vgpu::fake
