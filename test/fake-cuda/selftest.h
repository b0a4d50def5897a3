// fake-cuda (test double, never ships): what the files of the self-check share: the API
// resolved with dlsym, the check helpers, and the peer-access checks of selftest_peer.cpp.
#pragma once

#include <cuda.h>
// cuda.h renames cuEventElapsedTime, cuGraphAddKernelNode and cuGraphAddDependencies to their
// _v2; the library exports both names of each.
#undef cuEventElapsedTime
#undef cuGraphAddKernelNode
#undef cuGraphAddDependencies

namespace vgpu::fake::selftest {

// The API, resolved with dlsym by load().
struct Api {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDriverGetVersion)(int*);
  CUresult (*cuDeviceGetCount)(int*);
  CUresult (*cuDeviceGet)(CUdevice*, int);
  CUresult (*cuDeviceGetName)(char*, int, CUdevice);
  CUresult (*cuDeviceGetUuid_v2)(CUuuid*, CUdevice);
  CUresult (*cuDeviceTotalMem_v2)(size_t*, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int*, CUdevice_attribute, CUdevice);
  CUresult (*cuCtxCreate_v2)(CUcontext*, unsigned, CUdevice);
  CUresult (*cuCtxDestroy_v2)(CUcontext);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxGetCurrent)(CUcontext*);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuMemAlloc_v2)(CUdeviceptr*, size_t);
  CUresult (*cuMemFree_v2)(CUdeviceptr);
  CUresult (*cuMemGetInfo_v2)(size_t*, size_t*);
  CUresult (*cuMemHostRegister_v2)(void*, size_t, unsigned);
  CUresult (*cuMemHostUnregister)(void*);
  CUresult (*cuMemcpyHtoDAsync_v2)(CUdeviceptr, const void*, size_t, CUstream);
  CUresult (*cuMemcpyDtoHAsync_v2)(void*, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemcpyDtoDAsync_v2)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemsetD8Async)(CUdeviceptr, unsigned char, size_t, CUstream);
  CUresult (*cuModuleLoadData)(CUmodule*, const void*);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction*, CUmodule, const char*);
  CUresult (*cuModuleGetGlobal_v2)(CUdeviceptr*, size_t*, CUmodule, const char*);
  CUresult (*cuFuncGetParamInfo)(CUfunction, size_t, size_t*, size_t*);
  CUresult (*cuFuncGetAttribute)(int*, CUfunction_attribute, CUfunction);
  CUresult (*cuFuncSetAttribute)(CUfunction, CUfunction_attribute, int);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                             CUstream, void**, void**);
  CUresult (*cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags)(int*, CUfunction, int, size_t, unsigned);
  CUresult (*cuStreamCreateWithPriority)(CUstream*, unsigned, int);
  CUresult (*cuStreamDestroy_v2)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuStreamQuery)(CUstream);
  CUresult (*cuStreamWaitEvent)(CUstream, CUevent, unsigned);
  CUresult (*cuEventCreate)(CUevent*, unsigned);
  CUresult (*cuEventDestroy_v2)(CUevent);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventQuery)(CUevent);
  CUresult (*cuEventElapsedTime)(float*, CUevent, CUevent);
  CUresult (*cuEventElapsedTime_v2)(float*, CUevent, CUevent);
  CUresult (*cuGetErrorName)(CUresult, const char**);
  CUresult (*cuGetErrorString)(CUresult, const char**);
  CUresult (*cuDeviceCanAccessPeer)(int*, CUdevice, CUdevice);
  CUresult (*cuCtxEnablePeerAccess)(CUcontext, unsigned);
  CUresult (*cuCtxDisablePeerAccess)(CUcontext);
  CUresult (*cuMemcpyPeer)(CUdeviceptr, CUcontext, CUdeviceptr, CUcontext, size_t);
  CUresult (*cuMemcpyPeerAsync)(CUdeviceptr, CUcontext, CUdeviceptr, CUcontext, size_t, CUstream);
  CUresult (*cuCtxGetLimit)(size_t*, CUlimit);
  CUresult (*cuCtxSetLimit)(CUlimit, size_t);
  CUresult (*cuMemsetD2D8Async)(CUdeviceptr, size_t, unsigned char, size_t, size_t, CUstream);
  CUresult (*cuMemsetD2D16Async)(CUdeviceptr, size_t, unsigned short, size_t, size_t, CUstream);
  CUresult (*cuMemsetD2D32Async)(CUdeviceptr, size_t, unsigned, size_t, size_t, CUstream);
  CUresult (*cuOccupancyAvailableDynamicSMemPerBlock)(size_t*, CUfunction, int, int);
  CUresult (*cuOccupancyMaxActiveClusters)(int*, CUfunction, const CUlaunchConfig*);
  CUresult (*cuOccupancyMaxPotentialClusterSize)(int*, CUfunction, const CUlaunchConfig*);
  CUresult (*cuModuleGetFunctionCount)(unsigned*, CUmodule);
  CUresult (*cuModuleEnumerateFunctions)(CUfunction*, unsigned, CUmodule);
  CUresult (*cuFuncGetName)(const char**, CUfunction);
  CUresult (*cuLaunchKernelEx)(const CUlaunchConfig*, CUfunction, void**, void**);
  CUresult (*cuStreamWaitValue32_v2)(CUstream, CUdeviceptr, cuuint32_t, unsigned);
  CUresult (*cuStreamWaitValue64_v2)(CUstream, CUdeviceptr, cuuint64_t, unsigned);
  CUresult (*cuStreamWriteValue32_v2)(CUstream, CUdeviceptr, cuuint32_t, unsigned);
  CUresult (*cuStreamWriteValue64_v2)(CUstream, CUdeviceptr, cuuint64_t, unsigned);
  CUresult (*cuLinkCreate_v2)(unsigned, CUjit_option*, void**, CUlinkState*);
  CUresult (*cuLinkAddData_v2)(CUlinkState, CUjitInputType, void*, size_t, const char*, unsigned, CUjit_option*,
                               void**);
  CUresult (*cuLinkComplete)(CUlinkState, void**, size_t*);
  CUresult (*cuLinkDestroy)(CUlinkState);
  CUresult (*cuStreamBeginCapture_v2)(CUstream, CUstreamCaptureMode);
  CUresult (*cuStreamEndCapture)(CUstream, CUgraph*);
  CUresult (*cuStreamIsCapturing)(CUstream, CUstreamCaptureStatus*);
  CUresult (*cuStreamGetCaptureInfo_v2)(CUstream, CUstreamCaptureStatus*, cuuint64_t*, CUgraph*, const CUgraphNode**,
                                        size_t*);
  CUresult (*cuStreamGetCaptureInfo_v3)(CUstream, CUstreamCaptureStatus*, cuuint64_t*, CUgraph*, const CUgraphNode**,
                                        const CUgraphEdgeData**, size_t*);
  CUresult (*cuThreadExchangeStreamCaptureMode)(CUstreamCaptureMode*);
  CUresult (*cuGraphCreate)(CUgraph*, unsigned);
  CUresult (*cuGraphDestroy)(CUgraph);
  CUresult (*cuGraphGetNodes)(CUgraph, CUgraphNode*, size_t*);
  CUresult (*cuGraphGetEdges_v2)(CUgraph, CUgraphNode*, CUgraphNode*, CUgraphEdgeData*, size_t*);
  CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec*, CUgraph, unsigned long long);
  CUresult (*cuGraphLaunch)(CUgraphExec, CUstream);
  CUresult (*cuGraphUpload)(CUgraphExec, CUstream);
  CUresult (*cuGraphExecDestroy)(CUgraphExec);
  CUresult (*cuGraphAddKernelNode_v2)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t,
                                      const CUDA_KERNEL_NODE_PARAMS*);
  CUresult (*cuGraphAddKernelNode)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t,
                                   const CUDA_KERNEL_NODE_PARAMS_v1*);
  CUresult (*cuGraphAddMemsetNode)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t, const CUDA_MEMSET_NODE_PARAMS*,
                                   CUcontext);
  CUresult (*cuGraphAddMemcpyNode)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t, const CUDA_MEMCPY3D*,
                                   CUcontext);
  CUresult (*cuGraphAddEmptyNode)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t);
  CUresult (*cuGraphAddDependencies)(CUgraph, const CUgraphNode*, const CUgraphNode*, size_t);
  CUresult (*cuGraphAddDependencies_v2)(CUgraph, const CUgraphNode*, const CUgraphNode*, const CUgraphEdgeData*,
                                        size_t);
  CUresult (*cuGraphNodeGetType)(CUgraphNode, CUgraphNodeType*);
  CUresult (*cuGraphAddEventRecordNode)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t, CUevent);
  CUresult (*cuGraphAddEventWaitNode)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t, CUevent);
  CUresult (*cuLaunchHostFunc)(CUstream, CUhostFn, void*);
  CUresult (*cuGraphAddHostNode)(CUgraphNode*, CUgraph, const CUgraphNode*, size_t, const CUDA_HOST_NODE_PARAMS*);
  CUresult (*cuGraphClone)(CUgraph*, CUgraph);
  CUresult (*cuGraphHostNodeGetParams)(CUgraphNode, CUDA_HOST_NODE_PARAMS*);
  CUresult (*cuGraphMemcpyNodeGetParams)(CUgraphNode, CUDA_MEMCPY3D*);
};


