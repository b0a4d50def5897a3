// A graph node's parameters read back and set (docs/design.md §19): getters answer what the
// program set (graph_params.h), asking vgpud once for a node only its driver knows; setters
// check and send as adding the node does (graph_set.cpp) and record what they set. Kernel node
// attributes: the ones vgpud applies to a launch (cooperative, priority, cluster dimensions) are
// the driver's node's, read and set through vgpud; the access policy window, a hint vgpud drops
// (launch_api.cpp), is kept here and read back as set.
#include <algorithm>
#include <atomic>
#include <cstring>

#include "guest/client/log.h"
#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/graph_params.h"
#include "guest/cuda/handles.h"
#include "guest/cuda/host_functions.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace {

// Runs get(channel, node, record) on a node of `type` (any of two for event nodes) with its
// graph's mutex held and its parameters known.
template <typename Get>
CUresult get_params(CUgraphNode node, std::initializer_list<CUgraphNodeType> types, Get&& get) {
  GraphNodeObject* n = object_of<GraphNodeObject>(node, HandleKind::GraphNode);
  if (n == nullptr || std::find(types.begin(), types.end(), n->type) == types.end()) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    std::lock_guard lock(n->graph->mutex);
    const NodeRecord* record = nullptr;
    if (CUresult r = node_params(*ch, *n, &record); r != CUDA_SUCCESS) return r;
    get(*record);
    return CUDA_SUCCESS;
  });
}

// Runs set(channel, graph, node, record) on a node of `type` with its graph's mutex held; what it
// set in the record (a copy of the node's, attributes kept) becomes the node's.
template <typename Set>
CUresult set_params(CUgraphNode node, CUgraphNodeType type, Set&& set) {
  GraphNodeObject* n = object_of<GraphNodeObject>(node, HandleKind::GraphNode);
  if (n == nullptr || n->type != type) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    GraphObject& g = *n->graph;
    std::lock_guard lock(g.mutex);
    NodeRecord record = n->record ? *n->record : NodeRecord{};
    if (CUresult r = set(*ch, g, *n, &record); r != CUDA_SUCCESS) return r;
    record.has_params = true;
    n->record = std::make_shared<NodeRecord>(std::move(record));
    return CUDA_SUCCESS;
  });
}

CUresult set_kernel(CUgraphNode node, const CUDA_KERNEL_NODE_PARAMS* p) {
  if (p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return set_params(node, CU_GRAPH_NODE_TYPE_KERNEL,
                    [&](guest::Channel& ch, GraphObject& g, GraphNodeObject& n, NodeRecord* record) {
                      return set_kernel_node(ch, 0, n, g.device, *p, record);
                    });
}

CUresult event_of(CUgraphNode node, CUgraphNodeType type, CUevent* out) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return get_params(node, {type}, [&](const NodeRecord& r) { *out = r.event; });
}

CUresult set_event(CUgraphNode node, CUgraphNodeType type, CUevent event) {
  return set_params(node, type, [&](guest::Channel& ch, GraphObject&, GraphNodeObject& n, NodeRecord* record) {
    return set_event_node(ch, 0, n, event, record);
  });
}

// The attributes vgpud applies (GRAPH_KERNEL_NODE_ATTRIBUTE), and the one the guest keeps.
bool applied(CUkernelNodeAttrID attr) {
  return attr == CU_LAUNCH_ATTRIBUTE_COOPERATIVE || attr == CU_LAUNCH_ATTRIBUTE_PRIORITY ||
         attr == CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
}

CUresult unsupported_attribute(CUkernelNodeAttrID attr) {
  static std::atomic<bool> said{false};
  if (!said.exchange(true))
    guest::log(guest::LogLevel::Warn, "cuGraphKernelNode*Attribute: attribute %d is not supported by vgpu",
               static_cast<int>(attr));
  return CUDA_ERROR_NOT_SUPPORTED;
}

