// Executable graphs changed without being made again (docs/design.md §19): a node's parameters
// set in one executable graph, nodes turned off and on, and cuGraphExecUpdate from a graph of the
// same shape. A node is named, as the driver names it, by the node of the graph the executable
// graph was made from; a node of any other graph is refused here, before anything is sent. The
// executable graph keeps every host function its nodes were set to until it goes (a launch in
// flight may still run the one before), without counting them as more functions per launch.
#include <atomic>

#include "guest/client/log.h"
#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/graph_build.h"
#include "guest/cuda/graph_params.h"
#include "guest/cuda/handles.h"
#include "guest/cuda/host_functions.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace {

// Runs set(channel, exec, node) on a node of `type` of the graph `exec` was made from, with that
// graph's mutex held.
template <typename Set>
CUresult set_exec_node(CUgraphExec exec, CUgraphNode node, CUgraphNodeType type, Set&& set) {
  GraphExecObject* e = object_of<GraphExecObject>(exec, HandleKind::GraphExec);
  GraphNodeObject* n = object_of<GraphNodeObject>(node, HandleKind::GraphNode);
  if (e == nullptr || n == nullptr || n->type != type || n->graph->wire != e->graph_wire)
    return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    std::lock_guard lock(n->graph->mutex);
    return set(*ch, *e, *n);
  });
}

