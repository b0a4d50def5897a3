// Handlers for graphs whose nodes the guest did not add itself (docs/design.md §19): a clone,
// and the listing of a graph's nodes, which names each node by an id of the channel's (a
// captured graph's nodes get theirs when first listed) and says what the guest needs to know
// of it: its type, and for its own host functions and staging copies, which they are.
#include <unordered_map>
#include <vector>

#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/graph_cycles.h"
#include "vgpud/executor/host_functions.h"
#include "vgpud/executor/reply_payload.h"

namespace vgpud {

int32_t ChannelExecutor::handle(const GraphCloneCmd& cmd, Reply& reply) {
  ChannelObjects::Graph* g = objects_.graphs.find(cmd.graph);
  if (g == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (int32_t st = require_context()) return st;
  if (objects_.graphs.full()) return limit_exceeded();
  if (g->hand_edges > 0)  // as for an instantiation: the driver is not to see a cycle
    if (CUresult r = refuse_cycle(cu_, g->handle)) return r;
  CUgraph clone = nullptr;
  const CUresult r = traced("cuGraphClone", cu_.cuGraphClone(&clone, g->handle));
  if (r != CUDA_SUCCESS) return r;
  put(reply.payload, proto::GraphCreateReply{objects_.graphs.insert({clone, g->device, g->hand_edges}), 0});
  return 0;
}

uint64_t ChannelExecutor::node_detail(CUgraphNode node, CUgraphNodeType type) {
  if (type == CU_GRAPH_NODE_TYPE_HOST) {
    CUDA_HOST_NODE_PARAMS p{};
    if (cu_.cuGraphHostNodeGetParams(node, &p) != CUDA_SUCCESS || p.fn != &HostFunctionQueue::run_in_guest) return 0;
    return reinterpret_cast<uint64_t>(p.userData);
  }
  if (type == CU_GRAPH_NODE_TYPE_MEMCPY) {
    CUDA_MEMCPY3D c{};
    if (cu_.cuGraphMemcpyNodeGetParams(node, &c) != CUDA_SUCCESS) return 0;
    const auto* heap = heap_at(0);
    const uint64_t size = setup_.geometry.heap.size;
    for (const void* end : {c.srcHost, static_cast<const void*>(c.dstHost)}) {
      const auto* p = static_cast<const uint8_t*>(end);
      if (p != nullptr && p >= heap && static_cast<uint64_t>(p - heap) < size) return 1 + static_cast<uint64_t>(p - heap);
    }
  }
  // Graph memory nodes: the address they allocate or free (executor_graph_memory.cpp).
  if (type == CU_GRAPH_NODE_TYPE_MEM_ALLOC) {
    CUDA_MEM_ALLOC_NODE_PARAMS p{};
    return cu_.cuGraphMemAllocNodeGetParams(node, &p) == CUDA_SUCCESS ? p.dptr : 0;
  }
  if (type == CU_GRAPH_NODE_TYPE_MEM_FREE) {
    CUdeviceptr p = 0;
    return cu_.cuGraphMemFreeNodeGetParams(node, &p) == CUDA_SUCCESS ? p : 0;
  }
  return 0;
}

int32_t ChannelExecutor::handle(const GraphListNodesCmd& cmd, Reply& reply) {
  ChannelObjects::Graph* g = objects_.graphs.find(cmd.graph);
  if (g == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (int32_t st = require_context()) return st;
  size_t count = 0;
  if (CUresult r = traced("cuGraphGetNodes", cu_.cuGraphGetNodes(g->handle, nullptr, &count))) return r;
  std::vector<CUgraphNode> nodes(count);
  if (CUresult r = cu_.cuGraphGetNodes(g->handle, nodes.data(), &count)) return r;
  if (cmd.first > count) return CUDA_ERROR_INVALID_VALUE;
  // The ids the channel gave this graph's nodes already.
  std::unordered_map<CUgraphNode, uint32_t> known;
  objects_.graph_nodes.for_each([&](uint32_t id, ChannelObjects::GraphNode& n) {
    if (n.graph == cmd.graph) known.emplace(n.handle, id);
  });
  const size_t returned = std::min<size_t>(count - cmd.first, vgpu::limits::kMaxGraphListNodes);
  std::vector<proto::GraphNodeInfo> infos;
  infos.reserve(returned);
  for (size_t i = cmd.first; i < cmd.first + returned; ++i) {
    uint32_t id = 0;
    if (auto it = known.find(nodes[i]); it != known.end()) {
      id = it->second;
    } else if (objects_.graph_nodes.full()) {
      return limit_exceeded();
    } else {
      id = objects_.graph_nodes.insert({nodes[i], cmd.graph});
    }
    CUgraphNodeType type = CU_GRAPH_NODE_TYPE_EMPTY;
    if (CUresult r = cu_.cuGraphNodeGetType(nodes[i], &type)) return r;
    infos.push_back({id, static_cast<uint32_t>(type), node_detail(nodes[i], type)});
  }
  put(reply.payload, proto::GraphListNodesReply{static_cast<uint32_t>(count), static_cast<uint32_t>(returned)});
  for (const auto& info : infos) put(reply.payload, info);
  return 0;
}

}  // namespace vgpud
