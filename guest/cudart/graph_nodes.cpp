// Graphs built node by node, over the driver shim's (guest/cuda/graph_build_api.cpp). A
// cudaGraphNode_t is a CUgraphNode; a kernel node's host stub becomes its CUkernel, as a launch's.
#include "guest/client/log.h"
#include "guest/cudart/copy3d.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/registry.h"

namespace vgpu::cudart {
namespace {

static_assert(static_cast<int>(cudaGraphNodeTypeKernel) == CU_GRAPH_NODE_TYPE_KERNEL &&
              static_cast<int>(cudaGraphNodeTypeMemset) == CU_GRAPH_NODE_TYPE_MEMSET &&
              static_cast<int>(cudaGraphNodeTypeEmpty) == CU_GRAPH_NODE_TYPE_EMPTY &&
              static_cast<int>(cudaGraphNodeTypeMemcpy) == CU_GRAPH_NODE_TYPE_MEMCPY &&
              static_cast<int>(cudaGraphNodeTypeEventRecord) == CU_GRAPH_NODE_TYPE_EVENT_RECORD &&
              static_cast<int>(cudaGraphNodeTypeWaitEvent) == CU_GRAPH_NODE_TYPE_WAIT_EVENT);

CUgraphNode* driver_nodes(cudaGraphNode_t* nodes) { return reinterpret_cast<CUgraphNode*>(nodes); }
const CUgraphNode* driver_nodes(const cudaGraphNode_t* nodes) { return reinterpret_cast<const CUgraphNode*>(nodes); }

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT cudaError_t cudaGraphCreate(cudaGraph_t* pGraph, unsigned int flags) {
  trace_api("cudaGraphCreate flags=%u", flags);
  return context_call([&](Runtime&) { return to_cuda_error(cuGraphCreate(reinterpret_cast<CUgraph*>(pGraph), flags)); });
}

VGPU_EXPORT cudaError_t cudaGraphAddKernelNode(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                               const cudaGraphNode_t* pDependencies, size_t numDependencies,
                                               const cudaKernelNodeParams* p) {
  trace_api("cudaGraphAddKernelNode graph=%p", static_cast<void*>(graph));
  return context_call([&](Runtime&) {
    if (p == nullptr) return cudaErrorInvalidValue;
    CUfunction function = nullptr;
    if (cudaError_t e = kernel_function(p->func, &function); e != cudaSuccess) return e;
    CUDA_KERNEL_NODE_PARAMS d{};
    d.func = function;
    d.gridDimX = p->gridDim.x, d.gridDimY = p->gridDim.y, d.gridDimZ = p->gridDim.z;
    d.blockDimX = p->blockDim.x, d.blockDimY = p->blockDim.y, d.blockDimZ = p->blockDim.z;
    d.sharedMemBytes = p->sharedMemBytes;
    d.kernelParams = p->kernelParams;
    d.extra = p->extra;
    return to_cuda_error(cuGraphAddKernelNode_v2(driver_nodes(pGraphNode), graph, driver_nodes(pDependencies),
                                                 numDependencies, &d));
  });
}

VGPU_EXPORT cudaError_t cudaGraphAddMemsetNode(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                               const cudaGraphNode_t* pDependencies, size_t numDependencies,
                                               const cudaMemsetParams* p) {
  trace_api("cudaGraphAddMemsetNode graph=%p", static_cast<void*>(graph));
  return context_call([&](Runtime&) {
    if (p == nullptr) return cudaErrorInvalidValue;
    CUDA_MEMSET_NODE_PARAMS d{};
    d.dst = reinterpret_cast<CUdeviceptr>(p->dst);
    d.pitch = p->pitch;
    d.value = p->value;
    d.elementSize = p->elementSize;
    d.width = p->width;
    d.height = p->height;
    return to_cuda_error(cuGraphAddMemsetNode(driver_nodes(pGraphNode), graph, driver_nodes(pDependencies),
                                              numDependencies, &d, nullptr));
  });
}

namespace vgpu::cudart {
namespace {

// A memcpy node: the copy described as cudaMemcpy3D would describe it to the driver.
cudaError_t add_memcpy_node(cudaGraphNode_t* node, cudaGraph_t graph, const cudaGraphNode_t* deps, size_t count,
                            const Copy3D& c) {
  if (c.dst == nullptr || c.src == nullptr || c.width == 0 || c.height == 0 || c.depth == 0) return cudaErrorInvalidValue;
  const std::optional<Direction> direction = direction_of(c);
  if (!direction) return cudaErrorInvalidMemcpyDirection;
  if (*direction == Direction::HostToHost) return cudaErrorNotSupported;  // not offered yet
  const CUDA_MEMCPY3D m = describe_copy(c, *direction);
  return to_cuda_error(cuGraphAddMemcpyNode(driver_nodes(node), graph, driver_nodes(deps), count, &m, nullptr));
}

}  // namespace
}  // namespace vgpu::cudart

VGPU_EXPORT cudaError_t cudaGraphAddMemcpyNode(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                               const cudaGraphNode_t* pDependencies, size_t numDependencies,
                                               const cudaMemcpy3DParms* p) {
  trace_api("cudaGraphAddMemcpyNode graph=%p", static_cast<void*>(graph));
  return context_call([&](Runtime&) {
    if (p == nullptr) return cudaErrorInvalidValue;
    if (p->srcArray != nullptr || p->dstArray != nullptr) return cudaErrorNotSupported;  // no arrays yet
    const cudaPitchedPtr& d = p->dstPtr;
    const cudaPitchedPtr& s = p->srcPtr;
    return add_memcpy_node(pGraphNode, graph, pDependencies, numDependencies,
                           Copy3D{d.ptr, d.pitch, d.ysize, p->dstPos.x, p->dstPos.y, p->dstPos.z, s.ptr, s.pitch,
                                  s.ysize, p->srcPos.x, p->srcPos.y, p->srcPos.z, p->extent.width, p->extent.height,
                                  p->extent.depth, p->kind});
  });
}

VGPU_EXPORT cudaError_t cudaGraphAddMemcpyNode1D(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                                 const cudaGraphNode_t* pDependencies, size_t numDependencies,
                                                 void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  trace_api("cudaGraphAddMemcpyNode1D graph=%p count=%zu", static_cast<void*>(graph), count);
  return context_call([&](Runtime&) {
    return add_memcpy_node(pGraphNode, graph, pDependencies, numDependencies,
                           Copy3D{dst, count, 1, 0, 0, 0, src, count, 1, 0, 0, 0, count, 1, 1, kind});
  });
}

VGPU_EXPORT cudaError_t cudaGraphAddEventRecordNode(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                                    const cudaGraphNode_t* pDependencies, size_t numDependencies,
                                                    cudaEvent_t event) {
  trace_api("cudaGraphAddEventRecordNode graph=%p", static_cast<void*>(graph));
  return context_call([&](Runtime&) {
    return to_cuda_error(
        cuGraphAddEventRecordNode(driver_nodes(pGraphNode), graph, driver_nodes(pDependencies), numDependencies, event));
  });
}

VGPU_EXPORT cudaError_t cudaGraphAddEventWaitNode(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                                  const cudaGraphNode_t* pDependencies, size_t numDependencies,
                                                  cudaEvent_t event) {
  trace_api("cudaGraphAddEventWaitNode graph=%p", static_cast<void*>(graph));
  return context_call([&](Runtime&) {
    return to_cuda_error(
        cuGraphAddEventWaitNode(driver_nodes(pGraphNode), graph, driver_nodes(pDependencies), numDependencies, event));
  });
}

VGPU_EXPORT cudaError_t cudaGraphAddEmptyNode(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                              const cudaGraphNode_t* pDependencies, size_t numDependencies) {
  trace_api("cudaGraphAddEmptyNode graph=%p", static_cast<void*>(graph));
  return context_call([&](Runtime&) {
    return to_cuda_error(
        cuGraphAddEmptyNode(driver_nodes(pGraphNode), graph, driver_nodes(pDependencies), numDependencies));
  });
}

VGPU_EXPORT cudaError_t cudaGraphAddChildGraphNode(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                                   const cudaGraphNode_t* pDependencies, size_t numDependencies,
                                                   cudaGraph_t childGraph) {
  trace_api("cudaGraphAddChildGraphNode graph=%p child=%p", static_cast<void*>(graph), static_cast<void*>(childGraph));
  return context_call([&](Runtime&) {
    return to_cuda_error(cuGraphAddChildGraphNode(driver_nodes(pGraphNode), graph, driver_nodes(pDependencies),
                                                  numDependencies, childGraph));
  });
}

VGPU_EXPORT cudaError_t cudaGraphAddDependencies(cudaGraph_t graph, const cudaGraphNode_t* from,
                                                 const cudaGraphNode_t* to, const cudaGraphEdgeData* edgeData,
                                                 size_t numDependencies) {
  trace_api("cudaGraphAddDependencies graph=%p count=%zu", static_cast<void*>(graph), numDependencies);
  static_assert(sizeof(cudaGraphEdgeData) == sizeof(CUgraphEdgeData));
  return context_call([&](Runtime&) {
    return to_cuda_error(cuGraphAddDependencies_v2(graph, driver_nodes(from), driver_nodes(to),
                                                   reinterpret_cast<const CUgraphEdgeData*>(edgeData), numDependencies));
  });
}

VGPU_EXPORT cudaError_t cudaGraphGetNodes(cudaGraph_t graph, cudaGraphNode_t* nodes, size_t* numNodes) {
  trace_api("cudaGraphGetNodes graph=%p", static_cast<void*>(graph));
  return local_call([&](Runtime&) { return to_cuda_error(cuGraphGetNodes(graph, driver_nodes(nodes), numNodes)); });
}

VGPU_EXPORT cudaError_t cudaGraphNodeGetType(cudaGraphNode_t node, cudaGraphNodeType* pType) {
  trace_api("cudaGraphNodeGetType node=%p", static_cast<void*>(node));
  return local_call([&](Runtime&) {
    return to_cuda_error(cuGraphNodeGetType(node, reinterpret_cast<CUgraphNodeType*>(pType)));
  });
}

VGPU_EXPORT cudaError_t cudaGraphAddHostNode(cudaGraphNode_t* pGraphNode, cudaGraph_t graph,
                                             const cudaGraphNode_t* pDependencies, size_t numDependencies,
                                             const cudaHostNodeParams* pNodeParams) {
  trace_api("cudaGraphAddHostNode graph=%p", static_cast<void*>(graph));
  static_assert(sizeof(cudaHostNodeParams) == sizeof(CUDA_HOST_NODE_PARAMS) &&
                offsetof(cudaHostNodeParams, userData) == offsetof(CUDA_HOST_NODE_PARAMS, userData));
  return context_call([&](Runtime&) {
    return to_cuda_error(cuGraphAddHostNode(driver_nodes(pGraphNode), graph, driver_nodes(pDependencies),
                                            numDependencies, reinterpret_cast<const CUDA_HOST_NODE_PARAMS*>(pNodeParams)));
  });
}