CUresult set_kernel(CUgraphExec exec, CUgraphNode node, const CUDA_KERNEL_NODE_PARAMS* p) {
  if (p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return set_exec_node(exec, node, CU_GRAPH_NODE_TYPE_KERNEL,
                       [&](guest::Channel& ch, GraphExecObject& e, GraphNodeObject& n) {
                         return set_kernel_node(ch, e.wire, n, e.device, *p, nullptr);
                       });
}

CUresult set_host(CUgraphExec exec, CUgraphNode node, const CUDA_HOST_NODE_PARAMS* p) {
  if (p == nullptr || p->fn == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return set_exec_node(
      exec, node, CU_GRAPH_NODE_TYPE_HOST, [&](guest::Channel& ch, GraphExecObject& e, GraphNodeObject& n) {
        uint64_t id = 0;
        if (CUresult r = set_host_node(ch, e.wire, n, p->fn, p->userData, &id); r != CUDA_SUCCESS) return r;
        e.host_functions.adopt(id, /*runs=*/false);  // the node's count of runs per launch is unchanged
        return CUDA_SUCCESS;
      });
}

CUresult set_child(CUgraphExec exec, CUgraphNode node, CUgraph child_graph) {
  GraphObject* child = object_of<GraphObject>(child_graph, HandleKind::Graph);
  if (child == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return set_exec_node(exec, node, CU_GRAPH_NODE_TYPE_GRAPH,
                       [&](guest::Channel& ch, GraphExecObject& e, GraphNodeObject& n) {
                         if (child->device != e.device) return CUDA_ERROR_INVALID_VALUE;
                         // The node runs the child's host nodes and staged copies from its next launch on.
                         HostFunctionRefs held;
                         if (child != n.graph) {
                           std::lock_guard lock(child->mutex);
                           held = child->host_functions;
                         } else {
                           held = child->host_functions;  // its mutex is held already
                         }
                         const guest::CallResult r = guest::call<proto::CallId::GraphExecChildSet>(
                             ch, proto::GraphExecChildSetRequest{e.wire, n.wire, child->wire, 0}, nullptr);
                         if (r.status != 0) return to_cu_result(r.status);
                         e.host_functions.keep(held);
                         return CUDA_SUCCESS;
                       });
}

CUresult set_event(CUgraphExec exec, CUgraphNode node, CUgraphNodeType type, CUevent event) {
  return set_exec_node(exec, node, type, [&](guest::Channel& ch, GraphExecObject& e, GraphNodeObject& n) {
    return set_event_node(ch, e.wire, n, event, nullptr);
  });
}

// The node of `graph` vgpud names by `wire` (0: none); a captured graph's nodes are listed first.
CUgraphNode node_named(GraphObject& graph, uint32_t wire) {
  if (wire == 0) return nullptr;
  std::vector<GraphNodeObject*> nodes;
  if (graph_nodes(graph, &nodes) != CUDA_SUCCESS) return nullptr;
  for (const auto& n : graph.nodes)
    if (n->kind == HandleKind::GraphNode && (n->wire == wire || n->second == wire))
      return reinterpret_cast<CUgraphNode>(n.get());
  return nullptr;
}

CUresult update(CUgraphExec exec, CUgraph graph, CUgraphExecUpdateResultInfo* info) {
  GraphExecObject* e = object_of<GraphExecObject>(exec, HandleKind::GraphExec);
  GraphObject* g = object_of<GraphObject>(graph, HandleKind::Graph);
  if (info == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *info = CUgraphExecUpdateResultInfo{};
  info->result = CU_GRAPH_EXEC_UPDATE_ERROR;
  if (e == nullptr || g == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    std::lock_guard lock(g->mutex);
    proto::GraphExecUpdateReply reply{};
    const guest::CallResult r =
        guest::call<proto::CallId::GraphExecUpdate>(*ch, proto::GraphExecUpdateRequest{e->wire, g->wire}, &reply);
    if (r.status != 0) return to_cu_result(r.status);
    info->result = static_cast<CUgraphExecUpdateResult>(reply.result);
    info->errorNode = node_named(*g, reply.error_node);
    info->errorFromNode = node_named(*g, reply.error_from_node);
    const auto status = static_cast<CUresult>(reply.status);
    // Its nodes run the graph's host functions and staged copies from now on.
    if (status == CUDA_SUCCESS) e->host_functions.keep(g->host_functions);
    return status;
  });
}

CUresult unsupported_type(const char* call, int type) {
  static std::atomic<bool> said{false};
  if (!said.exchange(true))
    guest::log(guest::LogLevel::Warn, "%s: parameters of a node of type %d are not supported by vgpu", call, type);
  return CUDA_ERROR_NOT_SUPPORTED;
}

}  // namespace

VGPU_DRIVER_API CUresult cuGraphExecKernelNodeSetParams_v2(CUgraphExec exec, CUgraphNode node,
                                                           const CUDA_KERNEL_NODE_PARAMS* p) {
  return set_kernel(exec, node, p);
}
VGPU_DRIVER_API CUresult cuGraphExecKernelNodeSetParams(CUgraphExec exec, CUgraphNode node,
                                                        const CUDA_KERNEL_NODE_PARAMS_v1* p) {
  if (p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const CUDA_KERNEL_NODE_PARAMS v2{p->func,         p->gridDimX,  p->gridDimY,  p->gridDimZ,
                                   p->blockDimX,    p->blockDimY, p->blockDimZ, p->sharedMemBytes,
                                   p->kernelParams, p->extra,     nullptr,      nullptr};
  return set_kernel(exec, node, &v2);
}

VGPU_DRIVER_API CUresult cuGraphExecMemcpyNodeSetParams(CUgraphExec exec, CUgraphNode node, const CUDA_MEMCPY3D* p,
                                                        CUcontext) {
  if (p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return set_exec_node(exec, node, CU_GRAPH_NODE_TYPE_MEMCPY,
                       [&](guest::Channel& ch, GraphExecObject& e, GraphNodeObject& n) {
                         return set_memcpy_node(ch, e.wire, n, *p, nullptr);
                       });
}

VGPU_DRIVER_API CUresult cuGraphExecMemsetNodeSetParams(CUgraphExec exec, CUgraphNode node,
                                                        const CUDA_MEMSET_NODE_PARAMS* p, CUcontext) {
  if (p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return set_exec_node(exec, node, CU_GRAPH_NODE_TYPE_MEMSET,
                       [&](guest::Channel& ch, GraphExecObject& e, GraphNodeObject& n) {
                         return set_memset_node(ch, e.wire, n, *p, nullptr);
                       });
}

VGPU_DRIVER_API CUresult cuGraphExecHostNodeSetParams(CUgraphExec exec, CUgraphNode node,
                                                      const CUDA_HOST_NODE_PARAMS* p) {
  return set_host(exec, node, p);
}

VGPU_DRIVER_API CUresult cuGraphExecChildGraphNodeSetParams(CUgraphExec exec, CUgraphNode node, CUgraph child) {
  return set_child(exec, node, child);
}

VGPU_DRIVER_API CUresult cuGraphExecEventRecordNodeSetEvent(CUgraphExec exec, CUgraphNode node, CUevent event) {
  return set_event(exec, node, CU_GRAPH_NODE_TYPE_EVENT_RECORD, event);
}
VGPU_DRIVER_API CUresult cuGraphExecEventWaitNodeSetEvent(CUgraphExec exec, CUgraphNode node, CUevent event) {
  return set_event(exec, node, CU_GRAPH_NODE_TYPE_WAIT_EVENT, event);
}

// A memcpy node with a pageable end is several of vgpud's nodes, among them host functions the
// driver cannot turn off: turning it off is refused rather than leave them running.
VGPU_DRIVER_API CUresult cuGraphNodeSetEnabled(CUgraphExec exec, CUgraphNode node, unsigned int enabled) {
  GraphExecObject* e = object_of<GraphExecObject>(exec, HandleKind::GraphExec);
  GraphNodeObject* n = object_of<GraphNodeObject>(node, HandleKind::GraphNode);
  if (e == nullptr || n == nullptr || n->graph->wire != e->graph_wire) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    std::lock_guard lock(n->graph->mutex);
    if (n->type == CU_GRAPH_NODE_TYPE_MEMCPY && memcpy_node_staged(*ch, *n)) {
      static std::atomic<bool> said{false};
      if (!said.exchange(true))
        guest::log(guest::LogLevel::Warn,
                   "cuGraphNodeSetEnabled: a memcpy node of pageable memory is not supported by vgpu");
      return CUDA_ERROR_NOT_SUPPORTED;
    }
    proto::GraphNodeEnabledReply reply{};
    const proto::GraphNodeEnabledRequest request{e->wire, n->wire, 1, enabled != 0 ? 1u : 0u};
    return to_cu_result(guest::call<proto::CallId::GraphNodeEnabled>(*ch, request, &reply).status);
  });
}

VGPU_DRIVER_API CUresult cuGraphNodeGetEnabled(CUgraphExec exec, CUgraphNode node, unsigned int* enabled) {
  GraphExecObject* e = object_of<GraphExecObject>(exec, HandleKind::GraphExec);
  GraphNodeObject* n = object_of<GraphNodeObject>(node, HandleKind::GraphNode);
  if (enabled == nullptr || e == nullptr || n == nullptr || n->graph->wire != e->graph_wire)
    return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    proto::GraphNodeEnabledReply reply{};
    const guest::CallResult r = guest::call<proto::CallId::GraphNodeEnabled>(
        *ch, proto::GraphNodeEnabledRequest{e->wire, n->wire, 0, 0}, &reply);
    if (r.status != 0) return to_cu_result(r.status);
    *enabled = reply.enabled;
    return CUDA_SUCCESS;
  });
}

// The flags it was instantiated with, known here.
VGPU_DRIVER_API CUresult cuGraphExecGetFlags(CUgraphExec exec, cuuint64_t* flags) {
  const GraphExecObject* e = object_of<GraphExecObject>(exec, HandleKind::GraphExec);
  if (e == nullptr || flags == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *flags = e->flags;
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuGraphExecUpdate_v2(CUgraphExec exec, CUgraph graph, CUgraphExecUpdateResultInfo* info) {
  return update(exec, graph, info);
}
// CUDA 11's form: the error node and the result apart.
VGPU_DRIVER_API CUresult cuGraphExecUpdate(CUgraphExec exec, CUgraph graph, CUgraphNode* error_node,
                                           CUgraphExecUpdateResult* result) {
  if (error_node == nullptr || result == nullptr) return CUDA_ERROR_INVALID_VALUE;
  CUgraphExecUpdateResultInfo info{};
  const CUresult r = update(exec, graph, &info);
  *error_node = info.errorNode;
  *result = info.result;
  return r;
}

// CUDA 12.2's generic setters, for the node types vgpu has: each is the typed setter.
VGPU_DRIVER_API CUresult cuGraphNodeSetParams(CUgraphNode node, CUgraphNodeParams* p) {
  if (p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const GraphNodeObject* n = object_of<GraphNodeObject>(node, HandleKind::GraphNode);
  if (n == nullptr || n->type != p->type) return CUDA_ERROR_INVALID_VALUE;
  switch (p->type) {
    case CU_GRAPH_NODE_TYPE_KERNEL: {
      const CUDA_KERNEL_NODE_PARAMS_v3& k = p->kernel;
      const CUDA_KERNEL_NODE_PARAMS v2{k.func,         k.gridDimX,  k.gridDimY,  k.gridDimZ,
                                       k.blockDimX,    k.blockDimY, k.blockDimZ, k.sharedMemBytes,
                                       k.kernelParams, k.extra,     k.kern,      k.ctx};
      return cuGraphKernelNodeSetParams_v2(node, &v2);
    }
    case CU_GRAPH_NODE_TYPE_MEMCPY:
      if (p->memcpy.flags != 0 || p->memcpy.reserved != 0) return CUDA_ERROR_INVALID_VALUE;
      return cuGraphMemcpyNodeSetParams(node, &p->memcpy.copyParams);
    case CU_GRAPH_NODE_TYPE_MEMSET: {
      const CUDA_MEMSET_NODE_PARAMS_v2& m = p->memset;
      const CUDA_MEMSET_NODE_PARAMS v1{m.dst, m.pitch, m.value, m.elementSize, m.width, m.height};
      return cuGraphMemsetNodeSetParams(node, &v1);
    }
    case CU_GRAPH_NODE_TYPE_HOST: {
      const CUDA_HOST_NODE_PARAMS h{p->host.fn, p->host.userData};
      return cuGraphHostNodeSetParams(node, &h);
    }
    case CU_GRAPH_NODE_TYPE_EVENT_RECORD:
      return cuGraphEventRecordNodeSetEvent(node, p->eventRecord.event);
    case CU_GRAPH_NODE_TYPE_WAIT_EVENT:
      return cuGraphEventWaitNodeSetEvent(node, p->eventWait.event);
    case CU_GRAPH_NODE_TYPE_EMPTY:
      return CUDA_SUCCESS;  // nothing to set
    default:
      return unsupported_type("cuGraphNodeSetParams", static_cast<int>(p->type));
  }
}

VGPU_DRIVER_API CUresult cuGraphExecNodeSetParams(CUgraphExec exec, CUgraphNode node, CUgraphNodeParams* p) {
  if (p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const GraphNodeObject* n = object_of<GraphNodeObject>(node, HandleKind::GraphNode);
  if (n == nullptr || n->type != p->type) return CUDA_ERROR_INVALID_VALUE;
  switch (p->type) {
    case CU_GRAPH_NODE_TYPE_KERNEL: {
      const CUDA_KERNEL_NODE_PARAMS_v3& k = p->kernel;
      const CUDA_KERNEL_NODE_PARAMS v2{k.func,         k.gridDimX,  k.gridDimY,  k.gridDimZ,
                                       k.blockDimX,    k.blockDimY, k.blockDimZ, k.sharedMemBytes,
                                       k.kernelParams, k.extra,     k.kern,      k.ctx};
      return set_kernel(exec, node, &v2);
    }
    case CU_GRAPH_NODE_TYPE_MEMCPY:
      if (p->memcpy.flags != 0 || p->memcpy.reserved != 0) return CUDA_ERROR_INVALID_VALUE;
      return cuGraphExecMemcpyNodeSetParams(exec, node, &p->memcpy.copyParams, p->memcpy.copyCtx);
    case CU_GRAPH_NODE_TYPE_MEMSET: {
      const CUDA_MEMSET_NODE_PARAMS_v2& m = p->memset;
      const CUDA_MEMSET_NODE_PARAMS v1{m.dst, m.pitch, m.value, m.elementSize, m.width, m.height};
      return cuGraphExecMemsetNodeSetParams(exec, node, &v1, m.ctx);
    }
    case CU_GRAPH_NODE_TYPE_HOST: {
      const CUDA_HOST_NODE_PARAMS h{p->host.fn, p->host.userData};
      return set_host(exec, node, &h);
    }
    case CU_GRAPH_NODE_TYPE_GRAPH:
      return set_child(exec, node, p->graph.graph);
    case CU_GRAPH_NODE_TYPE_EVENT_RECORD:
      return set_event(exec, node, CU_GRAPH_NODE_TYPE_EVENT_RECORD, p->eventRecord.event);
    case CU_GRAPH_NODE_TYPE_WAIT_EVENT:
      return set_event(exec, node, CU_GRAPH_NODE_TYPE_WAIT_EVENT, p->eventWait.event);
    case CU_GRAPH_NODE_TYPE_EMPTY:
      return set_exec_node(exec, node, CU_GRAPH_NODE_TYPE_EMPTY,
                           [](guest::Channel&, GraphExecObject&, GraphNodeObject&) { return CUDA_SUCCESS; });
    default:
      return unsupported_type("cuGraphExecNodeSetParams", static_cast<int>(p->type));
  }
}
