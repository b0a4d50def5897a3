// fake-cuda (test double, never ships): graphs and executable graphs. A graph holds the nodes a
// capture recorded or cuGraphAdd*Node added (graph_build.cpp) and the edges between them
// (graph_dag.h), and cuGraphClone copies it whole; an executable graph is a copy of its nodes in an order the edges allow, bound
// to the context it was instantiated in, and cuGraphLaunch replays it at once on the calling
// thread, as the fake runs all work (host nodes included: their functions are called on that
// thread, with no lock of the fake held).
//
// Graphs are not a context's, as with the driver: they live in a process-wide registry until
// cuGraphDestroy / cuGraphExecDestroy, and handles are never reused, so a stale one is caught.
// Node handles are resolved through the registry too, never dereferenced: one of a destroyed
// graph is simply unknown. Graphs and executable graphs are counted in the state file (graphs=,
// graph_execs=), rewritten once no lock is held. A launch's nodes run in graph_replay.cpp.
#include "graph.h"

#include <algorithm>

#include "graph_dag.h"

using namespace vgpu::fake;

namespace {

struct Graph {
  // The context its nodes run in: the capturing one, or that of the first node added by hand
  // that has one (a kernel, memset, memcpy or event node); null while it has none.
  CUcontext ctx = nullptr;
  bool capturing = false;  // a capture is still recording into it
  Dag dag;
  // A clone's nodes: each one's original (cuGraphNodeFindInClone).
  std::unordered_map<CUgraphNode, CUgraphNode> cloned_from;
};

struct Exec {
  CUcontext ctx = nullptr;
  // Shared with a launch in progress, so that cuGraphExecDestroy on another thread cannot free
  // the nodes under it.
  std::shared_ptr<const std::vector<Node>> nodes;
  // Its edges between `nodes`, as positions (cuGraphExecUpdate compares a graph's with them).
  Positions edges;
};

// The edges of `dag` as positions in `ordered` (its nodes in the order they run).
Positions positions_of(const Dag& dag, const std::vector<Node>& ordered) {
  std::unordered_map<CUgraphNode, std::size_t> at;
  for (std::size_t i = 0; i < ordered.size(); ++i) at.emplace(ordered[i].handle, i);
  Positions out;
  for (const DagEdge& e : dag.edges())
    if (at.count(e.from) != 0 && at.count(e.to) != 0) out.emplace_back(at.at(e.from), at.at(e.to));
  std::sort(out.begin(), out.end());
  return out;
}

// Guards both registries and the graphs' contents. A leaf: taken under a Context::mu and the
// region index's mutex, and nothing is taken while holding it.
std::mutex g_mu;
std::unordered_map<CUgraph, Graph> g_graphs;
std::unordered_map<CUgraphExec, Exec> g_execs;
std::unordered_map<CUgraphNode, CUgraph> g_node_graph;  // every node of a live graph -> its graph

// The graphs a node owns: a child graph node's body once handed out, a conditional's bodies.
std::vector<CUgraph> bodies_of(const NodeOp& op) {
  if (const auto* c = std::get_if<ChildNode>(&op); c != nullptr && c->body != nullptr) return {c->body};
  if (const auto* c = std::get_if<ConditionalNode>(&op); c != nullptr && c->bodies) return *c->bodies;
  return {};
}

// Forgets a graph, its nodes' handles and the graphs its nodes own (caller holds g_mu); `gone`
// gets every graph forgotten, for user_objects_graph_gone once g_mu is released.
void erase_graph(std::unordered_map<CUgraph, Graph>::iterator it, std::vector<CUgraph>* gone = nullptr) {
  std::vector<CUgraph> owned;
  for (const Node& node : it->second.dag.nodes()) {
    g_node_graph.erase(node.handle);
    for (CUgraph b : bodies_of(node.op)) owned.push_back(b);
  }
  if (gone != nullptr) gone->push_back(it->first);
  g_graphs.erase(it);
  count_graph(-1);
  for (CUgraph b : owned)
    if (auto body = g_graphs.find(b); body != g_graphs.end()) erase_graph(body, gone);
}

// The nodes of a graph in an order its edges allow, with what their bodies hold now: a child
// graph node whose graph was handed out, and a conditional node's bodies (caller holds g_mu).
std::vector<Node> resolved(const Dag& dag) {
  std::vector<Node> nodes = dag.ordered();
  for (Node& node : nodes) {
    if (auto* c = std::get_if<ChildNode>(&node.op); c != nullptr && c->body != nullptr) {
      if (auto body = g_graphs.find(c->body); body != g_graphs.end())
        c->nodes = std::make_shared<const std::vector<Node>>(resolved(body->second.dag));
    } else if (auto* cond = std::get_if<ConditionalNode>(&node.op); cond != nullptr && cond->bodies) {
      cond->snapshots.clear();
      for (CUgraph b : *cond->bodies) {
        auto body = g_graphs.find(b);
        cond->snapshots.push_back(std::make_shared<const std::vector<Node>>(
            body != g_graphs.end() ? resolved(body->second.dag) : std::vector<Node>{}));
      }
    }
  }
  return nodes;
}

// What cuGraphNodeGetType reports for each kind of node.
struct TypeOf {
  CUgraphNodeType operator()(const KernelNode&) const { return CU_GRAPH_NODE_TYPE_KERNEL; }
  CUgraphNodeType operator()(const CopyNode&) const { return CU_GRAPH_NODE_TYPE_MEMCPY; }
  CUgraphNodeType operator()(const MemsetNode& m) const {
    return m.write_value ? CU_GRAPH_NODE_TYPE_BATCH_MEM_OP : CU_GRAPH_NODE_TYPE_MEMSET;
  }
  CUgraphNodeType operator()(const EventRecordNode&) const { return CU_GRAPH_NODE_TYPE_EVENT_RECORD; }
  CUgraphNodeType operator()(const EventWaitNode&) const { return CU_GRAPH_NODE_TYPE_WAIT_EVENT; }
  CUgraphNodeType operator()(const EmptyNode&) const { return CU_GRAPH_NODE_TYPE_EMPTY; }
  CUgraphNodeType operator()(const HostNode&) const { return CU_GRAPH_NODE_TYPE_HOST; }
  CUgraphNodeType operator()(const ChildNode&) const { return CU_GRAPH_NODE_TYPE_GRAPH; }
  CUgraphNodeType operator()(const MemAllocNode&) const { return CU_GRAPH_NODE_TYPE_MEM_ALLOC; }
  CUgraphNodeType operator()(const MemFreeNode&) const { return CU_GRAPH_NODE_TYPE_MEM_FREE; }
  CUgraphNodeType operator()(const ConditionalNode&) const { return CU_GRAPH_NODE_TYPE_CONDITIONAL; }
};

// The executable graph's context and nodes, or false for an unknown handle.
bool find_exec(CUgraphExec h, Exec& out) {
  std::lock_guard<std::mutex> g(g_mu);
  auto it = g_execs.find(h);
  if (it == g_execs.end()) return false;
  out = it->second;
  return true;
}

// A copy of the operation of the node `h` when it is an `Op` (HostNode, CopyNode, ...): false for
// an unknown node, one of a destroyed graph included, or a node of another kind.
template <class Op>
bool find_op(CUgraphNode h, Op& out) {
  std::lock_guard<std::mutex> g(g_mu);
  auto owner = g_node_graph.find(h);
  if (owner == g_node_graph.end()) return false;
  const auto* op = std::get_if<Op>(&g_graphs.at(owner->second).dag.find(h)->op);
  if (op == nullptr) return false;
  out = *op;
  return true;
}

}  // namespace

