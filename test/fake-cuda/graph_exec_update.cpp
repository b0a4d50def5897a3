// fake-cuda (test double, never ships): cuGraphExecUpdate, and a kernel node's launch attributes.
//
// cuGraphExecUpdate pairs the executable graph's nodes with the graph's by their place in the
// order each runs (graph.cpp's order: edges first, then the order nodes were added), and refuses
// what the driver documents it refuses, saying which node of the graph it stopped at: another
// number of nodes (TOPOLOGY_CHANGED, no node), another type (NODE_TYPE_CHANGED), other
// dependencies (TOPOLOGY_CHANGED, the node and the dependency that does not match), a memcpy
// node's memory kinds changed or a 2D memset reshaped (PARAMETERS_CHANGED), a cooperative kernel
// node made ordinary or the reverse (ATTRIBUTES_CHANGED), a child graph of other nodes
// (PARAMETERS_CHANGED), a graph of another context (ERROR). Otherwise every node of the
// executable graph takes the graph's node's operation; which nodes are disabled stays.
//
// Kernel node attributes: COOPERATIVE, PRIORITY and CLUSTER_DIMENSION are kept on the node and read
// back (the fake runs every kernel the same way); other attributes are CUDA_ERROR_NOT_SUPPORTED.
#include <algorithm>
#include <set>

#include "graph.h"

using namespace vgpu::fake;

namespace {

// For each node, the positions of the nodes it waits for.
std::vector<std::set<std::size_t>> dependencies(std::size_t count, const Positions& edges) {
  std::vector<std::set<std::size_t>> deps(count);
  for (const auto& [from, to] : edges)
    if (to < count) deps[to].insert(from);
  return deps;
}

// What a node may not change in an update, as a result (SUCCESS when nothing such changed).
CUgraphExecUpdateResult compare(const NodeOp& was, const NodeOp& now) {
  if (was.index() != now.index()) return CU_GRAPH_EXEC_UPDATE_ERROR_NODE_TYPE_CHANGED;
  if (const auto* a = std::get_if<CopyNode>(&was)) {
    const auto& b = std::get<CopyNode>(now);
    if (a->src_device != b.src_device || a->dst_device != b.dst_device)
      return CU_GRAPH_EXEC_UPDATE_ERROR_PARAMETERS_CHANGED;
  } else if (const auto* a = std::get_if<MemsetNode>(&was)) {
    const auto& b = std::get<MemsetNode>(now);
    if (a->write_value != b.write_value) return CU_GRAPH_EXEC_UPDATE_ERROR_NODE_TYPE_CHANGED;
    const bool reshaped = a->width != b.width || a->height != b.height || a->pitch != b.pitch || a->elem != b.elem;
    if ((a->height > 1 || b.height > 1) && reshaped) return CU_GRAPH_EXEC_UPDATE_ERROR_PARAMETERS_CHANGED;
  } else if (const auto* a = std::get_if<KernelNode>(&was)) {
    if ((a->cooperative != 0) != (std::get<KernelNode>(now).cooperative != 0))
      return CU_GRAPH_EXEC_UPDATE_ERROR_ATTRIBUTES_CHANGED;
  } else if (const auto* a = std::get_if<ChildNode>(&was)) {
    const auto& b = std::get<ChildNode>(now);
    if (a->nodes->size() != b.nodes->size()) return CU_GRAPH_EXEC_UPDATE_ERROR_PARAMETERS_CHANGED;
    for (std::size_t i = 0; i < a->nodes->size(); ++i)
      if (compare((*a->nodes)[i].op, (*b.nodes)[i].op) != CU_GRAPH_EXEC_UPDATE_SUCCESS)
        return CU_GRAPH_EXEC_UPDATE_ERROR_PARAMETERS_CHANGED;
  }
  return CU_GRAPH_EXEC_UPDATE_SUCCESS;
}

CUresult refuse(CUgraphExecUpdateResultInfo* info, CUgraphExecUpdateResult why, CUgraphNode node = nullptr,
                CUgraphNode from = nullptr) {
  info->result = why;
  info->errorNode = node;
  info->errorFromNode = from;
  return CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE;
}

// The kernel node `h`'s operation, edited by fn under the registry lock when it is a kernel node.
template <class Fn>
CUresult with_kernel_node(CUgraphNode h, Fn&& fn) {
  CUresult r = CUDA_ERROR_INVALID_VALUE;
  if (!graph_node_update(h, [&](NodeOp& op) {
        if (auto* k = std::get_if<KernelNode>(&op)) r = fn(*k);
      }))
    return CUDA_ERROR_INVALID_VALUE;
  return r;
}

}  // namespace

