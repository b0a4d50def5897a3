// The CUDA Driver API as vgpud uses it: a table of entry points loaded from libcuda.so.1 at
// run time (docs/design.md §7), so vgpud builds and starts without a GPU and says plainly when no
// driver is there. Tests point it at test/fake-cuda. This table is the one interface between
// vgpud and the GPU.
#pragma once
#include <cuda.h>

#include <string>

#include "vgpu/common/result.h"

namespace vgpud {

struct CudaDriver {
  CUresult (*cuInit)(unsigned int);
  CUresult (*cuDriverGetVersion)(int*);
  CUresult (*cuDeviceGetCount)(int*);
  CUresult (*cuDeviceGet)(CUdevice*, int);
  CUresult (*cuDeviceGetName)(char*, int, CUdevice);
  CUresult (*cuDeviceGetUuid)(CUuuid*, CUdevice);
  CUresult (*cuDeviceTotalMem)(size_t*, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int*, CUdevice_attribute, CUdevice);
  CUresult (*cuDeviceCanAccessPeer)(int*, CUdevice, CUdevice);
  CUresult (*cuCtxCreate)(CUcontext*, unsigned int, CUdevice);
  CUresult (*cuCtxDestroy)(CUcontext);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuCtxEnablePeerAccess)(CUcontext, unsigned int);
  CUresult (*cuCtxDisablePeerAccess)(CUcontext);
  CUresult (*cuCtxGetLimit)(size_t*, CUlimit);
  CUresult (*cuCtxSetLimit)(CUlimit, size_t);
  CUresult (*cuMemAlloc)(CUdeviceptr*, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemGetInfo)(size_t*, size_t*);
  CUresult (*cuMemHostRegister)(void*, size_t, unsigned int);
  CUresult (*cuMemHostGetDevicePointer)(CUdeviceptr*, void*, unsigned int);
  CUresult (*cuMemHostUnregister)(void*);
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void*, size_t, CUstream);
  CUresult (*cuMemcpyDtoHAsync)(void*, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemcpyPeer)(CUdeviceptr, CUcontext, CUdeviceptr, CUcontext, size_t);
  CUresult (*cuMemcpyPeerAsync)(CUdeviceptr, CUcontext, CUdeviceptr, CUcontext, size_t, CUstream);
  CUresult (*cuMemsetD8Async)(CUdeviceptr, unsigned char, size_t, CUstream);
  CUresult (*cuMemsetD2D8Async)(CUdeviceptr, size_t, unsigned char, size_t, size_t, CUstream);
  CUresult (*cuMemsetD2D16Async)(CUdeviceptr, size_t, unsigned short, size_t, size_t, CUstream);
  CUresult (*cuMemsetD2D32Async)(CUdeviceptr, size_t, unsigned int, size_t, size_t, CUstream);
  CUresult (*cuModuleLoadData)(CUmodule*, const void*);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction*, CUmodule, const char*);
  CUresult (*cuModuleGetGlobal)(CUdeviceptr*, size_t*, CUmodule, const char*);
  CUresult (*cuPointerGetAttribute)(void*, CUpointer_attribute, CUdeviceptr);
  CUresult (*cuModuleGetFunctionCount)(unsigned int*, CUmodule);
  CUresult (*cuModuleEnumerateFunctions)(CUfunction*, unsigned int, CUmodule);
  CUresult (*cuLinkCreate)(unsigned int, CUjit_option*, void**, CUlinkState*);
  CUresult (*cuLinkAddData)(CUlinkState, CUjitInputType, void*, size_t, const char*, unsigned int,
                            CUjit_option*, void**);
  CUresult (*cuLinkComplete)(CUlinkState, void**, size_t*);
  CUresult (*cuLinkDestroy)(CUlinkState);
  CUresult (*cuFuncGetName)(const char**, CUfunction);
  CUresult (*cuFuncGetParamInfo)(CUfunction, size_t, size_t*, size_t*);
  CUresult (*cuFuncGetAttribute)(int*, CUfunction_attribute, CUfunction);
  CUresult (*cuFuncSetAttribute)(CUfunction, CUfunction_attribute, int);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, CUstream, void**, void**);
  CUresult (*cuLaunchKernelEx)(const CUlaunchConfig*, CUfunction, void**, void**);
  CUresult (*cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags)(int*, CUfunction, int, size_t,
                                                                   unsigned int);
  CUresult (*cuOccupancyAvailableDynamicSMemPerBlock)(size_t*, CUfunction, int, int);
  CUresult (*cuOccupancyMaxActiveClusters)(int*, CUfunction, const CUlaunchConfig*);
  CUresult (*cuOccupancyMaxPotentialClusterSize)(int*, CUfunction, const CUlaunchConfig*);
  CUresult (*cuStreamCreateWithPriority)(CUstream*, unsigned int, int);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuStreamQuery)(CUstream);
  CUresult (*cuStreamWaitEvent)(CUstream, CUevent, unsigned int);
  CUresult (*cuStreamWaitValue32)(CUstream, CUdeviceptr, cuuint32_t, unsigned int);
  CUresult (*cuStreamWaitValue64)(CUstream, CUdeviceptr, cuuint64_t, unsigned int);
  CUresult (*cuStreamWriteValue32)(CUstream, CUdeviceptr, cuuint32_t, unsigned int);
  CUresult (*cuStreamWriteValue64)(CUstream, CUdeviceptr, cuuint64_t, unsigned int);
  CUresult (*cuEventCreate)(CUevent*, unsigned int);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventQuery)(CUevent);
  CUresult (*cuEventElapsedTime)(float*, CUevent, CUevent);
  CUresult (*cuStreamBeginCapture)(CUstream, CUstreamCaptureMode);
  CUresult (*cuStreamEndCapture)(CUstream, CUgraph*);
  CUresult (*cuStreamGetCaptureInfo)(CUstream, CUstreamCaptureStatus*, cuuint64_t*, CUgraph*, const CUgraphNode**,
                                     const CUgraphEdgeData**, size_t*);
  CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec*, CUgraph, unsigned long long);
  CUresult (*cuGraphLaunch)(CUgraphExec, CUstream);
  CUresult (*cuGraphUpload)(CUgraphExec, CUstream);
  CUresult (*cuGraphExecDestroy)(CUgraphExec);
  CUresult (*cuGraphDestroy)(CUgraph);
  CUresult (*cuGraphCreate)(CUgraph*, unsigned int);
  CUresult (*cuGraphAddKernelNode)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t, const CUDA_KERNEL_NODE_PARAMS*);
  CUresult (*cuGraphAddMemsetNode)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t, const CUDA_MEMSET_NODE_PARAMS*,
                                   CUcontext);
  CUresult (*cuGraphAddEmptyNode)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t);
  CUresult (*cuGraphAddEventRecordNode)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t, CUevent);
  CUresult (*cuGraphAddEventWaitNode)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t, CUevent);
  CUresult (*cuGraphAddMemcpyNode)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t, const CUDA_MEMCPY3D*, CUcontext);
  CUresult (*cuGraphAddDependencies)(CUgraph, const CUgraphNode*, const CUgraphNode*, const CUgraphEdgeData*, size_t);
  CUresult (*cuGraphGetNodes)(CUgraph, CUgraphNode*, size_t*);
  CUresult (*cuLaunchHostFunc)(CUstream, CUhostFn, void*);
  CUresult (*cuGraphClone)(CUgraph*, CUgraph);
  CUresult (*cuGraphNodeGetType)(CUgraphNode, CUgraphNodeType*);
  CUresult (*cuGraphHostNodeGetParams)(CUgraphNode, CUDA_HOST_NODE_PARAMS*);
  CUresult (*cuGraphMemcpyNodeGetParams)(CUgraphNode, CUDA_MEMCPY3D*);
  CUresult (*cuGraphAddHostNode)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t, const CUDA_HOST_NODE_PARAMS*);
  CUresult (*cuGraphGetEdges)(CUgraph, CUgraphNode*, CUgraphNode*, CUgraphEdgeData*, size_t*);
  CUresult (*cuGraphAddChildGraphNode)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t, CUgraph);
  // Graph updates and per-node parameters (executor_graph_update.cpp, executor_graph_params.cpp).
  CUresult (*cuGraphKernelNodeGetParams)(CUgraphNode, CUDA_KERNEL_NODE_PARAMS*);
  CUresult (*cuGraphKernelNodeSetParams)(CUgraphNode, const CUDA_KERNEL_NODE_PARAMS*);
  CUresult (*cuGraphMemsetNodeGetParams)(CUgraphNode, CUDA_MEMSET_NODE_PARAMS*);
  CUresult (*cuGraphMemsetNodeSetParams)(CUgraphNode, const CUDA_MEMSET_NODE_PARAMS*);
  CUresult (*cuGraphMemcpyNodeSetParams)(CUgraphNode, const CUDA_MEMCPY3D*);
  CUresult (*cuGraphHostNodeSetParams)(CUgraphNode, const CUDA_HOST_NODE_PARAMS*);
  CUresult (*cuGraphEventRecordNodeGetEvent)(CUgraphNode, CUevent*);
  CUresult (*cuGraphEventRecordNodeSetEvent)(CUgraphNode, CUevent);
  CUresult (*cuGraphEventWaitNodeGetEvent)(CUgraphNode, CUevent*);
  CUresult (*cuGraphEventWaitNodeSetEvent)(CUgraphNode, CUevent);
  CUresult (*cuGraphExecKernelNodeSetParams)(CUgraphExec, CUgraphNode, const CUDA_KERNEL_NODE_PARAMS*);
  CUresult (*cuGraphExecMemcpyNodeSetParams)(CUgraphExec, CUgraphNode, const CUDA_MEMCPY3D*, CUcontext);
  CUresult (*cuGraphExecMemsetNodeSetParams)(CUgraphExec, CUgraphNode, const CUDA_MEMSET_NODE_PARAMS*, CUcontext);
  CUresult (*cuGraphExecHostNodeSetParams)(CUgraphExec, CUgraphNode, const CUDA_HOST_NODE_PARAMS*);
  CUresult (*cuGraphExecChildGraphNodeSetParams)(CUgraphExec, CUgraphNode, CUgraph);
  CUresult (*cuGraphExecEventRecordNodeSetEvent)(CUgraphExec, CUgraphNode, CUevent);
  CUresult (*cuGraphExecEventWaitNodeSetEvent)(CUgraphExec, CUgraphNode, CUevent);
  CUresult (*cuGraphNodeSetEnabled)(CUgraphExec, CUgraphNode, unsigned int);
  CUresult (*cuGraphNodeGetEnabled)(CUgraphExec, CUgraphNode, unsigned int*);
  CUresult (*cuGraphExecUpdate)(CUgraphExec, CUgraph, CUgraphExecUpdateResultInfo*);
  CUresult (*cuGraphKernelNodeGetAttribute)(CUgraphNode, CUkernelNodeAttrID, CUkernelNodeAttrValue*);
  CUresult (*cuGraphKernelNodeSetAttribute)(CUgraphNode, CUkernelNodeAttrID, const CUkernelNodeAttrValue*);
  CUresult (*cuGraphKernelNodeCopyAttributes)(CUgraphNode, CUgraphNode);
  // Graph structure and captures that name their graph (executor_graph_structure.cpp), graph
  // memory (executor_graph_memory.cpp), conditional nodes and user objects
  // (executor_graph_objects.cpp).
  CUresult (*cuGraphRemoveDependencies)(CUgraph, const CUgraphNode*, const CUgraphNode*, const CUgraphEdgeData*,
                                        size_t);
  CUresult (*cuGraphDestroyNode)(CUgraphNode);
  CUresult (*cuGraphNodeFindInClone)(CUgraphNode*, CUgraphNode, CUgraph);
  CUresult (*cuGraphChildGraphNodeGetGraph)(CUgraphNode, CUgraph*);
  CUresult (*cuStreamUpdateCaptureDependencies)(CUstream, CUgraphNode*, const CUgraphEdgeData*, size_t, unsigned int);
  CUresult (*cuStreamBeginCaptureToGraph)(CUstream, CUgraph, const CUgraphNode*, const CUgraphEdgeData*, size_t,
                                          CUstreamCaptureMode);
  CUresult (*cuGraphAddMemAllocNode)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t, CUDA_MEM_ALLOC_NODE_PARAMS*);
  CUresult (*cuGraphAddMemFreeNode)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t, CUdeviceptr);
  CUresult (*cuGraphMemAllocNodeGetParams)(CUgraphNode, CUDA_MEM_ALLOC_NODE_PARAMS*);
  CUresult (*cuGraphMemFreeNodeGetParams)(CUgraphNode, CUdeviceptr*);
  CUresult (*cuMemAllocAsync)(CUdeviceptr*, size_t, CUstream);
  CUresult (*cuMemFreeAsync)(CUdeviceptr, CUstream);
  CUresult (*cuDeviceGraphMemTrim)(CUdevice);
  CUresult (*cuDeviceGetGraphMemAttribute)(CUdevice, CUgraphMem_attribute, void*);
  CUresult (*cuDeviceSetGraphMemAttribute)(CUdevice, CUgraphMem_attribute, void*);
  CUresult (*cuGraphConditionalHandleCreate)(CUgraphConditionalHandle*, CUgraph, CUcontext, unsigned int,
                                             unsigned int);
  CUresult (*cuGraphAddNode)(CUgraphNode*, CUgraph, const CUgraphNode*, const CUgraphEdgeData*, size_t,
                             CUgraphNodeParams*);
  CUresult (*cuUserObjectCreate)(CUuserObject*, void*, CUhostFn, unsigned int, unsigned int);
  CUresult (*cuUserObjectRetain)(CUuserObject, unsigned int);
  CUresult (*cuUserObjectRelease)(CUuserObject, unsigned int);
  CUresult (*cuGraphRetainUserObject)(CUgraph, CUuserObject, unsigned int, unsigned int);
  CUresult (*cuGraphReleaseUserObject)(CUgraph, CUuserObject, unsigned int);
  // Virtual memory management (executor_vmm.cpp).
  CUresult (*cuMemGetAllocationGranularity)(size_t*, const CUmemAllocationProp*, CUmemAllocationGranularity_flags);
  CUresult (*cuMemAddressReserve)(CUdeviceptr*, size_t, size_t, CUdeviceptr, unsigned long long);
  CUresult (*cuMemAddressFree)(CUdeviceptr, size_t);
  CUresult (*cuMemCreate)(CUmemGenericAllocationHandle*, size_t, const CUmemAllocationProp*, unsigned long long);
  CUresult (*cuMemRelease)(CUmemGenericAllocationHandle);
  CUresult (*cuMemMap)(CUdeviceptr, size_t, size_t, CUmemGenericAllocationHandle, unsigned long long);
  CUresult (*cuMemUnmap)(CUdeviceptr, size_t);
  CUresult (*cuMemSetAccess)(CUdeviceptr, size_t, const CUmemAccessDesc*, size_t);
  CUresult (*cuMemGetAccess)(unsigned long long*, const CUmemLocation*, CUdeviceptr);
  CUresult (*cuMemRetainAllocationHandle)(CUmemGenericAllocationHandle*, void*);
  // Sharing between the processes of one tenant (executor_ipc.cpp).
  CUresult (*cuIpcGetMemHandle)(CUipcMemHandle*, CUdeviceptr);
  CUresult (*cuIpcOpenMemHandle)(CUdeviceptr*, CUipcMemHandle, unsigned int);
  CUresult (*cuIpcCloseMemHandle)(CUdeviceptr);
  CUresult (*cuIpcGetEventHandle)(CUipcEventHandle*, CUevent);
  CUresult (*cuIpcOpenEventHandle)(CUevent*, CUipcEventHandle);
  CUresult (*cuMemExportToShareableHandle)(void*, CUmemGenericAllocationHandle, CUmemAllocationHandleType,
                                           unsigned long long);
  CUresult (*cuMemImportFromShareableHandle)(CUmemGenericAllocationHandle*, void*, CUmemAllocationHandleType);
  // Arrays, textures and surfaces (executor_array*.cpp, executor_texture.cpp).
  CUresult (*cuArray3DCreate)(CUarray*, const CUDA_ARRAY3D_DESCRIPTOR*);
  CUresult (*cuArrayDestroy)(CUarray);
  CUresult (*cuArray3DGetDescriptor)(CUDA_ARRAY3D_DESCRIPTOR*, CUarray);
  CUresult (*cuArrayGetMemoryRequirements)(CUDA_ARRAY_MEMORY_REQUIREMENTS*, CUarray, CUdevice);
  CUresult (*cuMipmappedArrayCreate)(CUmipmappedArray*, const CUDA_ARRAY3D_DESCRIPTOR*, unsigned int);
  CUresult (*cuMipmappedArrayGetLevel)(CUarray*, CUmipmappedArray, unsigned int);
  CUresult (*cuMipmappedArrayDestroy)(CUmipmappedArray);
  CUresult (*cuMipmappedArrayGetMemoryRequirements)(CUDA_ARRAY_MEMORY_REQUIREMENTS*, CUmipmappedArray, CUdevice);
  CUresult (*cuMemcpy3DAsync)(const CUDA_MEMCPY3D*, CUstream);
  CUresult (*cuTexObjectCreate)(CUtexObject*, const CUDA_RESOURCE_DESC*, const CUDA_TEXTURE_DESC*,
                                const CUDA_RESOURCE_VIEW_DESC*);
  CUresult (*cuTexObjectDestroy)(CUtexObject);
  CUresult (*cuSurfObjectCreate)(CUsurfObject*, const CUDA_RESOURCE_DESC*);
  CUresult (*cuSurfObjectDestroy)(CUsurfObject);
  CUresult (*cuGetErrorName)(CUresult, const char**);
  // TMA descriptors (executor_tensor_map.cpp).
  CUresult (*cuTensorMapEncodeTiled)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*,
                                     const cuuint64_t*, const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave,
                                     CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

  // "CUDA_ERROR_INVALID_VALUE" for logs; never null.
  const char* error_name(CUresult r) const;
};

struct DriverLoadError {
  std::string message;  // one sentence: what is missing and what to do
};

// Opens the driver library at `path` (a soname or a file), resolves every entry point and
// calls cuInit. The handle stays open for the life of the process.
vgpu::Result<const CudaDriver*, DriverLoadError> load_cuda_driver(const std::string& path);

}  // namespace vgpud