namespace vgpu::fake {

CUgraph graph_open(CUcontext ctx) {
  const auto h = new_handle<CUgraph>();
  std::lock_guard<std::mutex> g(g_mu);
  g_graphs.emplace(h, Graph{ctx, true, {}, {}});
  count_graph(+1);
  return h;
}

CUgraphNode graph_add(CUgraph h, NodeOp op, const std::vector<CUgraphNode>& deps, bool programmatic) {
  const auto node = new_handle<CUgraphNode>();
  std::lock_guard<std::mutex> g(g_mu);
  auto it = g_graphs.find(h);
  // A kernel launched with programmatic stream serialization waits for the kernels before it
  // through programmatic edges (from their programmatic port), for anything else as usual.
  std::vector<CUgraphEdgeData> data(deps.size());
  if (it != g_graphs.end() && programmatic && std::holds_alternative<KernelNode>(op)) {
    for (std::size_t i = 0; i < deps.size(); ++i) {
      const Node* dep = it->second.dag.find(deps[i]);
      if (dep != nullptr && std::holds_alternative<KernelNode>(dep->op)) {
        data[i].type = CU_GRAPH_DEPENDENCY_TYPE_PROGRAMMATIC;
        data[i].from_port = CU_GRAPH_KERNEL_NODE_PORT_PROGRAMMATIC;
      }
    }
  }
  // The capture's dependencies are nodes it recorded into this graph, each named once.
  if (it != g_graphs.end() && it->second.dag.add(node, std::move(op), deps.data(), deps.size(), data.data())) {
    g_node_graph.emplace(node, h);
  }
  return node;
}

void graph_close(CUgraph h, bool keep) {
  std::vector<CUgraph> gone;
  {
    std::lock_guard<std::mutex> g(g_mu);
    auto it = g_graphs.find(h);
    if (it == g_graphs.end()) return;
    if (keep) {
      it->second.capturing = false;
    } else {
      erase_graph(it, &gone);
    }
  }
  for (CUgraph g : gone) user_objects_graph_gone(g);
}

CUresult graph_capture_into(CUgraph h, CUcontext ctx) {
  std::lock_guard<std::mutex> g(g_mu);
  auto it = g_graphs.find(h);
  if (it == g_graphs.end()) return CUDA_ERROR_INVALID_VALUE;
  if (it->second.capturing) return CUDA_ERROR_ILLEGAL_STATE;
  if (it->second.ctx != nullptr && it->second.ctx != ctx) return CUDA_ERROR_INVALID_CONTEXT;
  it->second.ctx = ctx;
  it->second.capturing = true;
  return CUDA_SUCCESS;
}

CUgraph graph_make(CUcontext ctx) {
  const auto h = new_handle<CUgraph>();
  std::lock_guard<std::mutex> g(g_mu);
  g_graphs.emplace(h, Graph{ctx, false, {}, {}});
  count_graph(+1);
  return h;
}

void graph_drop(CUgraph h) {
  std::vector<CUgraph> gone;
  {
    std::lock_guard<std::mutex> g(g_mu);
    if (auto it = g_graphs.find(h); it != g_graphs.end()) erase_graph(it, &gone);
  }
  for (CUgraph g : gone) user_objects_graph_gone(g);
}

bool graph_node_info(CUgraphNode node, CUgraph* graph, NodeOp* op) {
  std::lock_guard<std::mutex> g(g_mu);
  auto owner = g_node_graph.find(node);
  if (owner == g_node_graph.end()) return false;
  if (graph != nullptr) *graph = owner->second;
  if (op != nullptr) *op = g_graphs.at(owner->second).dag.find(node)->op;
  return true;
}

bool graph_node_update(CUgraphNode node, const std::function<void(NodeOp&)>& fn) {
  std::lock_guard<std::mutex> g(g_mu);
  auto owner = g_node_graph.find(node);
  if (owner == g_node_graph.end()) return false;
  fn(*g_graphs.at(owner->second).dag.op_of(node));
  return true;
}

CUresult graph_disconnect(CUgraph h, const CUgraphNode* from, const CUgraphNode* to, std::size_t n) {
  std::lock_guard<std::mutex> g(g_mu);
  auto it = g_graphs.find(h);
  if (it == g_graphs.end()) return CUDA_ERROR_INVALID_VALUE;
  if (it->second.capturing) return CUDA_ERROR_ILLEGAL_STATE;  // the driver forbids removal then
  return it->second.dag.disconnect(from, to, n) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult graph_remove_node(CUgraphNode node, NodeOp* removed) {
  std::vector<CUgraph> gone;
  {
    std::lock_guard<std::mutex> g(g_mu);
    auto owner = g_node_graph.find(node);
    if (owner == g_node_graph.end()) return CUDA_ERROR_INVALID_VALUE;
    Graph& graph = g_graphs.at(owner->second);
    if (graph.capturing) return CUDA_ERROR_ILLEGAL_STATE;
    *removed = graph.dag.find(node)->op;
    graph.dag.remove(node);
    g_node_graph.erase(owner);
    for (CUgraph b : bodies_of(*removed))
      if (auto body = g_graphs.find(b); body != g_graphs.end()) erase_graph(body, &gone);
  }
  for (CUgraph g : gone) user_objects_graph_gone(g);
  write_state_file();
  return CUDA_SUCCESS;
}

CUresult graph_find_in_clone(CUgraphNode original, CUgraph clone, CUgraphNode* out) {
  std::lock_guard<std::mutex> g(g_mu);
  auto it = g_graphs.find(clone);
  if (it == g_graphs.end() || g_node_graph.count(original) == 0) return CUDA_ERROR_INVALID_VALUE;
  for (const auto& [copy, from] : it->second.cloned_from) {
    if (from == original) {
      *out = copy;
      return CUDA_SUCCESS;
    }
  }
  return CUDA_ERROR_INVALID_VALUE;
}

bool graph_state(CUgraph h, bool* capturing, CUcontext* ctx) {
  std::lock_guard<std::mutex> g(g_mu);
  auto it = g_graphs.find(h);
  if (it == g_graphs.end()) return false;
  *capturing = it->second.capturing;
  *ctx = it->second.ctx;
  return true;
}

CUresult graph_topology(CUgraph h, CUcontext* ctx, std::vector<Node>* nodes, Positions* edges) {
  std::lock_guard<std::mutex> g(g_mu);
  auto it = g_graphs.find(h);
  if (it == g_graphs.end()) return CUDA_ERROR_INVALID_VALUE;
  if (it->second.capturing) return CUDA_ERROR_ILLEGAL_STATE;
  *ctx = it->second.ctx;
  *nodes = resolved(it->second.dag);
  *edges = positions_of(it->second.dag, *nodes);
  return CUDA_SUCCESS;
}

bool exec_topology(CUgraphExec e, CUcontext* ctx, std::vector<Node>* nodes, Positions* edges) {
  std::lock_guard<std::mutex> g(g_mu);
  auto it = g_execs.find(e);
  if (it == g_execs.end()) return false;
  *ctx = it->second.ctx;
  *nodes = *it->second.nodes;
  *edges = it->second.edges;
  return true;
}

CUresult exec_edit(CUgraphExec e, const std::function<CUresult(std::vector<Node>&)>& fn) {
  std::lock_guard<std::mutex> g(g_mu);
  auto it = g_execs.find(e);
  if (it == g_execs.end()) return CUDA_ERROR_INVALID_VALUE;
  std::vector<Node> nodes = *it->second.nodes;
  if (CUresult r = fn(nodes); r != CUDA_SUCCESS) return r;
  it->second.nodes = std::make_shared<const std::vector<Node>>(std::move(nodes));
  return CUDA_SUCCESS;
}

CUresult graph_insert(CUgraph h, CUcontext ctx, NodeOp op, const CUgraphNode* deps, std::size_t n, CUgraphNode* out) {
  const auto node = new_handle<CUgraphNode>();
  {
    std::lock_guard<std::mutex> g(g_mu);
    auto it = g_graphs.find(h);
    if (it == g_graphs.end()) return CUDA_ERROR_INVALID_VALUE;
    Graph& graph = it->second;
    // A graph a capture records into takes nodes added by hand too, as the driver's does
    // (cuStreamGetCaptureInfo hands it out for that); only its destruction waits for the end.
    if (ctx != nullptr && graph.ctx != nullptr && graph.ctx != ctx) return CUDA_ERROR_INVALID_CONTEXT;
    if (!graph.dag.add(node, std::move(op), deps, n)) return CUDA_ERROR_INVALID_VALUE;
    if (ctx != nullptr) graph.ctx = ctx;
    g_node_graph.emplace(node, h);
  }
  *out = node;
  return CUDA_SUCCESS;
}

CUresult graph_connect(CUgraph h, const CUgraphNode* from, const CUgraphNode* to, std::size_t n,
                       const CUgraphEdgeData* data) {
  std::lock_guard<std::mutex> g(g_mu);
  auto it = g_graphs.find(h);
  if (it == g_graphs.end()) return CUDA_ERROR_INVALID_VALUE;
  // A port other than the default is a kernel's, and a programmatic edge joins two kernels
  // from one of them; the programmatic port only starts programmatic edges.
  for (std::size_t i = 0; data != nullptr && i < n; ++i) {
    const CUgraphEdgeData& e = data[i];
    if (e.type == CU_GRAPH_DEPENDENCY_TYPE_DEFAULT && e.from_port == CU_GRAPH_KERNEL_NODE_PORT_DEFAULT) continue;
    const Node* a = it->second.dag.find(from[i]);
    const Node* b = it->second.dag.find(to[i]);
    const bool kernels = a != nullptr && b != nullptr && std::holds_alternative<KernelNode>(a->op) &&
                         (e.type == CU_GRAPH_DEPENDENCY_TYPE_DEFAULT || std::holds_alternative<KernelNode>(b->op));
    const bool port_ok = e.type == CU_GRAPH_DEPENDENCY_TYPE_PROGRAMMATIC
                             ? e.from_port != CU_GRAPH_KERNEL_NODE_PORT_DEFAULT
                             : e.from_port == CU_GRAPH_KERNEL_NODE_PORT_LAUNCH_ORDER;
    if (!kernels || !port_ok) return CUDA_ERROR_INVALID_VALUE;
  }
  return it->second.dag.connect(from, to, n, data) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult graph_snapshot(CUgraph g, CUcontext* ctx, std::shared_ptr<const std::vector<Node>>* nodes) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_graphs.find(g);
  if (it == g_graphs.end()) return CUDA_ERROR_INVALID_VALUE;
  if (it->second.capturing) return CUDA_ERROR_ILLEGAL_STATE;
  *ctx = it->second.ctx;
  *nodes = std::make_shared<const std::vector<Node>>(resolved(it->second.dag));
  return CUDA_SUCCESS;
}

}  // namespace vgpu::fake

FAKE_CUDA_API CUresult CUDAAPI cuGraphCreate(CUgraph* phGraph, unsigned int flags) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (phGraph == nullptr || flags != 0) return CUDA_ERROR_INVALID_VALUE;
  const auto h = new_handle<CUgraph>();
  {
    std::lock_guard<std::mutex> g(g_mu);
    g_graphs.emplace(h, Graph{});
    count_graph(+1);
  }
  *phGraph = h;
  write_state_file();
  return CUDA_SUCCESS;
}

