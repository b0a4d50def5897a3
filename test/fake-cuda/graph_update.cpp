// fake-cuda (test double, never ships): a graph node's parameters read back and set, in its graph
// and in an executable graph made from it, nodes of an executable graph turned off and on, kernel
// node attributes, and cuGraphExecUpdate.
//
// A setter checks the new parameters exactly as adding the node checks them (graph_build.cpp's
// *_node_from). An executable graph's node is named by the node of the graph it was made from (its
// copy keeps that handle); its setters edit a copy of the executable graph's nodes, so a launch
// under way keeps what it started with. cuGraphExecUpdate pairs the nodes of the two graphs by
// their place in the order they run, and refuses what the driver documents it refuses: another
// number of nodes, another type, other edges (TOPOLOGY_CHANGED, NODE_TYPE_CHANGED), a memcpy
// node's memory kinds changed or a 2D memset reshaped (PARAMETERS_CHANGED), a cooperative kernel
// node made ordinary or the reverse (ATTRIBUTES_CHANGED), a child graph of other nodes.
#include "graph.h"

using namespace vgpu::fake;

namespace {

// The node of `nodes` made from graph node `h`, when it is an `Op`; null otherwise.
template <class Op>
Op* op_of(std::vector<Node>& nodes, CUgraphNode h, Node** node = nullptr) {
  for (Node& n : nodes) {
    if (n.handle != h) continue;
    if (node != nullptr) *node = &n;
    return std::get_if<Op>(&n.op);
  }
  return nullptr;
}

// Sets graph node `h`'s operation to `op` when its current one is an `Op` (a kernel node keeps
// its attributes, which are not parameters): CUDA_ERROR_INVALID_VALUE otherwise.
template <class Op>
CUresult set_graph_node(CUgraphNode h, Op op) {
  bool ok = false;
  if (!graph_node_update(h, [&](NodeOp& current) {
        auto* old = std::get_if<Op>(&current);
        if (old == nullptr) return;
        if constexpr (std::is_same_v<Op, KernelNode>) {
          op.cooperative = old->cooperative, op.priority = old->priority;
          std::copy(std::begin(old->cluster), std::end(old->cluster), std::begin(op.cluster));
        }
        current = std::move(op);
        ok = true;
      }))
    return CUDA_ERROR_INVALID_VALUE;
  return ok ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

// A copy of graph node `h`'s operation when it is an `Op`.
template <class Op>
bool graph_op(CUgraphNode h, Op& out, CUgraph* graph = nullptr) {
  NodeOp op;
  if (!graph_node_info(h, graph, &op)) return false;
  const auto* found = std::get_if<Op>(&op);
  if (found == nullptr) return false;
  out = *found;
  return true;
}

// Edits executable graph `e`'s node made from `h` when it is an `Op`: fn(op, node) returns the
// result; CUDA_ERROR_INVALID_VALUE for an unknown executable graph or node, or another type.
template <class Op, class Fn>
CUresult edit_exec_node(CUgraphExec e, CUgraphNode h, Fn&& fn) {
  return exec_edit(e, [&](std::vector<Node>& nodes) {
    Node* node = nullptr;
    Op* op = op_of<Op>(nodes, h, &node);
    return op == nullptr ? CUDA_ERROR_INVALID_VALUE : fn(*op, *node);
  });
}

// The executable graph's context, locked, for checks that need one of its objects.
CUresult exec_context(CUgraphExec e, Locked& l) {
  CUcontext ctx = nullptr;
  std::vector<Node> nodes;
  Positions edges;
  if (!exec_topology(e, &ctx, &nodes, &edges)) return CUDA_ERROR_INVALID_VALUE;
  return enter_node_context(ctx, l);
}

// Where cuGraphKernelNodeGetParams points kernelParams: a copy of the arguments, kept per node
// until the next read of that node (the driver's stay valid until the node changes).
struct ArgsView {
  std::vector<unsigned char> bytes;
  std::vector<void*> pointers;
};
std::mutex g_views_mu;
std::unordered_map<CUgraphNode, std::shared_ptr<ArgsView>> g_views;

// An event of a live context, and that context; null when none holds it.
CUcontext event_context(CUevent event) {
  if (event == nullptr) return nullptr;
  for (std::shared_ptr<Context>& ctx : live_contexts()) {
    std::lock_guard<std::mutex> lock(ctx->mu);
    if (!ctx->destroyed && ctx->events.count(event) != 0) return ctx->handle;
  }
  return nullptr;
}

// The event of an event node (Op: EventRecordNode or EventWaitNode) read or set in its graph.
template <class Op>
CUresult get_event(CUgraphNode h, CUevent* out) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  Op op;
  if (out == nullptr || !graph_op(h, op)) return CUDA_ERROR_INVALID_VALUE;
  *out = op.event;
  return CUDA_SUCCESS;
}
template <class Op>
CUresult set_event(CUgraphNode h, CUevent event) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  Op op;
  CUgraph graph = nullptr;
  if (!graph_op(h, op, &graph)) return CUDA_ERROR_INVALID_VALUE;
  const CUcontext owner = event_context(event);
  bool capturing = false;
  CUcontext ctx = nullptr;
  if (owner == nullptr || !graph_state(graph, &capturing, &ctx) || (ctx != nullptr && ctx != owner))
    return CUDA_ERROR_INVALID_VALUE;
  return set_graph_node(h, Op{event});
}
template <class Op>
CUresult exec_set_event(CUgraphExec e, CUgraphNode h, CUevent event) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  CUcontext ctx = nullptr;
  std::vector<Node> nodes;
  Positions edges;
  if (!exec_topology(e, &ctx, &nodes, &edges) || event_context(event) != ctx) return CUDA_ERROR_INVALID_VALUE;
  return edit_exec_node<Op>(e, h, [&](Op& op, Node&) {
    op.event = event;
    return CUDA_SUCCESS;
  });
}

}  // namespace