// One GRAPH_KERNEL_NODE_ATTRIBUTE on a kernel node, with its graph's mutex held.
template <typename Then>
CUresult attribute_call(CUgraphNode node, const proto::GraphKernelNodeAttributeRequest& base, Then&& then) {
  GraphNodeObject* n = object_of<GraphNodeObject>(node, HandleKind::GraphNode);
  if (n == nullptr || n->type != CU_GRAPH_NODE_TYPE_KERNEL) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    std::lock_guard lock(n->graph->mutex);
    proto::GraphKernelNodeAttributeRequest request = base;
    request.node = n->wire;
    proto::GraphKernelNodeAttributeReply reply{};
    const guest::CallResult r = guest::call<proto::CallId::GraphKernelNodeAttribute>(*ch, request, &reply);
    if (r.status != 0) return to_cu_result(r.status);
    return then(*n, reply);
  });
}

}  // namespace

// ---- getters ----

VGPU_DRIVER_API CUresult cuGraphKernelNodeGetParams_v2(CUgraphNode node, CUDA_KERNEL_NODE_PARAMS* out) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return get_params(node, {CU_GRAPH_NODE_TYPE_KERNEL}, [&](const NodeRecord& r) {
    *out = CUDA_KERNEL_NODE_PARAMS{};
    out->func = r.func;
    out->kern = r.kern;
    out->gridDimX = r.grid[0], out->gridDimY = r.grid[1], out->gridDimZ = r.grid[2];
    out->blockDimX = r.block[0], out->blockDimY = r.block[1], out->blockDimZ = r.block[2];
    out->sharedMemBytes = r.shared_mem;
    // The node's own copies of the values, valid until its parameters change, as the driver's.
    out->kernelParams = r.arg_pointers.empty() ? nullptr : const_cast<void**>(r.arg_pointers.data());
  });
}
// CUDA 11's parameters: a kernel named by its CUkernel is given as the CUfunction it stands for.
VGPU_DRIVER_API CUresult cuGraphKernelNodeGetParams(CUgraphNode node, CUDA_KERNEL_NODE_PARAMS_v1* out) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  CUDA_KERNEL_NODE_PARAMS p{};
  const CUresult r = cuGraphKernelNodeGetParams_v2(node, &p);
  if (r != CUDA_SUCCESS) return r;
  *out = CUDA_KERNEL_NODE_PARAMS_v1{p.func != nullptr ? p.func : reinterpret_cast<CUfunction>(p.kern),
                                    p.gridDimX,
                                    p.gridDimY,
                                    p.gridDimZ,
                                    p.blockDimX,
                                    p.blockDimY,
                                    p.blockDimZ,
                                    p.sharedMemBytes,
                                    p.kernelParams,
                                    p.extra};
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuGraphMemcpyNodeGetParams(CUgraphNode node, CUDA_MEMCPY3D* out) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return get_params(node, {CU_GRAPH_NODE_TYPE_MEMCPY}, [&](const NodeRecord& r) { *out = r.copy; });
}

VGPU_DRIVER_API CUresult cuGraphMemsetNodeGetParams(CUgraphNode node, CUDA_MEMSET_NODE_PARAMS* out) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return get_params(node, {CU_GRAPH_NODE_TYPE_MEMSET}, [&](const NodeRecord& r) { *out = r.memset; });
}

VGPU_DRIVER_API CUresult cuGraphHostNodeGetParams(CUgraphNode node, CUDA_HOST_NODE_PARAMS* out) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return get_params(node, {CU_GRAPH_NODE_TYPE_HOST}, [&](const NodeRecord& r) {
    *out = CUDA_HOST_NODE_PARAMS{r.fn, r.data};
  });
}

VGPU_DRIVER_API CUresult cuGraphEventRecordNodeGetEvent(CUgraphNode node, CUevent* out) {
  return event_of(node, CU_GRAPH_NODE_TYPE_EVENT_RECORD, out);
}
VGPU_DRIVER_API CUresult cuGraphEventWaitNodeGetEvent(CUgraphNode node, CUevent* out) {
  return event_of(node, CU_GRAPH_NODE_TYPE_WAIT_EVENT, out);
}