// A new graph with a copy of every node of the original, each under a new handle with the same
// operation (a kernel's function and argument bytes, a copy's or memset's addresses, an event
// node's event, a host node's function and user data), and the same edges between the copies, one
// that closes a cycle included. Of the original's context (none while it has none). Independent:
// nodes or edges added to either later, or either's destruction, do not reach the other. A graph a
// capture still records into is CUDA_ERROR_ILLEGAL_STATE, as for cuGraphDestroy and cuGraphAdd*.
FAKE_CUDA_API CUresult CUDAAPI cuGraphClone(CUgraph* phGraphClone, CUgraph originalGraph) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (phGraphClone == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const auto h = new_handle<CUgraph>();
  {
    std::lock_guard<std::mutex> g(g_mu);
    auto it = g_graphs.find(originalGraph);
    if (it == g_graphs.end()) return CUDA_ERROR_INVALID_VALUE;
    const Graph& original = it->second;
    if (original.capturing) return CUDA_ERROR_ILLEGAL_STATE;
    // The driver refuses to clone a graph with conditional nodes.
    for (const Node& node : original.dag.nodes())
      if (std::holds_alternative<ConditionalNode>(node.op)) return CUDA_ERROR_NOT_SUPPORTED;
    Graph clone{original.ctx, false, {}, {}};
    // The nodes in the same order (what cuGraphGetNodes lists, and the order of nodes ready
    // together), then the edges, which the original holds once each: neither can be refused.
    std::unordered_map<CUgraphNode, CUgraphNode> copy_of;
    for (const Node& node : original.dag.nodes()) {
      const auto copy = new_handle<CUgraphNode>();
      NodeOp op = node.op;
      // A child graph node whose graph was handed out: the copy holds what it holds now, and
      // no graph of its own until asked.
      if (auto* c = std::get_if<ChildNode>(&op); c != nullptr && c->body != nullptr) {
        if (auto body = g_graphs.find(c->body); body != g_graphs.end())
          c->nodes = std::make_shared<const std::vector<Node>>(resolved(body->second.dag));
        c->body = nullptr;
      }
      clone.dag.add(copy, std::move(op), nullptr, 0);
      copy_of.emplace(node.handle, copy);
      clone.cloned_from.emplace(copy, node.handle);
    }
    std::vector<CUgraphNode> from, to;
    std::vector<CUgraphEdgeData> data;
    for (const DagEdge& e : original.dag.edges()) {
      from.push_back(copy_of.at(e.from));
      to.push_back(copy_of.at(e.to));
      data.push_back(e.data);
    }
    clone.dag.connect(from.data(), to.data(), from.size(), data.data());
    for (const Node& node : clone.dag.nodes()) g_node_graph.emplace(node.handle, h);
    g_graphs.emplace(h, std::move(clone));
    count_graph(+1);
  }
  user_objects_graph_cloned(originalGraph, h);
  *phGraphClone = h;
  write_state_file();
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuGraphDestroy(CUgraph hGraph) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  std::vector<CUgraph> gone;
  {
    std::lock_guard<std::mutex> g(g_mu);
    auto it = g_graphs.find(hGraph);
    if (it == g_graphs.end()) return CUDA_ERROR_INVALID_VALUE;
    // The driver forbids destroying a graph a capture records into (cuStreamEndCapture owns it).
    if (it->second.capturing) return CUDA_ERROR_ILLEGAL_STATE;
    erase_graph(it, &gone);
  }
  for (CUgraph g : gone) user_objects_graph_gone(g);
  write_state_file();
  return CUDA_SUCCESS;
}

