// Conditional nodes and cuGraphAddNode (docs/design.md §19). A conditional handle is the
// driver's value, which kernels pass to cudaGraphSetConditional (device code, which runs on the
// host's GPU as it is); vgpud made it for one graph of the channel's and takes it there only. A
// conditional node's body graphs are the driver's, made with the node; the program fills them
// (nodes added by hand, or a capture begun into one) through graph objects the node's graph holds.
//
// cuGraphAddNode takes every kind of node vgpu builds: each goes the way its own cuGraphAdd*Node
// goes, so it is checked and sent exactly as that one; given edge data, the node is made alone
// and then joined to its dependencies by edges that carry it.
#include <cstring>
#include <vector>

#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/graph_build.h"
#include "guest/cuda/handles.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace {

CUresult add_conditional(CUgraphNode* out, CUgraph graph, const CUgraphNode* deps, size_t count,
                         CUDA_CONDITIONAL_NODE_PARAMS& p) {
  const bool size_ok = (p.type == CU_GRAPH_COND_TYPE_IF && (p.size == 1 || p.size == 2)) ||
                       (p.type == CU_GRAPH_COND_TYPE_WHILE && p.size == 1) ||
                       (p.type == CU_GRAPH_COND_TYPE_SWITCH && p.size >= 1);
  if (!size_ok) return CUDA_ERROR_INVALID_VALUE;
  if (p.size > vgpu::limits::kMaxConditionalBodies) return CUDA_ERROR_NOT_SUPPORTED;
  std::vector<uint32_t> bodies(p.size);
  const CUresult r = add_graph_node(
      out, graph, deps, count, CU_GRAPH_NODE_TYPE_CONDITIONAL,
      [&](guest::Channel& ch, const GraphObject& g, proto::GraphNodeReply* reply) {
        const proto::GraphAddConditionalNodeRequest request{g.wire, static_cast<uint32_t>(p.type), p.size, 0, p.handle};
        proto::GraphAddConditionalNodeReply made{};
        const std::span<uint8_t> tail(reinterpret_cast<uint8_t*>(bodies.data()), bodies.size() * sizeof(uint32_t));
        const guest::CallResult res = guest::call<proto::CallId::GraphAddConditionalNode>(ch, request, {}, &made, tail);
        if (res.status != 0) return to_cu_result(res.status);
        if (made.bodies != p.size || res.payload_size < sizeof made + tail.size()) return CUDA_ERROR_UNKNOWN;
        *reply = proto::GraphNodeReply{made.node, 0};
        return CUDA_SUCCESS;
      });
  if (r != CUDA_SUCCESS) return r;
  // The bodies: graphs the node's graph holds for it, whose nodes are listed from vgpud (the
  // driver made them, and a capture may fill them).
  GraphNodeObject* node = object_of<GraphNodeObject>(*out, HandleKind::GraphNode);
  GraphObject& g = *node->graph;
  std::lock_guard lock(g.mutex);
  for (uint32_t wire : bodies) {
    auto body = std::make_unique<GraphObject>(wire, g.device, /*was_captured=*/true);
    body->owner = node;
    node->bodies.push_back(reinterpret_cast<CUgraph>(body.get()));
    g.held.push_back(std::move(body));
  }
  p.phGraph_out = node->bodies.data();  // valid while the node lives, as the driver's array
  return CUDA_SUCCESS;
}