// ---- setters of a graph's node ----

VGPU_DRIVER_API CUresult cuGraphKernelNodeSetParams_v2(CUgraphNode node, const CUDA_KERNEL_NODE_PARAMS* p) {
  return set_kernel(node, p);
}
VGPU_DRIVER_API CUresult cuGraphKernelNodeSetParams(CUgraphNode node, const CUDA_KERNEL_NODE_PARAMS_v1* p) {
  if (p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const CUDA_KERNEL_NODE_PARAMS v2{p->func,         p->gridDimX,  p->gridDimY,  p->gridDimZ,
                                   p->blockDimX,    p->blockDimY, p->blockDimZ, p->sharedMemBytes,
                                   p->kernelParams, p->extra,     nullptr,      nullptr};
  return set_kernel(node, &v2);
}

VGPU_DRIVER_API CUresult cuGraphMemcpyNodeSetParams(CUgraphNode node, const CUDA_MEMCPY3D* p) {
  if (p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return set_params(node, CU_GRAPH_NODE_TYPE_MEMCPY,
                    [&](guest::Channel& ch, GraphObject&, GraphNodeObject& n, NodeRecord* record) {
                      return set_memcpy_node(ch, 0, n, *p, record);
                    });
}

VGPU_DRIVER_API CUresult cuGraphMemsetNodeSetParams(CUgraphNode node, const CUDA_MEMSET_NODE_PARAMS* p) {
  if (p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return set_params(node, CU_GRAPH_NODE_TYPE_MEMSET,
                    [&](guest::Channel& ch, GraphObject&, GraphNodeObject& n, NodeRecord* record) {
                      return set_memset_node(ch, 0, n, *p, record);
                    });
}

// The graph holds the new function in the old one's place (execs made before keep the old).
VGPU_DRIVER_API CUresult cuGraphHostNodeSetParams(CUgraphNode node, const CUDA_HOST_NODE_PARAMS* p) {
  if (p == nullptr || p->fn == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return set_params(node, CU_GRAPH_NODE_TYPE_HOST,
                    [&](guest::Channel& ch, GraphObject& g, GraphNodeObject& n, NodeRecord* record) {
                      const NodeRecord* was = nullptr;
                      if (CUresult r = node_params(ch, n, &was); r != CUDA_SUCCESS) return r;
                      const uint64_t old_id = was->function_id;
                      uint64_t id = 0;
                      if (CUresult r = set_host_node(ch, 0, n, p->fn, p->userData, &id); r != CUDA_SUCCESS) return r;
                      if (!g.host_functions.replace(old_id, id)) g.host_functions.adopt(id, /*runs=*/false);
                      record->fn = p->fn;
                      record->data = p->userData;
                      record->function_id = id;
                      return CUDA_SUCCESS;
                    });
}

VGPU_DRIVER_API CUresult cuGraphEventRecordNodeSetEvent(CUgraphNode node, CUevent event) {
  return set_event(node, CU_GRAPH_NODE_TYPE_EVENT_RECORD, event);
}
VGPU_DRIVER_API CUresult cuGraphEventWaitNodeSetEvent(CUgraphNode node, CUevent event) {
  return set_event(node, CU_GRAPH_NODE_TYPE_WAIT_EVENT, event);
}

// ---- kernel node attributes ----

VGPU_DRIVER_API CUresult cuGraphKernelNodeGetAttribute(CUgraphNode node, CUkernelNodeAttrID attr,
                                                       CUkernelNodeAttrValue* value) {
  if (value == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (attr == CU_LAUNCH_ATTRIBUTE_ACCESS_POLICY_WINDOW) {
    GraphNodeObject* n = object_of<GraphNodeObject>(node, HandleKind::GraphNode);
    if (n == nullptr || n->type != CU_GRAPH_NODE_TYPE_KERNEL) return CUDA_ERROR_INVALID_VALUE;
    return guarded([&] {
      std::lock_guard lock(n->graph->mutex);
      *value = CUkernelNodeAttrValue{};
      if (n->record) value->accessPolicyWindow = n->record->access_policy;
      return CUDA_SUCCESS;
    });
  }
  if (!applied(attr)) return unsupported_attribute(attr);
  proto::GraphKernelNodeAttributeRequest request{};
  request.op = 0;
  request.attribute = static_cast<uint32_t>(attr);
  return attribute_call(node, request, [&](GraphNodeObject&, const proto::GraphKernelNodeAttributeReply& reply) {
    *value = CUkernelNodeAttrValue{};
    if (attr == CU_LAUNCH_ATTRIBUTE_COOPERATIVE) value->cooperative = static_cast<int>(reply.value[0]);
    if (attr == CU_LAUNCH_ATTRIBUTE_PRIORITY) value->priority = static_cast<int>(reply.value[0]);
    if (attr == CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION) {
      value->clusterDim.x = reply.value[0], value->clusterDim.y = reply.value[1], value->clusterDim.z = reply.value[2];
    }
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuGraphKernelNodeSetAttribute(CUgraphNode node, CUkernelNodeAttrID attr,
                                                       const CUkernelNodeAttrValue* value) {
  if (value == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (attr == CU_LAUNCH_ATTRIBUTE_ACCESS_POLICY_WINDOW) {
    GraphNodeObject* n = object_of<GraphNodeObject>(node, HandleKind::GraphNode);
    if (n == nullptr || n->type != CU_GRAPH_NODE_TYPE_KERNEL) return CUDA_ERROR_INVALID_VALUE;
    return guarded([&] {
      std::lock_guard lock(n->graph->mutex);
      auto record = n->record ? std::make_shared<NodeRecord>(*n->record) : std::make_shared<NodeRecord>();
      record->access_policy = value->accessPolicyWindow;
      n->record = std::move(record);
      return CUDA_SUCCESS;
    });
  }
  if (!applied(attr)) return unsupported_attribute(attr);
  proto::GraphKernelNodeAttributeRequest request{};
  request.op = 1;
  request.attribute = static_cast<uint32_t>(attr);
  if (attr == CU_LAUNCH_ATTRIBUTE_COOPERATIVE) request.value[0] = value->cooperative != 0 ? 1 : 0;
  if (attr == CU_LAUNCH_ATTRIBUTE_PRIORITY) request.value[0] = static_cast<uint32_t>(value->priority);
  if (attr == CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION) {
    request.value[0] = value->clusterDim.x, request.value[1] = value->clusterDim.y,
    request.value[2] = value->clusterDim.z;
  }
  return attribute_call(node, request,
                        [](GraphNodeObject&, const proto::GraphKernelNodeAttributeReply&) { return CUDA_SUCCESS; });
}

// Every attribute: the driver's node's through vgpud, and the access policy window kept here.
VGPU_DRIVER_API CUresult cuGraphKernelNodeCopyAttributes(CUgraphNode dst, CUgraphNode src) {
  GraphNodeObject* from = object_of<GraphNodeObject>(src, HandleKind::GraphNode);
  if (from == nullptr || from->type != CU_GRAPH_NODE_TYPE_KERNEL) return CUDA_ERROR_INVALID_VALUE;
  CUaccessPolicyWindow window{};
  if (CUresult r = guarded([&] {
        std::lock_guard lock(from->graph->mutex);
        if (from->record) window = from->record->access_policy;
        return CUDA_SUCCESS;
      });
      r != CUDA_SUCCESS)
    return r;
  proto::GraphKernelNodeAttributeRequest request{};
  request.op = 2;
  request.source = from->wire;
  return attribute_call(dst, request, [&](GraphNodeObject& n, const proto::GraphKernelNodeAttributeReply&) {
    auto record = n.record ? std::make_shared<NodeRecord>(*n.record) : std::make_shared<NodeRecord>();
    record->access_policy = window;
    n.record = std::move(record);
    return CUDA_SUCCESS;
  });
}
