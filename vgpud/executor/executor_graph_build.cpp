// Handlers for graphs built node by node (docs/design.md §19): each node is made in vgpud's
// graph from the guest's validated request, as a launch or a memset would be checked, and
// named to the guest by an id of the channel's.
#include <cstring>

#include "vgpud/executor/call_checks.h"
#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/kernel_args.h"
#include "vgpud/executor/graph_cycles.h"
#include "vgpud/executor/graph_edges.h"
#include "vgpud/executor/reply_payload.h"

namespace vgpud {

int32_t ChannelExecutor::graph_for_new_node(uint32_t graph, ChannelObjects::Graph** out) {
  *out = objects_.graphs.find(graph);
  if (*out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (int32_t st = require_context()) return st;
  if (objects_.graph_nodes.full()) return limit_exceeded();
  return 0;
}

int32_t ChannelExecutor::node_made(CUresult r, uint32_t graph, CUgraphNode node, Reply& reply) {
  if (r != CUDA_SUCCESS) return r;
  put(reply.payload, proto::GraphNodeReply{objects_.graph_nodes.insert({node, graph}), 0});
  return 0;
}

int32_t ChannelExecutor::handle(const GraphCreateCmd&, Reply& reply) {
  if (int32_t st = require_context()) return st;
  if (objects_.graphs.full()) return limit_exceeded();
  CUgraph graph = nullptr;
  const CUresult r = traced("cuGraphCreate", cu_.cuGraphCreate(&graph, 0));
  if (r != CUDA_SUCCESS) return r;
  put(reply.payload, proto::GraphCreateReply{objects_.graphs.insert({graph, contexts_.current(), 0}), 0});
  return 0;
}

int32_t ChannelExecutor::handle(const GraphAddKernelNodeCmd& cmd, Reply& reply) {
  ChannelObjects::Graph* g = nullptr;
  if (int32_t st = graph_for_new_node(cmd.graph, &g)) return st;
  void* args[vgpu::limits::kMaxKernelParams];
  CUDA_KERNEL_NODE_PARAMS p{};
  if (int32_t st = kernel_node_params(g->device, cmd.function, cmd.grid, cmd.block, cmd.shared_mem_bytes, cmd.params,
                                      args, &p))
    return st;
  CUgraphNode node = nullptr;
  const CUresult r = contexts_.in_context_of(g->device, [&] {
    return traced("cuGraphAddKernelNode", cu_.cuGraphAddKernelNode(&node, g->handle, nullptr, 0, &p));
  });
  return node_made(r, cmd.graph, node, reply);
}

int32_t ChannelExecutor::handle(const GraphAddMemsetNodeCmd& cmd, Reply& reply) {
  ChannelObjects::Graph* g = nullptr;
  if (int32_t st = graph_for_new_node(cmd.graph, &g)) return st;
  CUDA_MEMSET_NODE_PARAMS p{};
  if (int32_t st = memset_node_params(cmd.dst, cmd.element_size, cmd.pitch, cmd.width, cmd.height, cmd.value, &p))
    return st;
  CUgraphNode node = nullptr;
  const CUresult r = traced("cuGraphAddMemsetNode", cu_.cuGraphAddMemsetNode(&node, g->handle, nullptr, 0, &p,
                                                                              contexts_.context_of(g->device)));
  return node_made(r, cmd.graph, node, reply);
}

int32_t ChannelExecutor::handle(const GraphAddEmptyNodeCmd& cmd, Reply& reply) {
  ChannelObjects::Graph* g = nullptr;
  if (int32_t st = graph_for_new_node(cmd.graph, &g)) return st;
  CUgraphNode node = nullptr;
  const CUresult r = traced("cuGraphAddEmptyNode", cu_.cuGraphAddEmptyNode(&node, g->handle, nullptr, 0));
  return node_made(r, cmd.graph, node, reply);
}

int32_t ChannelExecutor::handle(const GraphAddChildNodeCmd& cmd, Reply& reply) {
  ChannelObjects::Graph* g = nullptr;
  if (int32_t st = graph_for_new_node(cmd.graph, &g)) return st;
  ChannelObjects::Graph* child = objects_.graphs.find(cmd.child);
  if (child == nullptr || child == g || child->device != g->device) return CUDA_ERROR_INVALID_VALUE;
  // The node holds a copy of the child: a cycle in it would crash the parent's instantiation.
  if (child->hand_edges > 0) {
    if (CUresult r = refuse_cycle(cu_, child->handle)) return r;
  }
  CUgraphNode node = nullptr;
  const CUresult r =
      traced("cuGraphAddChildGraphNode", cu_.cuGraphAddChildGraphNode(&node, g->handle, nullptr, 0, child->handle));
  return node_made(r, cmd.graph, node, reply);
}

int32_t ChannelExecutor::handle(const GraphAddMemcpyNodeCmd& cmd, Reply& reply) {
  ChannelObjects::Graph* g = nullptr;
  if (int32_t st = graph_for_new_node(cmd.graph, &g)) return st;
  CUDA_MEMCPY3D c{};
  if (int32_t st =
          memcpy_node_params(cmd.heap, cmd.src, cmd.dst, cmd.src_pitch, cmd.dst_pitch, cmd.width, cmd.height, &c))
    return st;
  CUgraphNode node = nullptr;
  const CUresult r = traced("cuGraphAddMemcpyNode", cu_.cuGraphAddMemcpyNode(&node, g->handle, nullptr, 0, &c,
                                                                              contexts_.context_of(g->device)));
  return node_made(r, cmd.graph, node, reply);
}

int32_t ChannelExecutor::handle(const GraphAddEventNodeCmd& cmd, Reply& reply) {
  ChannelObjects::Graph* g = nullptr;
  if (int32_t st = graph_for_new_node(cmd.graph, &g)) return st;
  const ChannelObjects::Event* e = objects_.events.find(cmd.event);
  if (e == nullptr || e->device != g->device) return CUDA_ERROR_INVALID_VALUE;
  CUgraphNode node = nullptr;
  const CUresult r = cmd.wait != 0
                         ? traced("cuGraphAddEventWaitNode", cu_.cuGraphAddEventWaitNode(&node, g->handle, nullptr, 0, e->handle))
                         : traced("cuGraphAddEventRecordNode",
                                  cu_.cuGraphAddEventRecordNode(&node, g->handle, nullptr, 0, e->handle));
  return node_made(r, cmd.graph, node, reply);
}

int32_t ChannelExecutor::handle(const GraphAddDependenciesCmd& cmd, Reply&) {
  ChannelObjects::Graph* g = objects_.graphs.find(cmd.graph);
  if (g == nullptr) return CUDA_ERROR_INVALID_VALUE;
  // Both ends are nodes this channel added to this graph; the edge data goes to the driver as
  // it is (the mediator checked each value is one there is).
  DriverEdges edges;
  if (int32_t st = resolve_edges(objects_, cmd.graph, cmd.edges, &edges)) return st;
  const size_t count = edges.size();
  if (count == 0) return 0;
  if (count > vgpu::limits::kMaxGraphEdges - g->hand_edges) return limit_exceeded();
  const CUresult r = traced("cuGraphAddDependencies", cu_.cuGraphAddDependencies(g->handle, edges.from.data(),
                                                                                  edges.to.data(), edges.data.data(), count));
  if (r == CUDA_SUCCESS) g->hand_edges += static_cast<uint32_t>(count);
  // A graph a node holds (a child graph's, a conditional's body) is instantiated only inside
  // its parent, whose check does not walk it: a cycle is refused now, and the edges taken back.
  if (r == CUDA_SUCCESS && g->owner_node != 0) {
    if (const CUresult cycle = refuse_cycle(cu_, g->handle); cycle != CUDA_SUCCESS) {
      (void)cu_.cuGraphRemoveDependencies(g->handle, edges.from.data(), edges.to.data(), edges.data.data(), count);
      return cycle;
    }
  }
  return r;
}

}  // namespace vgpud
