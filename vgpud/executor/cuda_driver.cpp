#include "vgpud/executor/cuda_driver.h"

#include <dlfcn.h>

#include <cstdio>

namespace vgpud {

const char* CudaDriver::error_name(CUresult r) const {
  const char* name = nullptr;
  if (cuGetErrorName != nullptr && cuGetErrorName(r, &name) == CUDA_SUCCESS && name != nullptr)
    return name;
  return "CUDA_ERROR_UNKNOWN_CODE";
}

namespace {

template <typename Fn>
bool resolve(void* lib, Fn* slot, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (void* sym = dlsym(lib, name)) {
      *slot = reinterpret_cast<Fn>(sym);
      return true;
    }
  }
  return false;
}

}  // namespace

vgpu::Result<const CudaDriver*, DriverLoadError> load_cuda_driver(const std::string& path) {
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr)
    return vgpu::Err{DriverLoadError{
        "The NVIDIA driver library " + path +
        " could not be loaded: install the NVIDIA driver, or point vgpud.driver in the "
        "configuration at libcuda.so.1"}};
  // vgpu's own guest libcuda.so.1 (package vgpu-guest) answers to the same name; on a machine
  // with both packages the name may resolve to it. It brings the guest client with it, which
  // NVIDIA's driver never does: such a library is refused, never used as the driver.
  if (void* client = dlopen("libvgpu-client.so.1", RTLD_NOW | RTLD_NOLOAD); client != nullptr) {
    dlclose(client);
    dlclose(lib);
    return vgpu::Err{DriverLoadError{
        "The driver library " + path +
        " is vgpu's guest libcuda.so.1, not NVIDIA's driver: point vgpud.driver in the "
        "configuration at NVIDIA's libcuda.so.1 (e.g. /usr/lib/x86_64-linux-gnu/libcuda.so.1)"}};
  }

  static CudaDriver d{};
  const char* missing = nullptr;
