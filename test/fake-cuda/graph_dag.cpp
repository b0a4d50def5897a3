// fake-cuda (test double, never ships): the nodes and edges of a graph (graph_dag.h). The
// graphs tests build are small, so the checks walk the graph plainly: a duplicate check is a
// scan of the edge's tail's edges, a cycle check a topological order that misses nodes.
#include "graph_dag.h"

#include <algorithm>
#include <functional>
#include <queue>

using namespace vgpu::fake;

const Node* Dag::find(CUgraphNode handle) const {
  auto it = index_.find(handle);
  return it == index_.end() ? nullptr : &nodes_[it->second];
}

namespace {

CUgraphEdgeData data_of(const CUgraphEdgeData* data, std::size_t i) { return data != nullptr ? data[i] : CUgraphEdgeData{}; }

}  // namespace

bool Dag::add(CUgraphNode handle, NodeOp op, const CUgraphNode* deps, std::size_t n, const CUgraphEdgeData* data) {
  std::vector<std::size_t> from;
  from.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto it = index_.find(deps[i]);
    if (it == index_.end()) return false;
    from.push_back(it->second);
  }
  std::vector<std::size_t> sorted = from;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) return false;  // a repeated edge
  const std::size_t self = nodes_.size();
  nodes_.push_back(Node{handle, std::move(op)});
  waiters_.emplace_back();
  index_.emplace(handle, self);
  for (std::size_t i = 0; i < from.size(); ++i) waiters_[from[i]].push_back(Waiter{self, data_of(data, i)});
  return true;
}

bool Dag::connect(const CUgraphNode* from, const CUgraphNode* to, std::size_t n, const CUgraphEdgeData* data) {
  // Each edge is checked against the graph with the list's earlier edges in it (the list may
  // name one twice); a refusal takes those back, newest first, which pops each from the end of
  // its list.
  std::vector<std::size_t> added;  // the tail of each edge added so far
  for (std::size_t i = 0; i < n; ++i) {
    auto a = index_.find(from[i]);
    auto b = index_.find(to[i]);
    const bool ok = a != index_.end() && b != index_.end() && !has_edge(a->second, b->second);
    if (!ok) {
      for (auto it = added.rbegin(); it != added.rend(); ++it) waiters_[*it].pop_back();
      return false;
    }
    waiters_[a->second].push_back(Waiter{b->second, data_of(data, i)});
    added.push_back(a->second);
  }
  return true;
}

std::vector<Node> Dag::ordered() const {
  std::vector<std::size_t> waiting_for(nodes_.size(), 0);
  for (const auto& list : waiters_) {
    for (const Waiter& w : list) ++waiting_for[w.node];
  }
  // Kahn's algorithm, the ready node added first taken first.
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (waiting_for[i] == 0) ready.push(i);
  }
  std::vector<Node> out;
  out.reserve(nodes_.size());
  while (!ready.empty()) {
    const std::size_t i = ready.top();
    ready.pop();
    out.push_back(nodes_[i]);
    for (const Waiter& w : waiters_[i]) {
      if (--waiting_for[w.node] == 0) ready.push(w.node);
    }
  }
  return out;  // short of nodes_ when there is a cycle
}

bool Dag::has_edge(std::size_t from, std::size_t to) const {
  const auto& list = waiters_[from];
  return std::any_of(list.begin(), list.end(), [&](const Waiter& w) { return w.node == to; });
}

std::vector<DagEdge> Dag::edges() const {
  std::vector<DagEdge> out;
  for (std::size_t i = 0; i < waiters_.size(); ++i) {
    for (const Waiter& w : waiters_[i]) out.push_back(DagEdge{nodes_[i].handle, nodes_[w.node].handle, w.data});
  }
  return out;
}

bool Dag::disconnect(const CUgraphNode* from, const CUgraphNode* to, std::size_t n) {
  std::vector<std::pair<std::size_t, std::size_t>> gone;
  for (std::size_t i = 0; i < n; ++i) {
    auto a = index_.find(from[i]);
    auto b = index_.find(to[i]);
    if (a == index_.end() || b == index_.end()) return false;
    const auto& list = waiters_[a->second];
    auto w = std::find_if(list.begin(), list.end(), [&](const Waiter& x) { return x.node == b->second; });
    if (w == list.end()) return false;
    const std::pair<std::size_t, std::size_t> e{a->second, b->second};
    if (std::find(gone.begin(), gone.end(), e) != gone.end()) return false;
    gone.push_back(e);
  }
  for (const std::pair<std::size_t, std::size_t>& e : gone) {
    auto& list = waiters_[e.first];
    list.erase(std::find_if(list.begin(), list.end(), [&](const Waiter& x) { return x.node == e.second; }));
  }
  return true;
}

bool Dag::remove(CUgraphNode handle) {
  auto it = index_.find(handle);
  if (it == index_.end()) return false;
  const std::size_t gone = it->second;
  nodes_.erase(nodes_.begin() + static_cast<std::ptrdiff_t>(gone));
  waiters_.erase(waiters_.begin() + static_cast<std::ptrdiff_t>(gone));
  // Every position after it moves down by one; edges to it go.
  for (auto& list : waiters_) {
    std::erase_if(list, [&](const Waiter& w) { return w.node == gone; });
    for (Waiter& w : list)
      if (w.node > gone) --w.node;
  }
  index_.clear();
  for (std::size_t i = 0; i < nodes_.size(); ++i) index_.emplace(nodes_[i].handle, i);
  return true;
}

NodeOp* Dag::op_of(CUgraphNode handle) {
  auto it = index_.find(handle);
  return it == index_.end() ? nullptr : &nodes_[it->second].op;
}
