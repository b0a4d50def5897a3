// Graph memory nodes, conditional nodes, cudaGraphAddNode and user objects, over the driver
// shim's (guest/cuda/graph_memory_api.cpp, graph_conditional_api.cpp, user_object_api.cpp). The
// runtime's parameter structs are the driver's where their layouts match (checked below);
// cudaGraphAddNode takes each kind of node the way its own cudaGraphAdd*Node takes it, so a
// kernel node's host stub becomes its CUkernel as there.
#include <cstring>
#include <vector>

#include "guest/client/log.h"
#include "guest/cudart/entry.h"

namespace vgpu::cudart {
namespace {

static_assert(sizeof(cudaMemAllocNodeParams) == sizeof(CUDA_MEM_ALLOC_NODE_PARAMS) &&
              offsetof(cudaMemAllocNodeParams, accessDescs) == offsetof(CUDA_MEM_ALLOC_NODE_PARAMS, accessDescs) &&
              offsetof(cudaMemAllocNodeParams, bytesize) == offsetof(CUDA_MEM_ALLOC_NODE_PARAMS, bytesize) &&
              offsetof(cudaMemAllocNodeParams, dptr) == offsetof(CUDA_MEM_ALLOC_NODE_PARAMS, dptr));
static_assert(sizeof(cudaMemAllocNodeParamsV2) == sizeof(cudaMemAllocNodeParams));
static_assert(sizeof(cudaMemPoolProps) == sizeof(CUmemPoolProps) && sizeof(cudaMemAccessDesc) == sizeof(CUmemAccessDesc));
static_assert(static_cast<int>(cudaGraphMemAttrReservedMemHigh) == CU_GRAPH_MEM_ATTR_RESERVED_MEM_HIGH);
static_assert(static_cast<int>(cudaGraphNodeTypeConditional) == CU_GRAPH_NODE_TYPE_CONDITIONAL &&
              static_cast<int>(cudaGraphNodeTypeMemAlloc) == CU_GRAPH_NODE_TYPE_MEM_ALLOC);
static_assert(static_cast<int>(cudaGraphCondTypeSwitch) == CU_GRAPH_COND_TYPE_SWITCH);

CUgraphNode* driver_node(cudaGraphNode_t* node) { return reinterpret_cast<CUgraphNode*>(node); }
const CUgraphNode* driver_nodes(const cudaGraphNode_t* nodes) { return reinterpret_cast<const CUgraphNode*>(nodes); }

cudaError_t add_conditional(cudaGraphNode_t* out, cudaGraph_t graph, const cudaGraphNode_t* deps, size_t count,
                            cudaConditionalNodeParams& c) {
  CUgraphNodeParams p{};
  p.type = CU_GRAPH_NODE_TYPE_CONDITIONAL;
  p.conditional.handle = c.handle;
  p.conditional.type = static_cast<CUgraphConditionalNodeType>(c.type);
  p.conditional.size = c.size;
  const CUresult r = cuGraphAddNode_v2(driver_node(out), graph, driver_nodes(deps), nullptr, count, &p);
  if (r == CUDA_SUCCESS) c.phGraph_out = p.conditional.phGraph_out;
  return to_cuda_error(r);
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT cudaError_t cudaGraphAddMemAllocNode(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                                 const cudaGraphNode_t* pDependencies, size_t numDependencies,
                                                 cudaMemAllocNodeParams* nodeParams) {
  trace_api("cudaGraphAddMemAllocNode graph=%p", static_cast<void*>(graph));
  return context_call([&](Runtime&) {
    return to_cuda_error(cuGraphAddMemAllocNode(driver_node(pGraphNode), graph, driver_nodes(pDependencies),
                                                numDependencies,
                                                reinterpret_cast<CUDA_MEM_ALLOC_NODE_PARAMS*>(nodeParams)));
  });
}

VGPU_EXPORT cudaError_t cudaGraphAddMemFreeNode(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                                const cudaGraphNode_t* pDependencies, size_t numDependencies,
                                                void* dptr) {
  trace_api("cudaGraphAddMemFreeNode graph=%p dptr=%p", static_cast<void*>(graph), dptr);
  return context_call([&](Runtime&) {
    return to_cuda_error(cuGraphAddMemFreeNode(driver_node(pGraphNode), graph, driver_nodes(pDependencies),
                                               numDependencies, reinterpret_cast<CUdeviceptr>(dptr)));
  });
}

VGPU_EXPORT cudaError_t cudaGraphMemAllocNodeGetParams(cudaGraphNode_t node, cudaMemAllocNodeParams* params_out) {
  trace_api("cudaGraphMemAllocNodeGetParams node=%p", static_cast<void*>(node));
  return context_call([&](Runtime&) {
    return to_cuda_error(cuGraphMemAllocNodeGetParams(node, reinterpret_cast<CUDA_MEM_ALLOC_NODE_PARAMS*>(params_out)));
  });
}

VGPU_EXPORT cudaError_t cudaGraphMemFreeNodeGetParams(cudaGraphNode_t node, void* dptr_out) {
  trace_api("cudaGraphMemFreeNodeGetParams node=%p", static_cast<void*>(node));
  return context_call([&](Runtime&) {
    if (dptr_out == nullptr) return cudaErrorInvalidValue;
    CUdeviceptr p = 0;
    const CUresult r = cuGraphMemFreeNodeGetParams(node, &p);
    if (r == CUDA_SUCCESS) std::memcpy(dptr_out, &p, sizeof(void*));  // a void** in disguise, as CUDA's
    return to_cuda_error(r);
  });
}

VGPU_EXPORT cudaError_t cudaDeviceGraphMemTrim(int device) {
  trace_api("cudaDeviceGraphMemTrim device=%d", device);
  return context_call([&](Runtime&) { return to_cuda_error(cuDeviceGraphMemTrim(device)); });
}
VGPU_EXPORT cudaError_t cudaDeviceGetGraphMemAttribute(int device, cudaGraphMemAttributeType attr, void* value) {
  trace_api("cudaDeviceGetGraphMemAttribute device=%d attr=%d", device, static_cast<int>(attr));
  return context_call([&](Runtime&) {
    return to_cuda_error(cuDeviceGetGraphMemAttribute(device, static_cast<CUgraphMem_attribute>(attr), value));
  });
}
VGPU_EXPORT cudaError_t cudaDeviceSetGraphMemAttribute(int device, cudaGraphMemAttributeType attr, void* value) {
  trace_api("cudaDeviceSetGraphMemAttribute device=%d attr=%d", device, static_cast<int>(attr));
  return context_call([&](Runtime&) {
    return to_cuda_error(cuDeviceSetGraphMemAttribute(device, static_cast<CUgraphMem_attribute>(attr), value));
  });
}

VGPU_EXPORT cudaError_t cudaGraphConditionalHandleCreate(cudaGraphConditionalHandle* pHandle_out, cudaGraph_t graph,
                                                         unsigned int defaultLaunchValue, unsigned int flags) {
  trace_api("cudaGraphConditionalHandleCreate graph=%p", static_cast<void*>(graph));
  return context_call([&](Runtime&) {
    return to_cuda_error(cuGraphConditionalHandleCreate(reinterpret_cast<CUgraphConditionalHandle*>(pHandle_out), graph, nullptr, defaultLaunchValue, flags));
  });
}

namespace vgpu::cudart {
namespace {

// cudaGraphAddNode without edge data: the node made as its own cudaGraphAdd*Node makes it.
cudaError_t add_typed_node(cudaGraphNode_t* pGraphNode, cudaGraph_t graph, const cudaGraphNode_t* pDependencies,
                           size_t numDependencies, cudaGraphNodeParams& p) {
  switch (p.type) {
    case cudaGraphNodeTypeKernel: {
      cudaKernelNodeParams k{};
      k.func = p.kernel.func;
      k.gridDim = p.kernel.gridDim;
      k.blockDim = p.kernel.blockDim;
      k.sharedMemBytes = p.kernel.sharedMemBytes;
      k.kernelParams = p.kernel.kernelParams;
      k.extra = p.kernel.extra;
      return cudaGraphAddKernelNode(pGraphNode, graph, pDependencies, numDependencies, &k);
    }
    case cudaGraphNodeTypeMemcpy:
      return cudaGraphAddMemcpyNode(pGraphNode, graph, pDependencies, numDependencies, &p.memcpy.copyParams);
    case cudaGraphNodeTypeMemset: {
      const cudaMemsetParams m{p.memset.dst, p.memset.pitch, p.memset.value, p.memset.elementSize, p.memset.width,
                               p.memset.height};
      return cudaGraphAddMemsetNode(pGraphNode, graph, pDependencies, numDependencies, &m);
    }
    case cudaGraphNodeTypeHost: {
      const cudaHostNodeParams h{p.host.fn, p.host.userData};
      return cudaGraphAddHostNode(pGraphNode, graph, pDependencies, numDependencies, &h);
    }
    case cudaGraphNodeTypeGraph: {
      cudaError_t e = cudaGraphAddChildGraphNode(pGraphNode, graph, pDependencies, numDependencies, p.graph.graph);
      if (e == cudaSuccess && p.graph.ownership == cudaGraphChildGraphOwnershipMove) e = cudaGraphDestroy(p.graph.graph);
      return e;
    }
    case cudaGraphNodeTypeEmpty:
      return cudaGraphAddEmptyNode(pGraphNode, graph, pDependencies, numDependencies);
    case cudaGraphNodeTypeWaitEvent:
      return cudaGraphAddEventWaitNode(pGraphNode, graph, pDependencies, numDependencies, p.eventWait.event);
    case cudaGraphNodeTypeEventRecord:
      return cudaGraphAddEventRecordNode(pGraphNode, graph, pDependencies, numDependencies, p.eventRecord.event);
    case cudaGraphNodeTypeMemAlloc:
      return cudaGraphAddMemAllocNode(pGraphNode, graph, pDependencies, numDependencies,
                                      reinterpret_cast<cudaMemAllocNodeParams*>(&p.alloc));
    case cudaGraphNodeTypeMemFree:
      return cudaGraphAddMemFreeNode(pGraphNode, graph, pDependencies, numDependencies, p.free.dptr);
    case cudaGraphNodeTypeConditional:
      return context_call([&](Runtime&) {
        return add_conditional(pGraphNode, graph, pDependencies, numDependencies, p.conditional);
      });
    default:
      return cudaErrorNotSupported;
  }
}

}  // namespace
}  // namespace vgpu::cudart

// Given edge data other than the default (a programmatic edge), the node is made on its own and
// then joined to its dependencies by edges that carry it, as the driver shim's cuGraphAddNode_v2
// does; an allocation node's dependencies are part of making it.
VGPU_EXPORT cudaError_t cudaGraphAddNode(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                         const cudaGraphNode_t* pDependencies, const cudaGraphEdgeData* dependencyData,
                                         size_t numDependencies, cudaGraphNodeParams* nodeParams) {
  trace_api("cudaGraphAddNode graph=%p", static_cast<void*>(graph));
  if (nodeParams == nullptr || pGraphNode == nullptr) return cudaErrorInvalidValue;
  bool with_data = false;
  for (size_t i = 0; dependencyData != nullptr && i < numDependencies; ++i)
    with_data = with_data || dependencyData[i].type != cudaGraphDependencyTypeDefault ||
                dependencyData[i].from_port != 0 || dependencyData[i].to_port != 0;
  if (!with_data) return add_typed_node(pGraphNode, graph, pDependencies, numDependencies, *nodeParams);
  if (nodeParams->type == cudaGraphNodeTypeMemAlloc) return cudaErrorNotSupported;
  if (pDependencies == nullptr) return cudaErrorInvalidValue;
  cudaGraphNode_t node = nullptr;
  if (cudaError_t e = add_typed_node(&node, graph, nullptr, 0, *nodeParams); e != cudaSuccess) return e;
  const std::vector<cudaGraphNode_t> to(numDependencies, node);
  if (cudaError_t e = cudaGraphAddDependencies(graph, pDependencies, to.data(), dependencyData, numDependencies);
      e != cudaSuccess) {
    (void)cudaGraphDestroyNode(node);
    return e;
  }
  *pGraphNode = node;
  return cudaSuccess;
}

VGPU_EXPORT cudaError_t cudaUserObjectCreate(cudaUserObject_t* object_out, void* ptr, cudaHostFn_t destroy,
                                             unsigned int initialRefcount, unsigned int flags) {
  trace_api("cudaUserObjectCreate count=%u", initialRefcount);
  return context_call([&](Runtime&) {
    return to_cuda_error(cuUserObjectCreate(reinterpret_cast<CUuserObject*>(object_out), ptr, destroy, initialRefcount,
                                            flags));
  });
}
VGPU_EXPORT cudaError_t cudaUserObjectRetain(cudaUserObject_t object, unsigned int count) {
  trace_api("cudaUserObjectRetain object=%p count=%u", static_cast<void*>(object), count);
  return context_call([&](Runtime&) { return to_cuda_error(cuUserObjectRetain(object, count)); });
}
VGPU_EXPORT cudaError_t cudaUserObjectRelease(cudaUserObject_t object, unsigned int count) {
  trace_api("cudaUserObjectRelease object=%p count=%u", static_cast<void*>(object), count);
  return context_call([&](Runtime&) { return to_cuda_error(cuUserObjectRelease(object, count)); });
}
VGPU_EXPORT cudaError_t cudaGraphRetainUserObject(cudaGraph_t graph, cudaUserObject_t object, unsigned int count,
                                                  unsigned int flags) {
  trace_api("cudaGraphRetainUserObject graph=%p object=%p", static_cast<void*>(graph), static_cast<void*>(object));
  return context_call([&](Runtime&) { return to_cuda_error(cuGraphRetainUserObject(graph, object, count, flags)); });
}
VGPU_EXPORT cudaError_t cudaGraphReleaseUserObject(cudaGraph_t graph, cudaUserObject_t object, unsigned int count) {
  trace_api("cudaGraphReleaseUserObject graph=%p object=%p", static_cast<void*>(graph), static_cast<void*>(object));
  return context_call([&](Runtime&) { return to_cuda_error(cuGraphReleaseUserObject(graph, object, count)); });
}