#define VGPU_RESOLVE(field, ...)                   \
  if (!resolve(lib, &d.field, {__VA_ARGS__}) && !missing) missing = #field;
  VGPU_RESOLVE(cuInit, "cuInit")
  VGPU_RESOLVE(cuDriverGetVersion, "cuDriverGetVersion")
  VGPU_RESOLVE(cuDeviceGetCount, "cuDeviceGetCount")
  VGPU_RESOLVE(cuDeviceGet, "cuDeviceGet")
  VGPU_RESOLVE(cuDeviceGetName, "cuDeviceGetName")
  VGPU_RESOLVE(cuDeviceGetUuid, "cuDeviceGetUuid_v2", "cuDeviceGetUuid")
  VGPU_RESOLVE(cuDeviceTotalMem, "cuDeviceTotalMem_v2")
  VGPU_RESOLVE(cuDeviceGetAttribute, "cuDeviceGetAttribute")
  VGPU_RESOLVE(cuDeviceCanAccessPeer, "cuDeviceCanAccessPeer")
  VGPU_RESOLVE(cuCtxCreate, "cuCtxCreate_v2")
  VGPU_RESOLVE(cuCtxDestroy, "cuCtxDestroy_v2")
  VGPU_RESOLVE(cuCtxSetCurrent, "cuCtxSetCurrent")
  VGPU_RESOLVE(cuCtxSynchronize, "cuCtxSynchronize")
  VGPU_RESOLVE(cuCtxEnablePeerAccess, "cuCtxEnablePeerAccess")
  VGPU_RESOLVE(cuCtxDisablePeerAccess, "cuCtxDisablePeerAccess")
  VGPU_RESOLVE(cuCtxGetLimit, "cuCtxGetLimit")
  VGPU_RESOLVE(cuCtxSetLimit, "cuCtxSetLimit")
  VGPU_RESOLVE(cuMemAlloc, "cuMemAlloc_v2")
  VGPU_RESOLVE(cuMemFree, "cuMemFree_v2")
  VGPU_RESOLVE(cuMemGetInfo, "cuMemGetInfo_v2")
  VGPU_RESOLVE(cuMemHostRegister, "cuMemHostRegister_v2")
  VGPU_RESOLVE(cuMemHostGetDevicePointer, "cuMemHostGetDevicePointer_v2")
  VGPU_RESOLVE(cuMemHostUnregister, "cuMemHostUnregister")
  VGPU_RESOLVE(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2")
  VGPU_RESOLVE(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2")
  VGPU_RESOLVE(cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2")
  VGPU_RESOLVE(cuMemcpyPeer, "cuMemcpyPeer")
  VGPU_RESOLVE(cuMemcpyPeerAsync, "cuMemcpyPeerAsync")
  VGPU_RESOLVE(cuMemsetD8Async, "cuMemsetD8Async")
  VGPU_RESOLVE(cuMemsetD2D8Async, "cuMemsetD2D8Async")
  VGPU_RESOLVE(cuMemsetD2D16Async, "cuMemsetD2D16Async")
  VGPU_RESOLVE(cuMemsetD2D32Async, "cuMemsetD2D32Async")
  VGPU_RESOLVE(cuModuleLoadData, "cuModuleLoadData")
  VGPU_RESOLVE(cuModuleUnload, "cuModuleUnload")
  VGPU_RESOLVE(cuModuleGetFunction, "cuModuleGetFunction")
  VGPU_RESOLVE(cuModuleGetGlobal, "cuModuleGetGlobal_v2")
  VGPU_RESOLVE(cuPointerGetAttribute, "cuPointerGetAttribute")
  VGPU_RESOLVE(cuModuleGetFunctionCount, "cuModuleGetFunctionCount")
  VGPU_RESOLVE(cuModuleEnumerateFunctions, "cuModuleEnumerateFunctions")
  VGPU_RESOLVE(cuLinkCreate, "cuLinkCreate_v2")
  VGPU_RESOLVE(cuLinkAddData, "cuLinkAddData_v2")
  VGPU_RESOLVE(cuLinkComplete, "cuLinkComplete")
  VGPU_RESOLVE(cuLinkDestroy, "cuLinkDestroy")
  VGPU_RESOLVE(cuFuncGetName, "cuFuncGetName")
  VGPU_RESOLVE(cuFuncGetParamInfo, "cuFuncGetParamInfo")
  VGPU_RESOLVE(cuFuncGetAttribute, "cuFuncGetAttribute")
  VGPU_RESOLVE(cuFuncSetAttribute, "cuFuncSetAttribute")
  VGPU_RESOLVE(cuLaunchKernel, "cuLaunchKernel")
  VGPU_RESOLVE(cuLaunchKernelEx, "cuLaunchKernelEx")
  VGPU_RESOLVE(cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags,
               "cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags")
  VGPU_RESOLVE(cuOccupancyAvailableDynamicSMemPerBlock, "cuOccupancyAvailableDynamicSMemPerBlock")
  VGPU_RESOLVE(cuOccupancyMaxActiveClusters, "cuOccupancyMaxActiveClusters")
  VGPU_RESOLVE(cuOccupancyMaxPotentialClusterSize, "cuOccupancyMaxPotentialClusterSize")
  VGPU_RESOLVE(cuStreamCreateWithPriority, "cuStreamCreateWithPriority")
  VGPU_RESOLVE(cuStreamDestroy, "cuStreamDestroy_v2")
  VGPU_RESOLVE(cuStreamSynchronize, "cuStreamSynchronize")
  VGPU_RESOLVE(cuStreamQuery, "cuStreamQuery")
  VGPU_RESOLVE(cuStreamWaitEvent, "cuStreamWaitEvent")
  // The _v2 memory operations (CUDA 11.7+); the unsuffixed ones are the deprecated v1 API.
  VGPU_RESOLVE(cuStreamWaitValue32, "cuStreamWaitValue32_v2")
  VGPU_RESOLVE(cuStreamWaitValue64, "cuStreamWaitValue64_v2")
  VGPU_RESOLVE(cuStreamWriteValue32, "cuStreamWriteValue32_v2")
  VGPU_RESOLVE(cuStreamWriteValue64, "cuStreamWriteValue64_v2")
  VGPU_RESOLVE(cuEventCreate, "cuEventCreate")
  VGPU_RESOLVE(cuEventDestroy, "cuEventDestroy_v2")
  VGPU_RESOLVE(cuEventRecord, "cuEventRecord")
  VGPU_RESOLVE(cuEventSynchronize, "cuEventSynchronize")
  VGPU_RESOLVE(cuEventQuery, "cuEventQuery")
  VGPU_RESOLVE(cuEventElapsedTime, "cuEventElapsedTime_v2", "cuEventElapsedTime")
  VGPU_RESOLVE(cuStreamBeginCapture, "cuStreamBeginCapture_v2")
  VGPU_RESOLVE(cuStreamEndCapture, "cuStreamEndCapture")
  VGPU_RESOLVE(cuStreamGetCaptureInfo, "cuStreamGetCaptureInfo_v3")
  VGPU_RESOLVE(cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags")
  VGPU_RESOLVE(cuGraphLaunch, "cuGraphLaunch")
  VGPU_RESOLVE(cuGraphUpload, "cuGraphUpload")
  VGPU_RESOLVE(cuGraphExecDestroy, "cuGraphExecDestroy")
  VGPU_RESOLVE(cuGraphDestroy, "cuGraphDestroy")
  VGPU_RESOLVE(cuGraphCreate, "cuGraphCreate")
  VGPU_RESOLVE(cuGraphAddKernelNode, "cuGraphAddKernelNode_v2")
  VGPU_RESOLVE(cuGraphAddMemsetNode, "cuGraphAddMemsetNode")
  VGPU_RESOLVE(cuGraphAddEmptyNode, "cuGraphAddEmptyNode")
  VGPU_RESOLVE(cuGraphAddMemcpyNode, "cuGraphAddMemcpyNode")
  VGPU_RESOLVE(cuGraphAddEventRecordNode, "cuGraphAddEventRecordNode")
  VGPU_RESOLVE(cuGraphAddEventWaitNode, "cuGraphAddEventWaitNode")
  VGPU_RESOLVE(cuGraphAddDependencies, "cuGraphAddDependencies_v2")
  VGPU_RESOLVE(cuGraphGetNodes, "cuGraphGetNodes")
  VGPU_RESOLVE(cuLaunchHostFunc, "cuLaunchHostFunc")
  VGPU_RESOLVE(cuGraphClone, "cuGraphClone")
  VGPU_RESOLVE(cuGraphNodeGetType, "cuGraphNodeGetType")
  VGPU_RESOLVE(cuGraphHostNodeGetParams, "cuGraphHostNodeGetParams")
  VGPU_RESOLVE(cuGraphMemcpyNodeGetParams, "cuGraphMemcpyNodeGetParams")
  VGPU_RESOLVE(cuGraphAddHostNode, "cuGraphAddHostNode")
  VGPU_RESOLVE(cuGraphGetEdges, "cuGraphGetEdges_v2")
  VGPU_RESOLVE(cuGraphAddChildGraphNode, "cuGraphAddChildGraphNode")
  VGPU_RESOLVE(cuGraphKernelNodeGetParams, "cuGraphKernelNodeGetParams_v2")
  VGPU_RESOLVE(cuGraphKernelNodeSetParams, "cuGraphKernelNodeSetParams_v2")
  VGPU_RESOLVE(cuGraphMemsetNodeGetParams, "cuGraphMemsetNodeGetParams")
  VGPU_RESOLVE(cuGraphMemsetNodeSetParams, "cuGraphMemsetNodeSetParams")
  VGPU_RESOLVE(cuGraphMemcpyNodeSetParams, "cuGraphMemcpyNodeSetParams")
  VGPU_RESOLVE(cuGraphHostNodeSetParams, "cuGraphHostNodeSetParams")
  VGPU_RESOLVE(cuGraphEventRecordNodeGetEvent, "cuGraphEventRecordNodeGetEvent")
  VGPU_RESOLVE(cuGraphEventRecordNodeSetEvent, "cuGraphEventRecordNodeSetEvent")
  VGPU_RESOLVE(cuGraphEventWaitNodeGetEvent, "cuGraphEventWaitNodeGetEvent")
  VGPU_RESOLVE(cuGraphEventWaitNodeSetEvent, "cuGraphEventWaitNodeSetEvent")
  VGPU_RESOLVE(cuGraphExecKernelNodeSetParams, "cuGraphExecKernelNodeSetParams_v2")
  VGPU_RESOLVE(cuGraphExecMemcpyNodeSetParams, "cuGraphExecMemcpyNodeSetParams")
  VGPU_RESOLVE(cuGraphExecMemsetNodeSetParams, "cuGraphExecMemsetNodeSetParams")
  VGPU_RESOLVE(cuGraphExecHostNodeSetParams, "cuGraphExecHostNodeSetParams")
  VGPU_RESOLVE(cuGraphExecChildGraphNodeSetParams, "cuGraphExecChildGraphNodeSetParams")
  VGPU_RESOLVE(cuGraphExecEventRecordNodeSetEvent, "cuGraphExecEventRecordNodeSetEvent")
  VGPU_RESOLVE(cuGraphExecEventWaitNodeSetEvent, "cuGraphExecEventWaitNodeSetEvent")
  VGPU_RESOLVE(cuGraphNodeSetEnabled, "cuGraphNodeSetEnabled")
  VGPU_RESOLVE(cuGraphNodeGetEnabled, "cuGraphNodeGetEnabled")
  VGPU_RESOLVE(cuGraphExecUpdate, "cuGraphExecUpdate_v2")
  VGPU_RESOLVE(cuGraphKernelNodeGetAttribute, "cuGraphKernelNodeGetAttribute")
  VGPU_RESOLVE(cuGraphKernelNodeSetAttribute, "cuGraphKernelNodeSetAttribute")
  VGPU_RESOLVE(cuGraphKernelNodeCopyAttributes, "cuGraphKernelNodeCopyAttributes")
  VGPU_RESOLVE(cuGraphRemoveDependencies, "cuGraphRemoveDependencies_v2")
  VGPU_RESOLVE(cuGraphDestroyNode, "cuGraphDestroyNode")
  VGPU_RESOLVE(cuGraphNodeFindInClone, "cuGraphNodeFindInClone")
  VGPU_RESOLVE(cuGraphChildGraphNodeGetGraph, "cuGraphChildGraphNodeGetGraph")
  VGPU_RESOLVE(cuStreamUpdateCaptureDependencies, "cuStreamUpdateCaptureDependencies_v2")
  VGPU_RESOLVE(cuStreamBeginCaptureToGraph, "cuStreamBeginCaptureToGraph")
  VGPU_RESOLVE(cuGraphAddMemAllocNode, "cuGraphAddMemAllocNode")
  VGPU_RESOLVE(cuGraphAddMemFreeNode, "cuGraphAddMemFreeNode")
  VGPU_RESOLVE(cuGraphMemAllocNodeGetParams, "cuGraphMemAllocNodeGetParams")
  VGPU_RESOLVE(cuGraphMemFreeNodeGetParams, "cuGraphMemFreeNodeGetParams")
  VGPU_RESOLVE(cuMemAllocAsync, "cuMemAllocAsync")
  VGPU_RESOLVE(cuMemFreeAsync, "cuMemFreeAsync")
  VGPU_RESOLVE(cuDeviceGraphMemTrim, "cuDeviceGraphMemTrim")
  VGPU_RESOLVE(cuDeviceGetGraphMemAttribute, "cuDeviceGetGraphMemAttribute")
  VGPU_RESOLVE(cuDeviceSetGraphMemAttribute, "cuDeviceSetGraphMemAttribute")
  VGPU_RESOLVE(cuGraphConditionalHandleCreate, "cuGraphConditionalHandleCreate")
  VGPU_RESOLVE(cuGraphAddNode, "cuGraphAddNode_v2")
  VGPU_RESOLVE(cuUserObjectCreate, "cuUserObjectCreate")
  VGPU_RESOLVE(cuUserObjectRetain, "cuUserObjectRetain")
  VGPU_RESOLVE(cuUserObjectRelease, "cuUserObjectRelease")
  VGPU_RESOLVE(cuGraphRetainUserObject, "cuGraphRetainUserObject")
  VGPU_RESOLVE(cuGraphReleaseUserObject, "cuGraphReleaseUserObject")
  VGPU_RESOLVE(cuMemGetAllocationGranularity, "cuMemGetAllocationGranularity")
  VGPU_RESOLVE(cuMemAddressReserve, "cuMemAddressReserve")
  VGPU_RESOLVE(cuMemAddressFree, "cuMemAddressFree")
  VGPU_RESOLVE(cuMemCreate, "cuMemCreate")
  VGPU_RESOLVE(cuMemRelease, "cuMemRelease")
  VGPU_RESOLVE(cuMemMap, "cuMemMap")
  VGPU_RESOLVE(cuMemUnmap, "cuMemUnmap")
  VGPU_RESOLVE(cuMemSetAccess, "cuMemSetAccess")
  VGPU_RESOLVE(cuMemGetAccess, "cuMemGetAccess")
  VGPU_RESOLVE(cuMemRetainAllocationHandle, "cuMemRetainAllocationHandle")
  VGPU_RESOLVE(cuIpcGetMemHandle, "cuIpcGetMemHandle")
  VGPU_RESOLVE(cuIpcOpenMemHandle, "cuIpcOpenMemHandle_v2")
  VGPU_RESOLVE(cuIpcCloseMemHandle, "cuIpcCloseMemHandle")
  VGPU_RESOLVE(cuIpcGetEventHandle, "cuIpcGetEventHandle")
  VGPU_RESOLVE(cuIpcOpenEventHandle, "cuIpcOpenEventHandle")
  VGPU_RESOLVE(cuMemExportToShareableHandle, "cuMemExportToShareableHandle")
  VGPU_RESOLVE(cuMemImportFromShareableHandle, "cuMemImportFromShareableHandle")
  VGPU_RESOLVE(cuArray3DCreate, "cuArray3DCreate_v2")
  VGPU_RESOLVE(cuArrayDestroy, "cuArrayDestroy")
  VGPU_RESOLVE(cuArray3DGetDescriptor, "cuArray3DGetDescriptor_v2")
  VGPU_RESOLVE(cuArrayGetMemoryRequirements, "cuArrayGetMemoryRequirements")
  VGPU_RESOLVE(cuMipmappedArrayCreate, "cuMipmappedArrayCreate")
  VGPU_RESOLVE(cuMipmappedArrayGetLevel, "cuMipmappedArrayGetLevel")
  VGPU_RESOLVE(cuMipmappedArrayDestroy, "cuMipmappedArrayDestroy")
  VGPU_RESOLVE(cuMipmappedArrayGetMemoryRequirements, "cuMipmappedArrayGetMemoryRequirements")
  VGPU_RESOLVE(cuMemcpy3DAsync, "cuMemcpy3DAsync_v2")
  VGPU_RESOLVE(cuTexObjectCreate, "cuTexObjectCreate")
  VGPU_RESOLVE(cuTexObjectDestroy, "cuTexObjectDestroy")
  VGPU_RESOLVE(cuSurfObjectCreate, "cuSurfObjectCreate")
  VGPU_RESOLVE(cuSurfObjectDestroy, "cuSurfObjectDestroy")
  VGPU_RESOLVE(cuGetErrorName, "cuGetErrorName")
  VGPU_RESOLVE(cuTensorMapEncodeTiled, "cuTensorMapEncodeTiled")
#undef VGPU_RESOLVE
  if (missing != nullptr)
    return vgpu::Err{DriverLoadError{"The NVIDIA driver library " + path + " lacks " + missing +
                                     ": vgpud needs driver 12.4 or newer; upgrade the NVIDIA driver"}};

  const CUresult r = d.cuInit(0);
  if (r == CUDA_ERROR_NO_DEVICE)
    return vgpu::Err{DriverLoadError{
        "The NVIDIA driver found no GPU: check that a GPU is installed and visible "
        "(nvidia-smi), and that vgpud may open /dev/nvidia*"}};
  if (r != CUDA_SUCCESS)
    return vgpu::Err{DriverLoadError{std::string("The NVIDIA driver failed to initialize (") +
                                     d.error_name(r) +
                                     "): check nvidia-smi and the permissions of /dev/nvidia*"}};
  return &d;
}

}  // namespace vgpud