// `nodes` null: the count. Else *numNodes entries: the nodes in the order they were captured or
// added, then nulls past the last, and *numNodes becomes the count of nodes written when it was
// larger.
FAKE_CUDA_API CUresult CUDAAPI cuGraphGetNodes(CUgraph hGraph, CUgraphNode* nodes, size_t* numNodes) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (numNodes == nullptr) return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard<std::mutex> g(g_mu);
  auto it = g_graphs.find(hGraph);
  if (it == g_graphs.end()) return CUDA_ERROR_INVALID_VALUE;
  const std::vector<Node>& all = it->second.dag.nodes();
  if (nodes == nullptr) {
    *numNodes = all.size();
    return CUDA_SUCCESS;
  }
  for (std::size_t i = 0; i < *numNodes; ++i) nodes[i] = i < all.size() ? all[i].handle : nullptr;
  if (*numNodes > all.size()) *numNodes = all.size();
  return CUDA_SUCCESS;
}

// Every edge, (from[i], to[i]) with edgeData[i], as cuGraphGetNodes lists nodes: a count when from
// and to are null. Without edgeData, an edge to list whose data is not the default is
// CUDA_ERROR_LOSSY_QUERY, as the driver answers.
FAKE_CUDA_API CUresult CUDAAPI cuGraphGetEdges_v2(CUgraph hGraph, CUgraphNode* from, CUgraphNode* to,
                                                  CUgraphEdgeData* edgeData, size_t* numEdges) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (numEdges == nullptr || (from == nullptr) != (to == nullptr) || (edgeData != nullptr && from == nullptr))
    return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard<std::mutex> g(g_mu);
  auto it = g_graphs.find(hGraph);
  if (it == g_graphs.end()) return CUDA_ERROR_INVALID_VALUE;
  const std::vector<DagEdge> all = it->second.dag.edges();
  if (from == nullptr) {
    *numEdges = all.size();
    return CUDA_SUCCESS;
  }
  const std::size_t n = std::min(*numEdges, all.size());
  for (std::size_t i = 0; edgeData == nullptr && i < n; ++i)
    if (all[i].data.type != 0 || all[i].data.from_port != 0 || all[i].data.to_port != 0) return CUDA_ERROR_LOSSY_QUERY;
  for (std::size_t i = 0; i < *numEdges; ++i) {
    from[i] = i < n ? all[i].from : nullptr;
    to[i] = i < n ? all[i].to : nullptr;
    if (edgeData != nullptr) edgeData[i] = i < n ? all[i].data : CUgraphEdgeData{};
  }
  *numEdges = n;
  return CUDA_SUCCESS;
}

