// Handlers for graphs built node by node (docs/design.md §19): each node is made in vgpud's
// graph from the guest's validated request, as a launch or a memset would be checked, and
// named to the guest by an id of the channel's.
#include <cstring>

#include "vgpu/protocol/graph_edge.h"
#include "vgpud/executor/call_checks.h"
#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/kernel_args.h"
#include "vgpud/executor/graph_cycles.h"
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
  const ChannelObjects::Function* f = objects_.functions.find(cmd.function);
  if (f == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (f->device != g->device) return CUDA_ERROR_INVALID_VALUE;  // a kernel of another GPU's context
  void* args[vgpu::limits::kMaxKernelParams];
  const auto built = build_kernel_args(f->params, f->buffer_size, cmd.params, args);
  if (!built) return CUDA_ERROR_INVALID_VALUE;
  CUDA_KERNEL_NODE_PARAMS p{};
  p.func = f->handle;
  p.gridDimX = cmd.grid[0], p.gridDimY = cmd.grid[1], p.gridDimZ = cmd.grid[2];
  p.blockDimX = cmd.block[0], p.blockDimY = cmd.block[1], p.blockDimZ = cmd.block[2];
  p.sharedMemBytes = cmd.shared_mem_bytes;
  p.kernelParams = *built == 0 ? nullptr : args;  // the driver copies them into the node
  CUgraphNode node = nullptr;
  const CUresult r = contexts_.in_context_of(g->device, [&] {
    return traced("cuGraphAddKernelNode", cu_.cuGraphAddKernelNode(&node, g->handle, nullptr, 0, &p));
  });
  return node_made(r, cmd.graph, node, reply);
}

int32_t ChannelExecutor::handle(const GraphAddMemsetNodeCmd& cmd, Reply& reply) {
  ChannelObjects::Graph* g = nullptr;
  if (int32_t st = graph_for_new_node(cmd.graph, &g)) return st;
  const uint64_t element = cmd.element_size;
  if (element != 1 && element != 2 && element != 4) return CUDA_ERROR_INVALID_VALUE;
  // One row needs no pitch; the driver still wants one that holds it.
  const uint64_t pitch = cmd.height == 1 ? cmd.width * element : cmd.pitch;
  const std::optional<uint64_t> span = pitched_span(pitch, cmd.width, element, cmd.height);
  if (!span || *span == 0 || !objects_.memory.contains(cmd.dst, *span)) return CUDA_ERROR_INVALID_VALUE;
  CUDA_MEMSET_NODE_PARAMS p{};
  p.dst = cmd.dst;
  p.pitch = pitch;
  p.value = cmd.value;
  p.elementSize = static_cast<unsigned>(element);
  p.width = cmd.width;
  p.height = cmd.height;
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
  // One end, checked: a range of the channel's device memory, or of its heap, which the node
  // then names by vgpud's own mapping of the same pages.
  auto end = [&](uint64_t address, uint64_t pitch, bool heap, CUmemorytype* type, void** host, CUdeviceptr* device,
                 size_t* out_pitch) {
    const uint64_t row_pitch = cmd.height == 1 ? cmd.width : pitch;
    const std::optional<uint64_t> span = pitched_span(row_pitch, cmd.width, 1, cmd.height);
    if (!span) return false;
    *out_pitch = row_pitch;
    if (heap) {
      if (!heap_range_ok(address, *span)) return false;
      *type = CU_MEMORYTYPE_HOST;
      *host = heap_at(address);
      return true;
    }
    if (!objects_.memory.contains(address, *span)) return false;
    *type = CU_MEMORYTYPE_DEVICE;
    *device = address;
    return true;
  };
  CUDA_MEMCPY3D c{};
  void* src_host = nullptr;
  if (!end(cmd.src, cmd.src_pitch, (cmd.heap & 1) != 0, &c.srcMemoryType, &src_host, &c.srcDevice, &c.srcPitch) ||
      !end(cmd.dst, cmd.dst_pitch, (cmd.heap & 2) != 0, &c.dstMemoryType, &c.dstHost, &c.dstDevice, &c.dstPitch))
    return CUDA_ERROR_INVALID_VALUE;
  c.srcHost = src_host;
  c.WidthInBytes = cmd.width;
  c.Height = cmd.height;
  c.Depth = 1;
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
  if (cmd.edges.size() % sizeof(proto::GraphEdge) != 0) return CUDA_ERROR_INVALID_VALUE;
  const size_t count = cmd.edges.size() / sizeof(proto::GraphEdge);
  std::vector<CUgraphNode> from(count), to(count);
  for (size_t i = 0; i < count; ++i) {
    proto::GraphEdge e;
    std::memcpy(&e, cmd.edges.data() + i * sizeof e, sizeof e);
    // Both ends are nodes this channel added to this graph.
    const ChannelObjects::GraphNode* a = objects_.graph_nodes.find(e.from);
    const ChannelObjects::GraphNode* b = objects_.graph_nodes.find(e.to);
    if (a == nullptr || b == nullptr || a->graph != cmd.graph || b->graph != cmd.graph) return CUDA_ERROR_INVALID_VALUE;
    from[i] = a->handle;
    to[i] = b->handle;
  }
  if (count == 0) return 0;
  if (count > vgpu::limits::kMaxGraphEdges - g->hand_edges) return limit_exceeded();
  const CUresult r = traced("cuGraphAddDependencies",
                            cu_.cuGraphAddDependencies(g->handle, from.data(), to.data(), nullptr, count));
  if (r == CUDA_SUCCESS) g->hand_edges += static_cast<uint32_t>(count);
  return r;
}

}  // namespace vgpud