FAKE_CUDA_API CUresult CUDAAPI cuGraphExecUpdate_v2(CUgraphExec hGraphExec, CUgraph hGraph,
                                                    CUgraphExecUpdateResultInfo* resultInfo) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (resultInfo == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *resultInfo = CUgraphExecUpdateResultInfo{};
  resultInfo->result = CU_GRAPH_EXEC_UPDATE_ERROR;
  CUcontext exec_ctx = nullptr, graph_ctx = nullptr;
  std::vector<Node> was, now;
  Positions was_edges, now_edges;
  if (!exec_topology(hGraphExec, &exec_ctx, &was, &was_edges)) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = graph_topology(hGraph, &graph_ctx, &now, &now_edges); r != CUDA_SUCCESS) return r;
  if (graph_ctx != nullptr && graph_ctx != exec_ctx) return refuse(resultInfo, CU_GRAPH_EXEC_UPDATE_ERROR);
  if (was.size() != now.size()) return refuse(resultInfo, CU_GRAPH_EXEC_UPDATE_ERROR_TOPOLOGY_CHANGED);
  const auto was_deps = dependencies(was.size(), was_edges), now_deps = dependencies(now.size(), now_edges);
  for (std::size_t i = 0; i < now.size(); ++i) {
    if (was[i].op.index() != now[i].op.index())
      return refuse(resultInfo, CU_GRAPH_EXEC_UPDATE_ERROR_NODE_TYPE_CHANGED, now[i].handle);
    if (was_deps[i] != now_deps[i]) {
      // The first dependency of the graph's node that its pair lacks, if it has one.
      CUgraphNode from = nullptr;
      for (std::size_t d : now_deps[i])
        if (was_deps[i].count(d) == 0) {
          from = now[d].handle;
          break;
        }
      return refuse(resultInfo, CU_GRAPH_EXEC_UPDATE_ERROR_TOPOLOGY_CHANGED, now[i].handle, from);
    }
    if (CUgraphExecUpdateResult why = compare(was[i].op, now[i].op); why != CU_GRAPH_EXEC_UPDATE_SUCCESS)
      return refuse(resultInfo, why, now[i].handle);
  }
  const CUresult r = exec_edit(hGraphExec, [&](std::vector<Node>& nodes) {
    if (nodes.size() != now.size()) return CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE;  // changed meanwhile
    for (std::size_t i = 0; i < nodes.size(); ++i) nodes[i].op = now[i].op;
    return CUDA_SUCCESS;
  });
  if (r == CUDA_SUCCESS) resultInfo->result = CU_GRAPH_EXEC_UPDATE_SUCCESS;
  return r;
}

FAKE_CUDA_API CUresult CUDAAPI cuGraphKernelNodeGetAttribute(CUgraphNode hNode, CUkernelNodeAttrID attr,
                                                             CUkernelNodeAttrValue* value_out) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (value_out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return with_kernel_node(hNode, [&](KernelNode& k) {
    CUkernelNodeAttrValue v{};
    switch (attr) {
      case CU_LAUNCH_ATTRIBUTE_COOPERATIVE:
        v.cooperative = k.cooperative;
        break;
      case CU_LAUNCH_ATTRIBUTE_PRIORITY:
        v.priority = k.priority;
        break;
      case CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION:
        v.clusterDim.x = k.cluster[0], v.clusterDim.y = k.cluster[1], v.clusterDim.z = k.cluster[2];
        break;
      default:
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    *value_out = v;
    return CUDA_SUCCESS;
  });
}

// A cluster is all three dimensions or none (0, 0, 0).
FAKE_CUDA_API CUresult CUDAAPI cuGraphKernelNodeSetAttribute(CUgraphNode hNode, CUkernelNodeAttrID attr,
                                                             const CUkernelNodeAttrValue* value) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (value == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return with_kernel_node(hNode, [&](KernelNode& k) {
    switch (attr) {
      case CU_LAUNCH_ATTRIBUTE_COOPERATIVE:
        k.cooperative = value->cooperative != 0 ? 1 : 0;
        return CUDA_SUCCESS;
      case CU_LAUNCH_ATTRIBUTE_PRIORITY:
        k.priority = value->priority;
        return CUDA_SUCCESS;
      case CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION: {
        const unsigned d[3] = {value->clusterDim.x, value->clusterDim.y, value->clusterDim.z};
        const int zeros = (d[0] == 0) + (d[1] == 0) + (d[2] == 0);
        if (zeros != 0 && zeros != 3) return CUDA_ERROR_INVALID_VALUE;
        std::copy(d, d + 3, k.cluster);
        return CUDA_SUCCESS;
      }
      default:
        return CUDA_ERROR_NOT_SUPPORTED;
    }
  });
}

FAKE_CUDA_API CUresult CUDAAPI cuGraphKernelNodeCopyAttributes(CUgraphNode dst, CUgraphNode src) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  NodeOp op;
  if (!graph_node_info(src, nullptr, &op)) return CUDA_ERROR_INVALID_VALUE;
  const auto* from = std::get_if<KernelNode>(&op);
  if (from == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return with_kernel_node(dst, [&](KernelNode& k) {
    k.cooperative = from->cooperative, k.priority = from->priority;
    std::copy(std::begin(from->cluster), std::end(from->cluster), k.cluster);
    return CUDA_SUCCESS;
  });
}