// ---- a node's parameters in its graph ----

// kernelParams points at a copy of the node's arguments, one pointer per parameter, valid until
// the node is read again; `extra` is null, `kern` and `ctx` are null.
FAKE_CUDA_API CUresult CUDAAPI cuGraphKernelNodeGetParams_v2(CUgraphNode hNode, CUDA_KERNEL_NODE_PARAMS* nodeParams) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  KernelNode k;
  if (nodeParams == nullptr || !graph_op(hNode, k)) return CUDA_ERROR_INVALID_VALUE;
  auto view = std::make_shared<ArgsView>();
  view->bytes = k.args;
  for (const ParamLayout& p : k.fn.params) view->pointers.push_back(view->bytes.data() + p.offset);
  CUDA_KERNEL_NODE_PARAMS out{};
  out.func = k.func;
  out.gridDimX = k.grid[0], out.gridDimY = k.grid[1], out.gridDimZ = k.grid[2];
  out.blockDimX = k.block[0], out.blockDimY = k.block[1], out.blockDimZ = k.block[2];
  out.sharedMemBytes = k.smem;
  out.kernelParams = view->pointers.empty() ? nullptr : view->pointers.data();
  {
    std::lock_guard<std::mutex> lock(g_views_mu);
    g_views[hNode] = std::move(view);
  }
  *nodeParams = out;
  return CUDA_SUCCESS;
}

// Checked as cuGraphAddKernelNode_v2 checks a new node, in the current context, which must be the
// graph's (CUDA_ERROR_INVALID_CONTEXT otherwise); the node keeps its attributes.
FAKE_CUDA_API CUresult CUDAAPI cuGraphKernelNodeSetParams_v2(CUgraphNode hNode,
                                                             const CUDA_KERNEL_NODE_PARAMS* nodeParams) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  KernelNode old;
  CUgraph graph = nullptr;
  if (nodeParams == nullptr || !graph_op(hNode, old, &graph)) return CUDA_ERROR_INVALID_VALUE;
  bool capturing = false;
  CUcontext ctx = nullptr;
  if (!graph_state(graph, &capturing, &ctx)) return CUDA_ERROR_INVALID_VALUE;
  if (ctx != nullptr && ctx != l->handle) return CUDA_ERROR_INVALID_CONTEXT;
  KernelNode k;
  if (CUresult r = kernel_node_from(*l.ctx, *nodeParams, k); r != CUDA_SUCCESS) return r;
  return set_graph_node(hNode, std::move(k));  // g_mu is a leaf under the context's lock
}