// Captured nodes too: a copy, a memset, a kernel, an event record, a stream write (a batch
// memory operation), a host function; added by hand, an event wait as well; an unknown node, or
// one of a destroyed graph, is CUDA_ERROR_INVALID_VALUE.
FAKE_CUDA_API CUresult CUDAAPI cuGraphNodeGetType(CUgraphNode hNode, CUgraphNodeType* type) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (type == nullptr) return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard<std::mutex> g(g_mu);
  auto owner = g_node_graph.find(hNode);
  if (owner == g_node_graph.end()) return CUDA_ERROR_INVALID_VALUE;
  const Node* node = g_graphs.at(owner->second).dag.find(hNode);
  *type = std::visit(TypeOf{}, node->op);
  return CUDA_SUCCESS;
}

// A host node's function and user data (one added by hand, captured from cuLaunchHostFunc, or
// cloned). A null nodeParams, an unknown node (one of a destroyed graph included) or a node of
// another type is CUDA_ERROR_INVALID_VALUE.
FAKE_CUDA_API CUresult CUDAAPI cuGraphHostNodeGetParams(CUgraphNode hNode, CUDA_HOST_NODE_PARAMS* nodeParams) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (nodeParams == nullptr) return CUDA_ERROR_INVALID_VALUE;
  HostNode h;
  if (!find_op(hNode, h)) return CUDA_ERROR_INVALID_VALUE;
  nodeParams->fn = h.fn;
  nodeParams->userData = h.data;
  return CUDA_SUCCESS;
}

