// Graph updates and per-node parameters, over the driver shim's (guest/cuda/graph_params_api.cpp,
// graph_update_api.cpp), as NVIDIA's runtime is over its driver: a kernel node's host stub is its
// CUkernel (and back again for a getter), a memcpy node's copy is described as cudaMemcpy3D would
// describe it (copy3d.h), the other parameter structs are the driver's under other names.
#include "guest/client/log.h"
#include "guest/cudart/copy3d.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/registry.h"

namespace vgpu::cudart {
namespace {

static_assert(sizeof(cudaGraphExecUpdateResultInfo) == sizeof(CUgraphExecUpdateResultInfo) &&
              offsetof(cudaGraphExecUpdateResultInfo, errorFromNode) ==
                  offsetof(CUgraphExecUpdateResultInfo, errorFromNode));
static_assert(static_cast<int>(cudaGraphExecUpdateErrorTopologyChanged) == CU_GRAPH_EXEC_UPDATE_ERROR_TOPOLOGY_CHANGED);
static_assert(sizeof(cudaKernelNodeAttrValue) == sizeof(CUkernelNodeAttrValue) &&
              sizeof(cudaAccessPolicyWindow) == sizeof(CUaccessPolicyWindow));
static_assert(static_cast<int>(cudaKernelNodeAttributePriority) == CU_LAUNCH_ATTRIBUTE_PRIORITY &&
              static_cast<int>(cudaLaunchAttributeClusterDimension) == CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION);

CUDA_KERNEL_NODE_PARAMS driver_kernel(CUfunction f, const dim3& grid, const dim3& block, unsigned shared, void** params,
                                      void** extra) {
  return CUDA_KERNEL_NODE_PARAMS{f,       grid.x, grid.y, grid.z, block.x, block.y,
                                 block.z, shared, params, extra,  nullptr, nullptr};
}

cudaError_t kernel_params(const cudaKernelNodeParams* p, CUDA_KERNEL_NODE_PARAMS* out) {
  if (p == nullptr) return cudaErrorInvalidValue;
  CUfunction function = nullptr;
  if (cudaError_t e = kernel_function(p->func, &function); e != cudaSuccess) return e;
  *out = driver_kernel(function, p->gridDim, p->blockDim, p->sharedMemBytes, p->kernelParams, p->extra);
  return cudaSuccess;
}

// A memcpy node's copy, as cudaGraphAddMemcpyNode describes it (graph_nodes.cpp).
cudaError_t memcpy_params(const cudaMemcpy3DParms* p, CUDA_MEMCPY3D* out) {
  if (p == nullptr) return cudaErrorInvalidValue;
  if (p->srcArray != nullptr || p->dstArray != nullptr) return cudaErrorNotSupported;  // no arrays yet
  const cudaPitchedPtr& d = p->dstPtr;
  const cudaPitchedPtr& s = p->srcPtr;
  const Copy3D c{d.ptr,           d.pitch,          d.ysize,         p->dstPos.x, p->dstPos.y, p->dstPos.z,
                 s.ptr,           s.pitch,          s.ysize,         p->srcPos.x, p->srcPos.y, p->srcPos.z,
                 p->extent.width, p->extent.height, p->extent.depth, p->kind};
  if (c.dst == nullptr || c.src == nullptr || c.width == 0 || c.height == 0 || c.depth == 0)
    return cudaErrorInvalidValue;
  const std::optional<Direction> direction = direction_of(c);
  if (!direction) return cudaErrorInvalidMemcpyDirection;
  if (*direction == Direction::HostToHost) return cudaErrorNotSupported;  // not offered yet
  *out = describe_copy(c, *direction);
  return cudaSuccess;
}

cudaError_t memcpy_1d(void* dst, const void* src, size_t count, cudaMemcpyKind kind, CUDA_MEMCPY3D* out) {
  cudaMemcpy3DParms p{};
  p.dstPtr = cudaPitchedPtr{dst, count, count, 1};
  p.srcPtr = cudaPitchedPtr{const_cast<void*>(src), count, count, 1};
  p.extent = cudaExtent{count, 1, 1};
  p.kind = kind;
  return memcpy_params(&p, out);
}

// The driver's description back as cudaMemcpy3D's: its kind from where each end is.
cudaMemcpy3DParms runtime_copy(const CUDA_MEMCPY3D& m) {
  cudaMemcpy3DParms p{};
  const bool src_device = m.srcMemoryType != CU_MEMORYTYPE_HOST;
  const bool dst_device = m.dstMemoryType != CU_MEMORYTYPE_HOST;
  void* src = src_device ? reinterpret_cast<void*>(m.srcDevice) : const_cast<void*>(m.srcHost);
  void* dst = dst_device ? reinterpret_cast<void*>(m.dstDevice) : m.dstHost;
  p.srcPtr = cudaPitchedPtr{src, m.srcPitch, m.WidthInBytes, m.srcHeight};
  p.dstPtr = cudaPitchedPtr{dst, m.dstPitch, m.WidthInBytes, m.dstHeight};
  p.srcPos = cudaPos{m.srcXInBytes, m.srcY, m.srcZ};
  p.dstPos = cudaPos{m.dstXInBytes, m.dstY, m.dstZ};
  p.extent = cudaExtent{m.WidthInBytes, m.Height, m.Depth};
  p.kind = src_device ? (dst_device ? cudaMemcpyDeviceToDevice : cudaMemcpyDeviceToHost)
                      : (dst_device ? cudaMemcpyHostToDevice : cudaMemcpyHostToHost);
  return p;
}

CUDA_MEMSET_NODE_PARAMS memset_params(const cudaMemsetParams& p) {
  return CUDA_MEMSET_NODE_PARAMS{
      reinterpret_cast<CUdeviceptr>(p.dst), p.pitch, p.value, p.elementSize, p.width, p.height};
}

const CUDA_HOST_NODE_PARAMS* host_params(const cudaHostNodeParams* p) {
  static_assert(sizeof(cudaHostNodeParams) == sizeof(CUDA_HOST_NODE_PARAMS) &&
                offsetof(cudaHostNodeParams, userData) == offsetof(CUDA_HOST_NODE_PARAMS, userData));
  return reinterpret_cast<const CUDA_HOST_NODE_PARAMS*>(p);
}

cudaError_t driver(CUresult r) { return to_cuda_error(r); }

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

// ---- a graph's nodes ----

VGPU_EXPORT cudaError_t cudaGraphKernelNodeGetParams(cudaGraphNode_t node, cudaKernelNodeParams* pNodeParams) {
  trace_api("cudaGraphKernelNodeGetParams node=%p", static_cast<void*>(node));
  return context_call([&](Runtime&) {
    if (pNodeParams == nullptr) return cudaErrorInvalidValue;
    CUDA_KERNEL_NODE_PARAMS p{};
    if (cudaError_t e = driver(cuGraphKernelNodeGetParams_v2(node, &p)); e != cudaSuccess) return e;
    // The host stub the kernel was registered under, as the program named it.
    const CUkernel kernel = p.kern != nullptr ? p.kern : reinterpret_cast<CUkernel>(p.func);
    const void* stub = registry().host_function(kernel);
    pNodeParams->func = const_cast<void*>(stub != nullptr ? stub : static_cast<const void*>(p.func));
    pNodeParams->gridDim = dim3(p.gridDimX, p.gridDimY, p.gridDimZ);
    pNodeParams->blockDim = dim3(p.blockDimX, p.blockDimY, p.blockDimZ);
    pNodeParams->sharedMemBytes = p.sharedMemBytes;
    pNodeParams->kernelParams = p.kernelParams;
    pNodeParams->extra = p.extra;
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaGraphKernelNodeSetParams(cudaGraphNode_t node, const cudaKernelNodeParams* pNodeParams) {
  trace_api("cudaGraphKernelNodeSetParams node=%p", static_cast<void*>(node));
  return context_call([&](Runtime&) {
    CUDA_KERNEL_NODE_PARAMS p{};
    if (cudaError_t e = kernel_params(pNodeParams, &p); e != cudaSuccess) return e;
    return driver(cuGraphKernelNodeSetParams_v2(node, &p));
  });
}

VGPU_EXPORT cudaError_t cudaGraphKernelNodeGetAttribute(cudaGraphNode_t node, cudaKernelNodeAttrID attr,
                                                        cudaKernelNodeAttrValue* value_out) {
  trace_api("cudaGraphKernelNodeGetAttribute node=%p attr=%d", static_cast<void*>(node), static_cast<int>(attr));
  return context_call([&](Runtime&) {
    return driver(cuGraphKernelNodeGetAttribute(node, static_cast<CUkernelNodeAttrID>(attr),
                                                reinterpret_cast<CUkernelNodeAttrValue*>(value_out)));
  });
}
VGPU_EXPORT cudaError_t cudaGraphKernelNodeSetAttribute(cudaGraphNode_t node, cudaKernelNodeAttrID attr,
                                                        const cudaKernelNodeAttrValue* value) {
  trace_api("cudaGraphKernelNodeSetAttribute node=%p attr=%d", static_cast<void*>(node), static_cast<int>(attr));
  return context_call([&](Runtime&) {
    return driver(cuGraphKernelNodeSetAttribute(node, static_cast<CUkernelNodeAttrID>(attr),
                                                reinterpret_cast<const CUkernelNodeAttrValue*>(value)));
  });
}
VGPU_EXPORT cudaError_t cudaGraphKernelNodeCopyAttributes(cudaGraphNode_t hDst, cudaGraphNode_t hSrc) {
  trace_api("cudaGraphKernelNodeCopyAttributes dst=%p src=%p", static_cast<void*>(hDst), static_cast<void*>(hSrc));
  return context_call([&](Runtime&) { return driver(cuGraphKernelNodeCopyAttributes(hDst, hSrc)); });
}

VGPU_EXPORT cudaError_t cudaGraphMemcpyNodeGetParams(cudaGraphNode_t node, cudaMemcpy3DParms* pNodeParams) {
  trace_api("cudaGraphMemcpyNodeGetParams node=%p", static_cast<void*>(node));
  return context_call([&](Runtime&) {
    if (pNodeParams == nullptr) return cudaErrorInvalidValue;
    CUDA_MEMCPY3D m{};
    if (cudaError_t e = driver(cuGraphMemcpyNodeGetParams(node, &m)); e != cudaSuccess) return e;
    *pNodeParams = runtime_copy(m);
    return cudaSuccess;
  });
}
VGPU_EXPORT cudaError_t cudaGraphMemcpyNodeSetParams(cudaGraphNode_t node, const cudaMemcpy3DParms* pNodeParams) {
  trace_api("cudaGraphMemcpyNodeSetParams node=%p", static_cast<void*>(node));
  return context_call([&](Runtime&) {
    CUDA_MEMCPY3D m{};
    if (cudaError_t e = memcpy_params(pNodeParams, &m); e != cudaSuccess) return e;
    return driver(cuGraphMemcpyNodeSetParams(node, &m));
  });
}
VGPU_EXPORT cudaError_t cudaGraphMemcpyNodeSetParams1D(cudaGraphNode_t node, void* dst, const void* src, size_t count,
                                                       cudaMemcpyKind kind) {
  trace_api("cudaGraphMemcpyNodeSetParams1D node=%p count=%zu", static_cast<void*>(node), count);
  return context_call([&](Runtime&) {
    CUDA_MEMCPY3D m{};
    if (cudaError_t e = memcpy_1d(dst, src, count, kind, &m); e != cudaSuccess) return e;
    return driver(cuGraphMemcpyNodeSetParams(node, &m));
  });
}

VGPU_EXPORT cudaError_t cudaGraphMemsetNodeGetParams(cudaGraphNode_t node, cudaMemsetParams* pNodeParams) {
  trace_api("cudaGraphMemsetNodeGetParams node=%p", static_cast<void*>(node));
  return context_call([&](Runtime&) {
    if (pNodeParams == nullptr) return cudaErrorInvalidValue;
    CUDA_MEMSET_NODE_PARAMS m{};
    if (cudaError_t e = driver(cuGraphMemsetNodeGetParams(node, &m)); e != cudaSuccess) return e;
    *pNodeParams = cudaMemsetParams{reinterpret_cast<void*>(m.dst), m.pitch, m.value, m.elementSize, m.width, m.height};
    return cudaSuccess;
  });
}
VGPU_EXPORT cudaError_t cudaGraphMemsetNodeSetParams(cudaGraphNode_t node, const cudaMemsetParams* pNodeParams) {
  trace_api("cudaGraphMemsetNodeSetParams node=%p", static_cast<void*>(node));
  return context_call([&](Runtime&) {
    if (pNodeParams == nullptr) return cudaErrorInvalidValue;
    const CUDA_MEMSET_NODE_PARAMS m = memset_params(*pNodeParams);
    return driver(cuGraphMemsetNodeSetParams(node, &m));
  });
}

VGPU_EXPORT cudaError_t cudaGraphHostNodeGetParams(cudaGraphNode_t node, cudaHostNodeParams* pNodeParams) {
  trace_api("cudaGraphHostNodeGetParams node=%p", static_cast<void*>(node));
  return context_call([&](Runtime&) {
    return driver(cuGraphHostNodeGetParams(node, reinterpret_cast<CUDA_HOST_NODE_PARAMS*>(pNodeParams)));
  });
}
VGPU_EXPORT cudaError_t cudaGraphHostNodeSetParams(cudaGraphNode_t node, const cudaHostNodeParams* pNodeParams) {
  trace_api("cudaGraphHostNodeSetParams node=%p", static_cast<void*>(node));
  return context_call([&](Runtime&) { return driver(cuGraphHostNodeSetParams(node, host_params(pNodeParams))); });
}

VGPU_EXPORT cudaError_t cudaGraphEventRecordNodeGetEvent(cudaGraphNode_t node, cudaEvent_t* event_out) {
  trace_api("cudaGraphEventRecordNodeGetEvent node=%p", static_cast<void*>(node));
  return context_call([&](Runtime&) { return driver(cuGraphEventRecordNodeGetEvent(node, event_out)); });
}
VGPU_EXPORT cudaError_t cudaGraphEventRecordNodeSetEvent(cudaGraphNode_t node, cudaEvent_t event) {
  trace_api("cudaGraphEventRecordNodeSetEvent node=%p", static_cast<void*>(node));
  return context_call([&](Runtime&) { return driver(cuGraphEventRecordNodeSetEvent(node, event)); });
}
VGPU_EXPORT cudaError_t cudaGraphEventWaitNodeGetEvent(cudaGraphNode_t node, cudaEvent_t* event_out) {
  trace_api("cudaGraphEventWaitNodeGetEvent node=%p", static_cast<void*>(node));
  return context_call([&](Runtime&) { return driver(cuGraphEventWaitNodeGetEvent(node, event_out)); });
}
VGPU_EXPORT cudaError_t cudaGraphEventWaitNodeSetEvent(cudaGraphNode_t node, cudaEvent_t event) {
  trace_api("cudaGraphEventWaitNodeSetEvent node=%p", static_cast<void*>(node));
  return context_call([&](Runtime&) { return driver(cuGraphEventWaitNodeSetEvent(node, event)); });
}

// ---- an executable graph's nodes ----

VGPU_EXPORT cudaError_t cudaGraphExecKernelNodeSetParams(cudaGraphExec_t exec, cudaGraphNode_t node,
                                                         const cudaKernelNodeParams* pNodeParams) {
  trace_api("cudaGraphExecKernelNodeSetParams exec=%p node=%p", static_cast<void*>(exec), static_cast<void*>(node));
  return context_call([&](Runtime&) {
    CUDA_KERNEL_NODE_PARAMS p{};
    if (cudaError_t e = kernel_params(pNodeParams, &p); e != cudaSuccess) return e;
    return driver(cuGraphExecKernelNodeSetParams_v2(exec, node, &p));
  });
}

VGPU_EXPORT cudaError_t cudaGraphExecMemcpyNodeSetParams(cudaGraphExec_t exec, cudaGraphNode_t node,
                                                         const cudaMemcpy3DParms* pNodeParams) {
  trace_api("cudaGraphExecMemcpyNodeSetParams exec=%p node=%p", static_cast<void*>(exec), static_cast<void*>(node));
  return context_call([&](Runtime&) {
    CUDA_MEMCPY3D m{};
    if (cudaError_t e = memcpy_params(pNodeParams, &m); e != cudaSuccess) return e;
    return driver(cuGraphExecMemcpyNodeSetParams(exec, node, &m, nullptr));
  });
}
VGPU_EXPORT cudaError_t cudaGraphExecMemcpyNodeSetParams1D(cudaGraphExec_t exec, cudaGraphNode_t node, void* dst,
                                                           const void* src, size_t count, cudaMemcpyKind kind) {
  trace_api("cudaGraphExecMemcpyNodeSetParams1D exec=%p node=%p count=%zu", static_cast<void*>(exec),
            static_cast<void*>(node), count);
  return context_call([&](Runtime&) {
    CUDA_MEMCPY3D m{};
    if (cudaError_t e = memcpy_1d(dst, src, count, kind, &m); e != cudaSuccess) return e;
    return driver(cuGraphExecMemcpyNodeSetParams(exec, node, &m, nullptr));
  });
}

VGPU_EXPORT cudaError_t cudaGraphExecMemsetNodeSetParams(cudaGraphExec_t exec, cudaGraphNode_t node,
                                                         const cudaMemsetParams* pNodeParams) {
  trace_api("cudaGraphExecMemsetNodeSetParams exec=%p node=%p", static_cast<void*>(exec), static_cast<void*>(node));
  return context_call([&](Runtime&) {
    if (pNodeParams == nullptr) return cudaErrorInvalidValue;
    const CUDA_MEMSET_NODE_PARAMS m = memset_params(*pNodeParams);
    return driver(cuGraphExecMemsetNodeSetParams(exec, node, &m, nullptr));
  });
}

VGPU_EXPORT cudaError_t cudaGraphExecHostNodeSetParams(cudaGraphExec_t exec, cudaGraphNode_t node,
                                                       const cudaHostNodeParams* pNodeParams) {
  trace_api("cudaGraphExecHostNodeSetParams exec=%p node=%p", static_cast<void*>(exec), static_cast<void*>(node));
  return context_call(
      [&](Runtime&) { return driver(cuGraphExecHostNodeSetParams(exec, node, host_params(pNodeParams))); });
}

VGPU_EXPORT cudaError_t cudaGraphExecChildGraphNodeSetParams(cudaGraphExec_t exec, cudaGraphNode_t node,
                                                             cudaGraph_t childGraph) {
  trace_api("cudaGraphExecChildGraphNodeSetParams exec=%p node=%p", static_cast<void*>(exec), static_cast<void*>(node));
  return context_call([&](Runtime&) { return driver(cuGraphExecChildGraphNodeSetParams(exec, node, childGraph)); });
}

VGPU_EXPORT cudaError_t cudaGraphExecEventRecordNodeSetEvent(cudaGraphExec_t exec, cudaGraphNode_t node,
                                                             cudaEvent_t event) {
  trace_api("cudaGraphExecEventRecordNodeSetEvent exec=%p node=%p", static_cast<void*>(exec), static_cast<void*>(node));
  return context_call([&](Runtime&) { return driver(cuGraphExecEventRecordNodeSetEvent(exec, node, event)); });
}
VGPU_EXPORT cudaError_t cudaGraphExecEventWaitNodeSetEvent(cudaGraphExec_t exec, cudaGraphNode_t node,
                                                           cudaEvent_t event) {
  trace_api("cudaGraphExecEventWaitNodeSetEvent exec=%p node=%p", static_cast<void*>(exec), static_cast<void*>(node));
  return context_call([&](Runtime&) { return driver(cuGraphExecEventWaitNodeSetEvent(exec, node, event)); });
}

VGPU_EXPORT cudaError_t cudaGraphNodeSetEnabled(cudaGraphExec_t exec, cudaGraphNode_t node, unsigned int isEnabled) {
  trace_api("cudaGraphNodeSetEnabled exec=%p node=%p enabled=%u", static_cast<void*>(exec), static_cast<void*>(node),
            isEnabled);
  return context_call([&](Runtime&) { return driver(cuGraphNodeSetEnabled(exec, node, isEnabled)); });
}
VGPU_EXPORT cudaError_t cudaGraphNodeGetEnabled(cudaGraphExec_t exec, cudaGraphNode_t node, unsigned int* isEnabled) {
  trace_api("cudaGraphNodeGetEnabled exec=%p node=%p", static_cast<void*>(exec), static_cast<void*>(node));
  return context_call([&](Runtime&) { return driver(cuGraphNodeGetEnabled(exec, node, isEnabled)); });
}

VGPU_EXPORT cudaError_t cudaGraphExecGetFlags(cudaGraphExec_t exec, unsigned long long* flags) {
  trace_api("cudaGraphExecGetFlags exec=%p", static_cast<void*>(exec));
  return local_call([&](Runtime&) { return driver(cuGraphExecGetFlags(exec, reinterpret_cast<cuuint64_t*>(flags))); });
}

VGPU_EXPORT cudaError_t cudaGraphExecUpdate(cudaGraphExec_t exec, cudaGraph_t graph,
                                            cudaGraphExecUpdateResultInfo* resultInfo) {
  trace_api("cudaGraphExecUpdate exec=%p graph=%p", static_cast<void*>(exec), static_cast<void*>(graph));
  return context_call([&](Runtime&) {
    return driver(cuGraphExecUpdate_v2(exec, graph, reinterpret_cast<CUgraphExecUpdateResultInfo*>(resultInfo)));
  });
}

// ---- CUDA 12.2's generic setters: each is the typed setter of its node's type ----

namespace vgpu::cudart {
namespace {

// Runs the typed setter of p->type: `exec` null for a graph's node.
cudaError_t set_generic(cudaGraphExec_t exec, cudaGraphNode_t node, cudaGraphNodeParams* p) {
  if (p == nullptr) return cudaErrorInvalidValue;
  switch (p->type) {
    case cudaGraphNodeTypeKernel: {
      const cudaKernelNodeParamsV2& k = p->kernel;
      const cudaKernelNodeParams v1{k.func, k.gridDim, k.blockDim, k.sharedMemBytes, k.kernelParams, k.extra};
      return exec != nullptr ? cudaGraphExecKernelNodeSetParams(exec, node, &v1)
                             : cudaGraphKernelNodeSetParams(node, &v1);
    }
    case cudaGraphNodeTypeMemcpy:
      if (p->memcpy.flags != 0) return cudaErrorInvalidValue;
      return exec != nullptr ? cudaGraphExecMemcpyNodeSetParams(exec, node, &p->memcpy.copyParams)
                             : cudaGraphMemcpyNodeSetParams(node, &p->memcpy.copyParams);
    case cudaGraphNodeTypeMemset: {
      const cudaMemsetParamsV2& m = p->memset;
      const cudaMemsetParams v1{m.dst, m.pitch, m.value, m.elementSize, m.width, m.height};
      return exec != nullptr ? cudaGraphExecMemsetNodeSetParams(exec, node, &v1)
                             : cudaGraphMemsetNodeSetParams(node, &v1);
    }
    case cudaGraphNodeTypeHost: {
      const cudaHostNodeParams h{p->host.fn, p->host.userData};
      return exec != nullptr ? cudaGraphExecHostNodeSetParams(exec, node, &h) : cudaGraphHostNodeSetParams(node, &h);
    }
    case cudaGraphNodeTypeEventRecord:
      return exec != nullptr ? cudaGraphExecEventRecordNodeSetEvent(exec, node, p->eventRecord.event)
                             : cudaGraphEventRecordNodeSetEvent(node, p->eventRecord.event);
    case cudaGraphNodeTypeWaitEvent:
      return exec != nullptr ? cudaGraphExecEventWaitNodeSetEvent(exec, node, p->eventWait.event)
                             : cudaGraphEventWaitNodeSetEvent(node, p->eventWait.event);
    case cudaGraphNodeTypeGraph:
      if (exec != nullptr) return cudaGraphExecChildGraphNodeSetParams(exec, node, p->graph.graph);
      return cudaErrorNotSupported;
    default:
      return cudaErrorNotSupported;
  }
}

}  // namespace
}  // namespace vgpu::cudart

VGPU_EXPORT cudaError_t cudaGraphNodeSetParams(cudaGraphNode_t node, cudaGraphNodeParams* nodeParams) {
  trace_api("cudaGraphNodeSetParams node=%p", static_cast<void*>(node));
  return set_generic(nullptr, node, nodeParams);
}
VGPU_EXPORT cudaError_t cudaGraphExecNodeSetParams(cudaGraphExec_t exec, cudaGraphNode_t node,
                                                   cudaGraphNodeParams* nodeParams) {
  trace_api("cudaGraphExecNodeSetParams exec=%p node=%p", static_cast<void*>(exec), static_cast<void*>(node));
  return set_generic(exec, node, nodeParams);
}