extern Api api;

bool load(const char* path);  // dlopens the library and fills `api`; false when a name is missing
void check(bool ok, const char* what, int line);
void check_rc(CUresult got, CUresult want, const char* what, int line);
int summary();  // prints the count of checks and failures; the exit status

// Peer access, peer copies and unified addressing, on two contexts of devices 0 and 1 that it
// makes and destroys; `supported` is what cuDeviceCanAccessPeer should say for them. Leaves
// the calling thread's current context, the memory totals and the process healthy as it found
// them.
void peer_checks(bool supported);
// Context limits, 2D memsets, module enumeration, cluster occupancy, cuLaunchKernelEx and stream
// memory operations (selftest_ex.cpp), in a context of its own on device 0 that it makes and
// destroys; leaves the calling thread without a current context.
void extended_checks();
// The JIT linker (selftest_link.cpp), in a context of its own on device 0 that it makes and
// destroys; `state_file` is the library's state file, whose links= line it follows. Leaves no
// link, and the calling thread's current context as it found it.
void link_checks(const char* state_file);
// Stream capture and graphs (selftest_graph.cpp), in a context of its own on device 0 that it
// makes and destroys; `state_file` is the library's state file, whose graphs= and graph_execs=
// lines it follows, and `launch_log` its launch log, whose lines it counts. Leaves no graph, and
// the calling thread's current context as it found it.
void graph_checks(const char* state_file, const char* launch_log);
// Graphs built node by node (selftest_graph_build.cpp): kernel, memset and empty nodes, edges,
// the order they give, node types, refusals; in a context of its own on device 0 that it makes
// and destroys. Leaves no graph, and the calling thread's current context as it found it.
void graph_build_checks();
// Memcpy nodes added by hand (selftest_graph_memcpy.cpp): host buffers read and written at each
// launch, 2D and 3D copies with pitches and offsets, refusals; in a context of its own on device
// 0 that it makes and destroys. Leaves no graph, and the calling thread's current context as it
// found it.
void graph_memcpy_checks();
// Event record and wait nodes added by hand (selftest_graph_event.cpp): the event recorded by
// each launch, the node types, events destroyed before a launch, refusals; in contexts of its
// own on device 0 that it makes and destroys. Leaves no graph, and the calling thread's current
// context as it found it.
void graph_event_checks();
// Host functions (selftest_host_func.cpp): cuLaunchHostFunc in stream order, captured as host
// nodes, cuGraphAddHostNode and its order, refusals, and functions that block while another
// thread makes CUDA calls in the same context (no lock of the fake is held); in a context of its
// own on device 0 that it makes and destroys. Leaves no graph, and the calling thread's current
// context as it found it.
void host_func_checks();
// cuGraphClone, cuGraphHostNodeGetParams and cuGraphMemcpyNodeGetParams
// (selftest_graph_clone.cpp): a hand-built graph cloned, its copy's nodes, edges and results, the
// clone outliving the original, a captured graph and a cyclic one cloned, node parameters read
// back, refusals; `state_file` is the library's state file, whose graphs= line it follows. In
// contexts of its own on device 0 that it makes and destroys. Leaves no graph, and the calling
// thread's current context as it found it.
void graph_clone_checks(const char* state_file);
// Arrays, mipmapped arrays, cuMemcpy3DAsync_v2 with array ends, texture and surface objects
// (selftest_arrays.cpp), resolved from the library at `lib_path`, in contexts of their own on
// device 0 that it makes and destroys. Leaves no array, and the calling thread's current context
// as it found it.
void array_checks(const char* lib_path);
// A graph's structure changed and read, captures that name their graph, graph memory,
// conditional nodes and user objects (selftest_graph_structure.cpp), resolved from the library at
// `lib_path`, in a context of its own on device 0 that it makes and destroys. Leaves no graph,
// and the calling thread's current context as it found it.
void graph_structure_checks(const char* lib_path);
// A kernel node of f with these arguments and one thread, after deps[0..n), checked to be made
// (selftest_graph_structure.cpp).
CUgraphNode kernel_node(CUgraph g, CUfunction f, void** args, const CUgraphNode* deps = nullptr, size_t n = 0);
// Edge data (selftest_graph_edges.cpp): programmatic and launch-order edges between kernel nodes
// built, listed, cloned and removed, and captured from a launch with programmatic stream
// serialization; resolved from the library at `lib_path`, in a context of its own on device 0
// that it makes and destroys. Leaves no graph, and the calling thread's current context as it
// found it.
void graph_edge_checks(const char* lib_path);
// Legacy IPC and shareable handles (selftest_ipc.cpp), resolved from the library at `lib_path`: a
// forked child opens the calling process's allocation, event and file descriptor and writes into
// them. In a context of its own on device 0 that it makes and destroys; leaves the calling
// thread's current context as it found it.
void ipc_checks(const char* lib_path);
// Graph node parameters read back and set, in graphs and executable graphs, nodes turned off and
// on, kernel node attributes and cuGraphExecUpdate (selftest_graph_update.cpp), resolved from the
// library at `lib_path`, in a context of its own on device 0 that it makes and destroys. Leaves
// no graph, and the calling thread's current context as it found it.
void graph_update_checks(const char* lib_path);
// Host functions and host nodes after a kernel fault: not called (selftest_host_func.cpp). The
// fault poisons the whole process (so it runs in a process of its own: see main).
void host_func_fault_checks();
// Runs a kernel on device 1 that reads device 0 memory without peer access: a fault, which
// poisons the whole process (so it runs in a process of its own: see main).
void peer_fault_checks(bool supported);

}  // namespace vgpu::fake::selftest

#define CHECK(cond) ::vgpu::fake::selftest::check((cond), #cond, __LINE__)
#define EXPECT_RC(call, want) ::vgpu::fake::selftest::check_rc((call), (want), #call, __LINE__)
#define OK(call) ::vgpu::fake::selftest::check_rc((call), CUDA_SUCCESS, #call, __LINE__)