// A memcpy node (added by hand, captured, or cloned) as a CUDA_MEMCPY3D that cuGraphAddMemcpyNode
// takes back for the same copy: each side HOST (srcHost / dstHost its address) or DEVICE
// (srcDevice / dstDevice; UNIFIED was kept as DEVICE), its first byte copied as the base (the
// offsets applied: positions are 0), its pitch (0 for one row at the base, where it is ignored)
// and its height in rows (slice / pitch; 0 for one slice at the base), and the extent. Every other
// field is zeroed. A null nodeParams, an unknown node (one of a destroyed graph included) or a node
// of another type is CUDA_ERROR_INVALID_VALUE.
FAKE_CUDA_API CUresult CUDAAPI cuGraphMemcpyNodeGetParams(CUgraphNode hNode, CUDA_MEMCPY3D* nodeParams) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (nodeParams == nullptr) return CUDA_ERROR_INVALID_VALUE;
  CopyNode c;
  if (!find_op(hNode, c)) return CUDA_ERROR_INVALID_VALUE;
  CUDA_MEMCPY3D p{};
  if (c.src_device) {
    p.srcMemoryType = CU_MEMORYTYPE_DEVICE;
    p.srcDevice = c.src;
  } else {
    p.srcMemoryType = CU_MEMORYTYPE_HOST;
    p.srcHost = reinterpret_cast<const void*>(c.src);
  }
  if (c.dst_device) {
    p.dstMemoryType = CU_MEMORYTYPE_DEVICE;
    p.dstDevice = c.dst;
  } else {
    p.dstMemoryType = CU_MEMORYTYPE_HOST;
    p.dstHost = reinterpret_cast<void*>(c.dst);
  }
  // A slice is pitch * height (graph_build.cpp's place()), so a side with slices has a pitch.
  p.srcPitch = c.src_pitch;
  p.srcHeight = c.src_pitch != 0 ? c.src_slice / c.src_pitch : 0;
  p.dstPitch = c.dst_pitch;
  p.dstHeight = c.dst_pitch != 0 ? c.dst_slice / c.dst_pitch : 0;
  p.WidthInBytes = c.bytes;
  p.Height = c.height;
  p.Depth = c.depth;
  *nodeParams = p;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuGraphInstantiateWithFlags(CUgraphExec* phGraphExec, CUgraph hGraph,
                                                           unsigned long long flags) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  constexpr unsigned long long kKnown = CUDA_GRAPH_INSTANTIATE_FLAG_AUTO_FREE_ON_LAUNCH |
                                        CUDA_GRAPH_INSTANTIATE_FLAG_DEVICE_LAUNCH |
                                        CUDA_GRAPH_INSTANTIATE_FLAG_USE_NODE_PRIORITY;
  // UPLOAD is for cuGraphInstantiateWithParams only; DEVICE_LAUNCH excludes AUTO_FREE_ON_LAUNCH.
  constexpr unsigned long long kExclusive =
      CUDA_GRAPH_INSTANTIATE_FLAG_AUTO_FREE_ON_LAUNCH | CUDA_GRAPH_INSTANTIATE_FLAG_DEVICE_LAUNCH;
  if (phGraphExec == nullptr || (flags & ~kKnown) != 0 || (flags & kExclusive) == kExclusive) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  const auto h = new_handle<CUgraphExec>();
  {
    std::lock_guard<std::mutex> g(g_mu);
    auto it = g_graphs.find(hGraph);
    if (it == g_graphs.end()) return CUDA_ERROR_INVALID_VALUE;
    // Its kernels and events are the capturing context's, or those of the nodes added by hand.
    if (it->second.ctx != nullptr && it->second.ctx != l->handle) return CUDA_ERROR_INVALID_CONTEXT;
    // The real driver (580) crashes the process here when the graph has a cycle; so does the
    // fake, so that a test finds out whether anything in front of it lets one through.
    if (it->second.dag.cyclic()) {
      std::fprintf(stderr, "fake-cuda: cuGraphInstantiate on a graph with a cycle (the real driver crashes)\n");
      std::abort();
    }
    // A copy of the nodes in the order the edges give: the graph may change or go while the
    // executable graph lives on.
    auto nodes = std::make_shared<const std::vector<Node>>(resolved(it->second.dag));
    Positions edges = positions_of(it->second.dag, *nodes);
    g_execs.emplace(h, Exec{l->handle, std::move(nodes), std::move(edges)});
    count_graph_exec(+1);
  }
  l.lock.unlock();
  user_objects_exec_made(hGraph, h);
  *phGraphExec = h;
  write_state_file();
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuGraphLaunch(CUgraphExec hGraphExec, CUstream hStream) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  Exec exec;
  if (!find_exec(hGraphExec, exec)) return CUDA_ERROR_INVALID_VALUE;
  if (!stream_ok(*l.ctx, hStream)) return CUDA_ERROR_INVALID_HANDLE;
  if (exec.ctx != l->handle) return CUDA_ERROR_INVALID_CONTEXT;
  std::shared_ptr<Capture> cap;
  if (CUresult r = capture_gate(*l.ctx, hStream, cap); r != CUDA_SUCCESS) return r;
  // The driver would record a child-graph node; the fake has none.
  if (cap) return CUDA_ERROR_NOT_SUPPORTED;
  conditional_launch_begins(*exec.nodes);
  return graph_replay(l, *exec.nodes);
}

// Nothing to upload: the nodes run from host memory when launched.
FAKE_CUDA_API CUresult CUDAAPI cuGraphUpload(CUgraphExec hGraphExec, CUstream hStream) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  Exec exec;
  if (!find_exec(hGraphExec, exec)) return CUDA_ERROR_INVALID_VALUE;
  if (!stream_ok(*l.ctx, hStream)) return CUDA_ERROR_INVALID_HANDLE;
  if (exec.ctx != l->handle) return CUDA_ERROR_INVALID_CONTEXT;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuGraphExecDestroy(CUgraphExec hGraphExec) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  {
    std::lock_guard<std::mutex> g(g_mu);
    if (g_execs.erase(hGraphExec) == 0) return CUDA_ERROR_INVALID_VALUE;
    count_graph_exec(-1);
  }
  user_objects_exec_gone(hGraphExec);
  write_state_file();
  return CUDA_SUCCESS;
}
