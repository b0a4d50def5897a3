// Graph updates (docs/design.md §19): a node's parameters set in its graph or in an executable
// graph made from it, and an executable graph updated from another graph. A setter names the node
// as the driver does, by the node of the graph the executable graph was made from, so vgpud checks
// that pairing itself (ChannelObjects::GraphExec::graph), and the new parameters exactly as adding
// that node checks them (executor_graph_params.cpp): the driver never sees another channel's node,
// graph, event or function, nor a range outside the channel's memory.
#include <algorithm>
#include <vector>

#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/graph_cycles.h"
#include "vgpud/executor/host_functions.h"
#include "vgpud/executor/reply_payload.h"

namespace vgpud {

int32_t ChannelExecutor::node_to_set(uint32_t exec, uint32_t node, CUgraphNodeType type, CUgraphNode* out,
                                     CUgraphExec* exec_out, uint32_t* device) {
  const ChannelObjects::GraphNode* n = objects_.graph_nodes.find(node);
  if (n == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const ChannelObjects::Graph* g = objects_.graphs.find(n->graph);
  if (g == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *exec_out = nullptr;
  *device = g->device;
  if (exec != 0) {
    const ChannelObjects::GraphExec* e = objects_.graph_execs.find(exec);
    // Only a node of the graph the executable graph was made from names one of its nodes.
    if (e == nullptr || e->graph != n->graph) return CUDA_ERROR_INVALID_VALUE;
    *exec_out = e->handle;
    *device = e->device;
  }
  if (int32_t st = require_context()) return st;
  CUgraphNodeType actual = CU_GRAPH_NODE_TYPE_EMPTY;
  if (CUresult r = traced("cuGraphNodeGetType", cu_.cuGraphNodeGetType(n->handle, &actual))) return r;
  if (actual != type) return CUDA_ERROR_INVALID_VALUE;
  *out = n->handle;
  return 0;
}

int32_t ChannelExecutor::handle(const GraphKernelNodeSetCmd& cmd, Reply&) {
  CUgraphNode node = nullptr;
  CUgraphExec exec = nullptr;
  uint32_t device = 0;
  if (int32_t st = node_to_set(cmd.exec, cmd.node, CU_GRAPH_NODE_TYPE_KERNEL, &node, &exec, &device)) return st;
  void* args[vgpu::limits::kMaxKernelParams];
  CUDA_KERNEL_NODE_PARAMS p{};
  if (int32_t st =
          kernel_node_params(device, cmd.function, cmd.grid, cmd.block, cmd.shared_mem_bytes, cmd.params, args, &p))
    return st;
  return contexts_.in_context_of(device, [&] {
    return exec != nullptr
               ? traced("cuGraphExecKernelNodeSetParams", cu_.cuGraphExecKernelNodeSetParams(exec, node, &p))
               : traced("cuGraphKernelNodeSetParams", cu_.cuGraphKernelNodeSetParams(node, &p));
  });
}

int32_t ChannelExecutor::handle(const GraphMemsetNodeSetCmd& cmd, Reply&) {
  CUgraphNode node = nullptr;
  CUgraphExec exec = nullptr;
  uint32_t device = 0;
  if (int32_t st = node_to_set(cmd.exec, cmd.node, CU_GRAPH_NODE_TYPE_MEMSET, &node, &exec, &device)) return st;
  CUDA_MEMSET_NODE_PARAMS p{};
  if (int32_t st = memset_node_params(cmd.dst, cmd.element_size, cmd.pitch, cmd.width, cmd.height, cmd.value, &p))
    return st;
  if (exec != nullptr)
    return traced("cuGraphExecMemsetNodeSetParams",
                  cu_.cuGraphExecMemsetNodeSetParams(exec, node, &p, contexts_.context_of(device)));
  return contexts_.in_context_of(
      device, [&] { return traced("cuGraphMemsetNodeSetParams", cu_.cuGraphMemsetNodeSetParams(node, &p)); });
}

int32_t ChannelExecutor::handle(const GraphMemcpyNodeSetCmd& cmd, Reply&) {
  CUgraphNode node = nullptr;
  CUgraphExec exec = nullptr;
  uint32_t device = 0;
  if (int32_t st = node_to_set(cmd.exec, cmd.node, CU_GRAPH_NODE_TYPE_MEMCPY, &node, &exec, &device)) return st;
  CUDA_MEMCPY3D c{};
  if (int32_t st =
          memcpy_node_params(cmd.heap, cmd.src, cmd.dst, cmd.src_pitch, cmd.dst_pitch, cmd.width, cmd.height, &c))
    return st;
  if (exec != nullptr)
    return traced("cuGraphExecMemcpyNodeSetParams",
                  cu_.cuGraphExecMemcpyNodeSetParams(exec, node, &c, contexts_.context_of(device)));
  return contexts_.in_context_of(
      device, [&] { return traced("cuGraphMemcpyNodeSetParams", cu_.cuGraphMemcpyNodeSetParams(node, &c)); });
}

int32_t ChannelExecutor::handle(const GraphHostNodeSetCmd& cmd, Reply&) {
  CUgraphNode node = nullptr;
  CUgraphExec exec = nullptr;
  uint32_t device = 0;
  if (int32_t st = node_to_set(cmd.exec, cmd.node, CU_GRAPH_NODE_TYPE_HOST, &node, &exec, &device)) return st;
  if (!HostFunctionQueue::of_process().attached()) return CUDA_ERROR_INVALID_VALUE;
  // vgpud's callback, with the guest's id: the guest runs its own function (host_functions.h).
  CUDA_HOST_NODE_PARAMS p{};
  p.fn = &HostFunctionQueue::run_in_guest;
  p.userData = reinterpret_cast<void*>(cmd.function);
  return exec != nullptr ? traced("cuGraphExecHostNodeSetParams", cu_.cuGraphExecHostNodeSetParams(exec, node, &p))
                         : traced("cuGraphHostNodeSetParams", cu_.cuGraphHostNodeSetParams(node, &p));
}

int32_t ChannelExecutor::handle(const GraphEventNodeSetCmd& cmd, Reply&) {
  const bool wait = cmd.wait != 0;
  CUgraphNode node = nullptr;
  CUgraphExec exec = nullptr;
  uint32_t device = 0;
  if (int32_t st =
          node_to_set(cmd.exec, cmd.node, wait ? CU_GRAPH_NODE_TYPE_WAIT_EVENT : CU_GRAPH_NODE_TYPE_EVENT_RECORD, &node,
                      &exec, &device))
    return st;
  const ChannelObjects::Event* e = objects_.events.find(cmd.event);
  if (e == nullptr || e->device != device) return CUDA_ERROR_INVALID_VALUE;
  if (exec != nullptr)
    return wait
               ? traced("cuGraphExecEventWaitNodeSetEvent", cu_.cuGraphExecEventWaitNodeSetEvent(exec, node, e->handle))
               : traced("cuGraphExecEventRecordNodeSetEvent",
                        cu_.cuGraphExecEventRecordNodeSetEvent(exec, node, e->handle));
  return wait ? traced("cuGraphEventWaitNodeSetEvent", cu_.cuGraphEventWaitNodeSetEvent(node, e->handle))
              : traced("cuGraphEventRecordNodeSetEvent", cu_.cuGraphEventRecordNodeSetEvent(node, e->handle));
}

int32_t ChannelExecutor::handle(const GraphExecChildSetCmd& cmd, Reply&) {
  if (cmd.exec == 0) return CUDA_ERROR_INVALID_VALUE;  // only an executable graph's child node is set
  CUgraphNode node = nullptr;
  CUgraphExec exec = nullptr;
  uint32_t device = 0;
  if (int32_t st = node_to_set(cmd.exec, cmd.node, CU_GRAPH_NODE_TYPE_GRAPH, &node, &exec, &device)) return st;
  const ChannelObjects::Graph* child = objects_.graphs.find(cmd.child);
  if (child == nullptr || child->device != device) return CUDA_ERROR_INVALID_VALUE;
  // The node is given the child's nodes: as when one is added, no cycle may reach the driver.
  if (child->hand_edges > 0)
    if (CUresult r = refuse_cycle(cu_, child->handle)) return r;
  return contexts_.in_context_of(device, [&] {
    return traced("cuGraphExecChildGraphNodeSetParams",
                  cu_.cuGraphExecChildGraphNodeSetParams(exec, node, child->handle));
  });
}

int32_t ChannelExecutor::handle(const GraphNodeEnabledCmd& cmd, Reply& reply) {
  if (cmd.exec == 0) return CUDA_ERROR_INVALID_VALUE;  // enabled is an executable graph's state
  const ChannelObjects::GraphNode* n = objects_.graph_nodes.find(cmd.node);
  const ChannelObjects::GraphExec* e = objects_.graph_execs.find(cmd.exec);
  if (n == nullptr || e == nullptr || e->graph != n->graph) return CUDA_ERROR_INVALID_VALUE;
  if (int32_t st = require_context()) return st;
  unsigned enabled = cmd.enabled;
  const CUresult r = cmd.set != 0
                         ? traced("cuGraphNodeSetEnabled", cu_.cuGraphNodeSetEnabled(e->handle, n->handle, enabled))
                         : traced("cuGraphNodeGetEnabled", cu_.cuGraphNodeGetEnabled(e->handle, n->handle, &enabled));
  if (r != CUDA_SUCCESS) return r;
  put(reply.payload, proto::GraphNodeEnabledReply{enabled != 0 ? 1u : 0u, 0});
  return 0;
}

int32_t ChannelExecutor::handle(const GraphExecUpdateCmd& cmd, Reply& reply) {
  const ChannelObjects::GraphExec* e = objects_.graph_execs.find(cmd.exec);
  const ChannelObjects::Graph* g = objects_.graphs.find(cmd.graph);
  if (e == nullptr || g == nullptr || e->device != g->device) return CUDA_ERROR_INVALID_VALUE;
  if (int32_t st = require_context()) return st;
  // The driver reads the whole graph, as it does instantiating it, where a cycle crashes it.
  if (g->hand_edges > 0)
    if (CUresult r = refuse_cycle(cu_, g->handle)) return r;
  CUgraphExecUpdateResultInfo info{};
  const CUresult r = contexts_.in_context_of(
      e->device, [&] { return traced("cuGraphExecUpdate", cu_.cuGraphExecUpdate(e->handle, g->handle, &info)); });
  // The result's nodes are the graph's: named by the channel's ids, as a listing names them; a
  // node the driver names that is not one of the graph's is named by none.
  std::vector<CUgraphNode> nodes;
  if (info.errorNode != nullptr || info.errorFromNode != nullptr) {
    size_t count = 0;
    if (cu_.cuGraphGetNodes(g->handle, nullptr, &count) == CUDA_SUCCESS) {
      nodes.resize(count);
      if (cu_.cuGraphGetNodes(g->handle, nodes.data(), &count) != CUDA_SUCCESS) count = 0;
      nodes.resize(count);
    }
  }
  auto id_of = [&](CUgraphNode node) {
    return std::find(nodes.begin(), nodes.end(), node) != nodes.end() ? node_id(cmd.graph, node) : 0;
  };
  put(reply.payload, proto::GraphExecUpdateReply{static_cast<int32_t>(r), static_cast<uint32_t>(info.result),
                                                 id_of(info.errorNode), id_of(info.errorFromNode)});
  return 0;
}

}  // namespace vgpud