CUresult add_typed_node(CUgraphNode* out, CUgraph graph, const CUgraphNode* deps, size_t count,
                        CUgraphNodeParams* params) {
  switch (params->type) {
    case CU_GRAPH_NODE_TYPE_KERNEL: {
      const CUDA_KERNEL_NODE_PARAMS_v3& k = params->kernel;
      CUDA_KERNEL_NODE_PARAMS p{};
      p.func = k.func;
      p.gridDimX = k.gridDimX, p.gridDimY = k.gridDimY, p.gridDimZ = k.gridDimZ;
      p.blockDimX = k.blockDimX, p.blockDimY = k.blockDimY, p.blockDimZ = k.blockDimZ;
      p.sharedMemBytes = k.sharedMemBytes;
      p.kernelParams = k.kernelParams;
      p.extra = k.extra;
      p.kern = k.kern;
      p.ctx = k.ctx;
      return cuGraphAddKernelNode_v2(out, graph, deps, count, &p);
    }
    case CU_GRAPH_NODE_TYPE_MEMCPY:
      return cuGraphAddMemcpyNode(out, graph, deps, count, &params->memcpy.copyParams, params->memcpy.copyCtx);
    case CU_GRAPH_NODE_TYPE_MEMSET: {
      const CUDA_MEMSET_NODE_PARAMS_v2& m = params->memset;
      const CUDA_MEMSET_NODE_PARAMS p{m.dst, m.pitch, m.value, m.elementSize, m.width, m.height};
      return cuGraphAddMemsetNode(out, graph, deps, count, &p, m.ctx);
    }
    case CU_GRAPH_NODE_TYPE_HOST: {
      const CUDA_HOST_NODE_PARAMS p{params->host.fn, params->host.userData};
      return cuGraphAddHostNode(out, graph, deps, count, &p);
    }
    case CU_GRAPH_NODE_TYPE_GRAPH: {
      CUresult r = cuGraphAddChildGraphNode(out, graph, deps, count, params->graph.graph);
      // Moved: the node holds the child; the program's handle to it is done with.
      if (r == CUDA_SUCCESS && params->graph.ownership == CU_GRAPH_CHILD_GRAPH_OWNERSHIP_MOVE)
        r = cuGraphDestroy(params->graph.graph);
      return r;
    }
    case CU_GRAPH_NODE_TYPE_EMPTY:
      return cuGraphAddEmptyNode(out, graph, deps, count);
    case CU_GRAPH_NODE_TYPE_WAIT_EVENT:
      return cuGraphAddEventWaitNode(out, graph, deps, count, params->eventWait.event);
    case CU_GRAPH_NODE_TYPE_EVENT_RECORD:
      return cuGraphAddEventRecordNode(out, graph, deps, count, params->eventRecord.event);
    case CU_GRAPH_NODE_TYPE_MEM_ALLOC: {
      static_assert(sizeof(CUDA_MEM_ALLOC_NODE_PARAMS_v2) == sizeof(CUDA_MEM_ALLOC_NODE_PARAMS));
      CUDA_MEM_ALLOC_NODE_PARAMS p{};
      std::memcpy(&p, &params->alloc, sizeof p);
      const CUresult r = cuGraphAddMemAllocNode(out, graph, deps, count, &p);
      params->alloc.dptr = p.dptr;
      return r;
    }
    case CU_GRAPH_NODE_TYPE_MEM_FREE:
      return cuGraphAddMemFreeNode(out, graph, deps, count, params->free.dptr);
    case CU_GRAPH_NODE_TYPE_CONDITIONAL:
      return add_conditional(out, graph, deps, count, params->conditional);
    default:  // external semaphores, batch memory operations
      return CUDA_ERROR_NOT_SUPPORTED;
  }
}

CUresult add_node(CUgraphNode* out, CUgraph graph, const CUgraphNode* deps, const CUgraphEdgeData* edges, size_t count,
                  CUgraphNodeParams* params) {
  if (params == nullptr || out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (!edge_data_known(edges, count)) return CUDA_ERROR_INVALID_VALUE;
  if (!edge_data_set(edges, count)) return add_typed_node(out, graph, deps, count, params);
  // Edges with data (a programmatic one): the node is made on its own, then joined to its
  // dependencies by edges that carry the data, as cuGraphAddDependencies_v2 sends them. An
  // allocation node's dependencies are part of making it (its address depends on them).
  if (params->type == CU_GRAPH_NODE_TYPE_MEM_ALLOC) return CUDA_ERROR_NOT_SUPPORTED;
  GraphObject* g = object_of<GraphObject>(graph, HandleKind::Graph);
  if (g == nullptr || deps == nullptr) return CUDA_ERROR_INVALID_VALUE;
  {
    std::lock_guard lock(g->mutex);
    if (!dependencies_ok(g, deps, count)) return CUDA_ERROR_INVALID_VALUE;
  }
  CUgraphNode node = nullptr;
  if (CUresult r = add_typed_node(&node, graph, nullptr, 0, params); r != CUDA_SUCCESS) return r;
  const std::vector<CUgraphNode> to(count, node);
  if (CUresult r = cuGraphAddDependencies_v2(graph, deps, to.data(), edges, count); r != CUDA_SUCCESS) {
    (void)cuGraphDestroyNode(node);
    return r;
  }
  *out = node;
  return CUDA_SUCCESS;
}

}  // namespace

VGPU_DRIVER_API CUresult cuGraphConditionalHandleCreate(CUgraphConditionalHandle* out, CUgraph graph, CUcontext,
                                                        unsigned int default_value, unsigned int flags) {
  GraphObject* g = object_of<GraphObject>(graph, HandleKind::Graph);
  if (out == nullptr || g == nullptr || (flags & ~CU_GRAPH_COND_ASSIGN_DEFAULT) != 0) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    proto::GraphConditionalHandleCreateReply reply{};
    const guest::CallResult r = guest::call<proto::CallId::GraphConditionalHandleCreate>(
        *ch, proto::GraphConditionalHandleCreateRequest{g->wire, default_value, flags, 0}, &reply);
    if (r.status != 0) return to_cu_result(r.status);
    *out = reply.handle;
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuGraphAddNode_v2(CUgraphNode* out, CUgraph graph, const CUgraphNode* deps,
                                           const CUgraphEdgeData* edge_data, size_t count, CUgraphNodeParams* params) {
  return add_node(out, graph, deps, edge_data, count, params);
}
VGPU_DRIVER_API CUresult cuGraphAddNode(CUgraphNode* out, CUgraph graph, const CUgraphNode* deps, size_t count,
                                        CUgraphNodeParams* params) {
  return add_node(out, graph, deps, nullptr, count, params);
}