FAKE_CUDA_API CUresult CUDAAPI cuGraphMemsetNodeGetParams(CUgraphNode hNode, CUDA_MEMSET_NODE_PARAMS* nodeParams) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  MemsetNode m;
  if (nodeParams == nullptr || !graph_op(hNode, m)) return CUDA_ERROR_INVALID_VALUE;
  CUDA_MEMSET_NODE_PARAMS out{};
  out.dst = m.dst;
  out.pitch = m.pitch;
  std::memcpy(&out.value, m.value.data(), m.elem);  // the element's bytes, little-endian
  out.elementSize = static_cast<unsigned>(m.elem);
  out.width = m.width;
  out.height = m.height;
  *nodeParams = out;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuGraphMemsetNodeSetParams(CUgraphNode hNode,
                                                          const CUDA_MEMSET_NODE_PARAMS* nodeParams) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  MemsetNode old, m;
  if (nodeParams == nullptr || !graph_op(hNode, old)) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = memset_node_from(*nodeParams, m); r != CUDA_SUCCESS) return r;
  return set_graph_node(hNode, m);
}

FAKE_CUDA_API CUresult CUDAAPI cuGraphMemcpyNodeSetParams(CUgraphNode hNode, const CUDA_MEMCPY3D* nodeParams) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  CopyNode old, c;
  if (nodeParams == nullptr || !graph_op(hNode, old)) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = copy_node_from(*nodeParams, c); r != CUDA_SUCCESS) return r;
  return set_graph_node(hNode, c);
}

FAKE_CUDA_API CUresult CUDAAPI cuGraphHostNodeSetParams(CUgraphNode hNode, const CUDA_HOST_NODE_PARAMS* nodeParams) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (nodeParams == nullptr || nodeParams->fn == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return set_graph_node(hNode, HostNode{nodeParams->fn, nodeParams->userData});
}

// An event of a live context that is the graph's (when it has one yet).
FAKE_CUDA_API CUresult CUDAAPI cuGraphEventRecordNodeGetEvent(CUgraphNode hNode, CUevent* event_out) {
  return get_event<EventRecordNode>(hNode, event_out);
}
FAKE_CUDA_API CUresult CUDAAPI cuGraphEventRecordNodeSetEvent(CUgraphNode hNode, CUevent event) {
  return set_event<EventRecordNode>(hNode, event);
}
FAKE_CUDA_API CUresult CUDAAPI cuGraphEventWaitNodeGetEvent(CUgraphNode hNode, CUevent* event_out) {
  return get_event<EventWaitNode>(hNode, event_out);
}
FAKE_CUDA_API CUresult CUDAAPI cuGraphEventWaitNodeSetEvent(CUgraphNode hNode, CUevent event) {
  return set_event<EventWaitNode>(hNode, event);
}

// ---- an executable graph's node ----

// The function must be of the executable graph's context (the driver's "owning context of the
// function cannot change"); the node keeps its attributes.
FAKE_CUDA_API CUresult CUDAAPI cuGraphExecKernelNodeSetParams_v2(CUgraphExec hGraphExec, CUgraphNode hNode,
                                                                 const CUDA_KERNEL_NODE_PARAMS* nodeParams) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (nodeParams == nullptr) return CUDA_ERROR_INVALID_VALUE;
  Locked l;
  if (CUresult r = exec_context(hGraphExec, l); r != CUDA_SUCCESS) return r;
  KernelNode k;
  if (CUresult r = kernel_node_from(*l.ctx, *nodeParams, k); r != CUDA_SUCCESS)
    return r == CUDA_ERROR_INVALID_HANDLE ? CUDA_ERROR_INVALID_VALUE : r;
  return edit_exec_node<KernelNode>(hGraphExec, hNode, [&](KernelNode& op, Node&) {
    k.cooperative = op.cooperative, k.priority = op.priority;
    std::copy(std::begin(op.cluster), std::end(op.cluster), std::begin(k.cluster));
    op = std::move(k);
    return CUDA_SUCCESS;
  });
}

// As the driver documents: both the node's copy and the new one one-dimensional (one row of one
// slice), of the same memory kinds.
FAKE_CUDA_API CUresult CUDAAPI cuGraphExecMemcpyNodeSetParams(CUgraphExec hGraphExec, CUgraphNode hNode,
                                                              const CUDA_MEMCPY3D* copyParams, CUcontext) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  CopyNode c;
  if (copyParams == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = copy_node_from(*copyParams, c); r != CUDA_SUCCESS) return r;
  return edit_exec_node<CopyNode>(hGraphExec, hNode, [&](CopyNode& op, Node&) {
    const bool one_d = op.height == 1 && op.depth == 1 && c.height == 1 && c.depth == 1;
    if (!one_d || op.src_device != c.src_device || op.dst_device != c.dst_device) return CUDA_ERROR_INVALID_VALUE;
    op = c;
    return CUDA_SUCCESS;
  });
}

