// fake-cuda (test double, never ships): conditional nodes. A handle (cuGraphConditionalHandleCreate)
// is a value of the registry below, bound to the graph that will hold its node; kernels set it
// (the built-in fake_set_conditional and fake_countdown kernels stand for cudaGraphSetConditional),
// and an executable graph's launch first sets every handle its nodes use that asks for it to its
// default. cuGraphAddNode_v2 makes conditional nodes only: an IF, WHILE or SWITCH whose bodies are
// graphs of the registry the node owns (phGraph_out points at them), filled by hand or by a
// capture (cuStreamBeginCaptureToGraph), and copied into the node at instantiation (graph.cpp).
#include "graph.h"

using namespace vgpu::fake;

namespace {

struct Handle {
  CUgraph graph = nullptr;
  unsigned default_value = 0;
  bool assign_default = false;
  unsigned value = 0;
};

std::mutex g_handles_mu;  // a leaf
std::unordered_map<CUgraphConditionalHandle, Handle> g_handles;

// A WHILE body that never sets its condition to 0 would spin for ever on a GPU too; the fake
// gives up after this many rounds and says so.
constexpr int kMaxWhileRounds = 1 << 20;

bool value_of(CUgraphConditionalHandle h, unsigned* out) {
  std::lock_guard<std::mutex> g(g_handles_mu);
  auto it = g_handles.find(h);
  if (it == g_handles.end()) return false;
  *out = it->second.value;
  return true;
}

}  // namespace

namespace vgpu::fake {

void conditional_set(CUgraphConditionalHandle h, unsigned value) {
  std::lock_guard<std::mutex> g(g_handles_mu);
  if (auto it = g_handles.find(h); it != g_handles.end()) it->second.value = value;
}

void conditional_launch_begins(const std::vector<Node>& nodes) {
  for (const Node& n : nodes) {
    if (const auto* c = std::get_if<ChildNode>(&n.op)) {
      conditional_launch_begins(*c->nodes);
    } else if (const auto* cond = std::get_if<ConditionalNode>(&n.op)) {
      {
        std::lock_guard<std::mutex> g(g_handles_mu);
        if (auto it = g_handles.find(cond->handle); it != g_handles.end() && it->second.assign_default)
          it->second.value = it->second.default_value;
      }
      for (const auto& body : cond->snapshots) conditional_launch_begins(*body);
    }
  }
}

CUresult replay_conditional(Locked& l, const ConditionalNode& c) {
  unsigned v = 0;
  if (!value_of(c.handle, &v)) return CUDA_SUCCESS;  // its handle is gone: nothing runs
  auto body = [&](std::size_t i) -> CUresult {
    if (i >= c.snapshots.size()) return CUDA_SUCCESS;
    CUresult r = graph_replay(l, *c.snapshots[i]);
    if (!l.lock.owns_lock()) l.lock.lock();
    return r;
  };
  switch (c.type) {
    case CU_GRAPH_COND_TYPE_IF:
      return v != 0 ? body(0) : body(1);
    case CU_GRAPH_COND_TYPE_SWITCH:
      return body(v);
    case CU_GRAPH_COND_TYPE_WHILE:
      for (int round = 0; v != 0; ++round) {
        if (round == kMaxWhileRounds) {
          verbose("conditional WHILE node: still true after %d rounds; stopped", kMaxWhileRounds);
          return CUDA_SUCCESS;
        }
        if (CUresult r = body(0); r != CUDA_SUCCESS) return r;
        if (l->sticky != CUDA_SUCCESS) return CUDA_SUCCESS;
        if (!value_of(c.handle, &v)) return CUDA_SUCCESS;
      }
      return CUDA_SUCCESS;
  }
  return CUDA_SUCCESS;
}

}  // namespace vgpu::fake

// A handle for conditional nodes of hGraph, in context ctx (which must be live): flags 0 or
// CU_GRAPH_COND_ASSIGN_DEFAULT (the default is then set at each launch); its value starts as the
// default.
FAKE_CUDA_API CUresult CUDAAPI cuGraphConditionalHandleCreate(CUgraphConditionalHandle* pHandle_out, CUgraph hGraph,
                                                              CUcontext ctx, unsigned int defaultLaunchValue,
                                                              unsigned int flags) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  bool capturing = false;
  CUcontext graph_ctx = nullptr;
  if (pHandle_out == nullptr || (flags & ~CU_GRAPH_COND_ASSIGN_DEFAULT) != 0 ||
      !graph_state(hGraph, &capturing, &graph_ctx))
    return CUDA_ERROR_INVALID_VALUE;
  if (ctx == nullptr || !find_context(ctx)) return CUDA_ERROR_INVALID_CONTEXT;
  const auto h = static_cast<CUgraphConditionalHandle>(next_handle());
  std::lock_guard<std::mutex> g(g_handles_mu);
  g_handles.emplace(h, Handle{hGraph, defaultLaunchValue, flags != 0, defaultLaunchValue});
  *pHandle_out = h;
  return CUDA_SUCCESS;
}

// Conditional nodes only (other node types are added with their own cuGraphAdd*Node): a handle
// made for this graph, IF with 1 or 2 bodies, WHILE with 1, SWITCH with any; the context live.
FAKE_CUDA_API CUresult CUDAAPI cuGraphAddNode_v2(CUgraphNode* phGraphNode, CUgraph hGraph,
                                                 const CUgraphNode* dependencies, const CUgraphEdgeData* dependencyData,
                                                 size_t numDependencies, CUgraphNodeParams* nodeParams) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (phGraphNode == nullptr || nodeParams == nullptr || dependencyData != nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (raw_enum(&nodeParams->type) != CU_GRAPH_NODE_TYPE_CONDITIONAL) return CUDA_ERROR_NOT_SUPPORTED;
  CUDA_CONDITIONAL_NODE_PARAMS& p = nodeParams->conditional;
  {
    std::lock_guard<std::mutex> g(g_handles_mu);
    auto it = g_handles.find(p.handle);
    if (it == g_handles.end() || it->second.graph != hGraph) return CUDA_ERROR_INVALID_VALUE;
  }
  const int type = raw_enum(&p.type);
  const bool size_ok = (type == CU_GRAPH_COND_TYPE_IF && (p.size == 1 || p.size == 2)) ||
                       (type == CU_GRAPH_COND_TYPE_WHILE && p.size == 1) ||
                       (type == CU_GRAPH_COND_TYPE_SWITCH && p.size >= 1);
  if (!size_ok) return CUDA_ERROR_INVALID_VALUE;
  if (p.ctx == nullptr || !find_context(p.ctx)) return CUDA_ERROR_INVALID_CONTEXT;
  ConditionalNode node;
  node.handle = p.handle;
  node.type = type;
  node.bodies = std::make_shared<std::vector<CUgraph>>();
  for (unsigned i = 0; i < p.size; ++i) node.bodies->push_back(graph_make(p.ctx));
  const std::shared_ptr<std::vector<CUgraph>> bodies = node.bodies;
  if (CUresult r = graph_insert(hGraph, p.ctx, std::move(node), dependencies, numDependencies, phGraphNode);
      r != CUDA_SUCCESS) {
    for (CUgraph b : *bodies) graph_drop(b);
    write_state_file();
    return r;
  }
  p.phGraph_out = bodies->data();  // the node's own array, valid while it lives
  write_state_file();
  return CUDA_SUCCESS;
}