// Both the node's memset and the new one one-dimensional, as the driver documents.
FAKE_CUDA_API CUresult CUDAAPI cuGraphExecMemsetNodeSetParams(CUgraphExec hGraphExec, CUgraphNode hNode,
                                                              const CUDA_MEMSET_NODE_PARAMS* memsetParams, CUcontext) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  MemsetNode m;
  if (memsetParams == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = memset_node_from(*memsetParams, m); r != CUDA_SUCCESS) return r;
  return edit_exec_node<MemsetNode>(hGraphExec, hNode, [&](MemsetNode& op, Node&) {
    if (op.height != 1 || m.height != 1 || op.write_value) return CUDA_ERROR_INVALID_VALUE;
    op = m;
    return CUDA_SUCCESS;
  });
}

FAKE_CUDA_API CUresult CUDAAPI cuGraphExecHostNodeSetParams(CUgraphExec hGraphExec, CUgraphNode hNode,
                                                            const CUDA_HOST_NODE_PARAMS* nodeParams) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (nodeParams == nullptr || nodeParams->fn == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return edit_exec_node<HostNode>(hGraphExec, hNode, [&](HostNode& op, Node&) {
    op = HostNode{nodeParams->fn, nodeParams->userData};
    return CUDA_SUCCESS;
  });
}

// The child's nodes must be as many and of the same types, in the same order, as the node's
// (the driver's "topology ... must match"); the node then runs a copy of them.
FAKE_CUDA_API CUresult CUDAAPI cuGraphExecChildGraphNodeSetParams(CUgraphExec hGraphExec, CUgraphNode hNode,
                                                                  CUgraph childGraph) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  CUcontext ctx = nullptr;
  std::shared_ptr<const std::vector<Node>> nodes;
  if (CUresult r = graph_snapshot(childGraph, &ctx, &nodes); r != CUDA_SUCCESS) return r;
  return edit_exec_node<ChildNode>(hGraphExec, hNode, [&](ChildNode& op, Node&) {
    if (op.nodes->size() != nodes->size()) return CUDA_ERROR_INVALID_VALUE;
    for (std::size_t i = 0; i < nodes->size(); ++i)
      if ((*op.nodes)[i].op.index() != (*nodes)[i].op.index()) return CUDA_ERROR_INVALID_VALUE;
    op.nodes = nodes;
    return CUDA_SUCCESS;
  });
}

FAKE_CUDA_API CUresult CUDAAPI cuGraphExecEventRecordNodeSetEvent(CUgraphExec hGraphExec, CUgraphNode hNode,
                                                                  CUevent event) {
  return exec_set_event<EventRecordNode>(hGraphExec, hNode, event);
}
FAKE_CUDA_API CUresult CUDAAPI cuGraphExecEventWaitNodeSetEvent(CUgraphExec hGraphExec, CUgraphNode hNode,
                                                                CUevent event) {
  return exec_set_event<EventWaitNode>(hGraphExec, hNode, event);
}

// Kernel, memset and memcpy nodes only, as the driver documents.
FAKE_CUDA_API CUresult CUDAAPI cuGraphNodeSetEnabled(CUgraphExec hGraphExec, CUgraphNode hNode,
                                                     unsigned int isEnabled) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  return exec_edit(hGraphExec, [&](std::vector<Node>& nodes) {
    for (Node& n : nodes) {
      if (n.handle != hNode) continue;
      const bool settable = std::holds_alternative<KernelNode>(n.op) || std::holds_alternative<CopyNode>(n.op) ||
                            (std::holds_alternative<MemsetNode>(n.op) && !std::get<MemsetNode>(n.op).write_value);
      if (!settable) return CUDA_ERROR_INVALID_VALUE;
      n.disabled = isEnabled == 0;
      return CUDA_SUCCESS;
    }
    return CUDA_ERROR_INVALID_VALUE;
  });
}

FAKE_CUDA_API CUresult CUDAAPI cuGraphNodeGetEnabled(CUgraphExec hGraphExec, CUgraphNode hNode,
                                                     unsigned int* isEnabled) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  CUcontext ctx = nullptr;
  std::vector<Node> nodes;
  Positions edges;
  if (isEnabled == nullptr || !exec_topology(hGraphExec, &ctx, &nodes, &edges)) return CUDA_ERROR_INVALID_VALUE;
  for (const Node& n : nodes) {
    if (n.handle != hNode) continue;
    *isEnabled = n.disabled ? 0 : 1;
    return CUDA_SUCCESS;
  }
  return CUDA_ERROR_INVALID_VALUE;
}
