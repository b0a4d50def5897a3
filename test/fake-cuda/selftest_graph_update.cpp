// fake-cuda (test double, never ships): self-check of graph updates (graph_update.cpp,
// graph_exec_update.cpp): node parameters read back and set in a graph (an instantiation made
// before keeps its own), an executable graph's nodes set between launches and turned off and on,
// kernel node attributes, cuGraphExecUpdate's pairing and what it refuses. See selftest.cpp.
#include <dlfcn.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fake_module.h"
#include "selftest.h"

namespace vgpu::fake::selftest {
namespace {

struct UpdateApi {
  CUresult (*cuGraphKernelNodeGetParams_v2)(CUgraphNode, CUDA_KERNEL_NODE_PARAMS*);
  CUresult (*cuGraphKernelNodeSetParams_v2)(CUgraphNode, const CUDA_KERNEL_NODE_PARAMS*);
  CUresult (*cuGraphMemsetNodeGetParams)(CUgraphNode, CUDA_MEMSET_NODE_PARAMS*);
  CUresult (*cuGraphMemsetNodeSetParams)(CUgraphNode, const CUDA_MEMSET_NODE_PARAMS*);
  CUresult (*cuGraphMemcpyNodeSetParams)(CUgraphNode, const CUDA_MEMCPY3D*);
  CUresult (*cuGraphHostNodeSetParams)(CUgraphNode, const CUDA_HOST_NODE_PARAMS*);
  CUresult (*cuGraphEventRecordNodeGetEvent)(CUgraphNode, CUevent*);
  CUresult (*cuGraphEventRecordNodeSetEvent)(CUgraphNode, CUevent);
  CUresult (*cuGraphExecKernelNodeSetParams_v2)(CUgraphExec, CUgraphNode, const CUDA_KERNEL_NODE_PARAMS*);
  CUresult (*cuGraphExecMemcpyNodeSetParams)(CUgraphExec, CUgraphNode, const CUDA_MEMCPY3D*, CUcontext);
  CUresult (*cuGraphExecMemsetNodeSetParams)(CUgraphExec, CUgraphNode, const CUDA_MEMSET_NODE_PARAMS*, CUcontext);
  CUresult (*cuGraphExecHostNodeSetParams)(CUgraphExec, CUgraphNode, const CUDA_HOST_NODE_PARAMS*);
  CUresult (*cuGraphExecEventRecordNodeSetEvent)(CUgraphExec, CUgraphNode, CUevent);
  CUresult (*cuGraphNodeSetEnabled)(CUgraphExec, CUgraphNode, unsigned);
  CUresult (*cuGraphNodeGetEnabled)(CUgraphExec, CUgraphNode, unsigned*);
  CUresult (*cuGraphExecUpdate_v2)(CUgraphExec, CUgraph, CUgraphExecUpdateResultInfo*);
  CUresult (*cuGraphKernelNodeGetAttribute)(CUgraphNode, CUkernelNodeAttrID, CUkernelNodeAttrValue*);
  CUresult (*cuGraphKernelNodeSetAttribute)(CUgraphNode, CUkernelNodeAttrID, const CUkernelNodeAttrValue*);
  CUresult (*cuGraphKernelNodeCopyAttributes)(CUgraphNode, CUgraphNode);
};

bool resolve(const char* lib_path, UpdateApi& a) {
  void* lib = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return false;
  bool ok = true;
#define VGPU_UPDATE_API(name) ok = (*reinterpret_cast<void**>(&a.name) = dlsym(lib, #name)) != nullptr && ok;
  VGPU_UPDATE_API(cuGraphKernelNodeGetParams_v2)
  VGPU_UPDATE_API(cuGraphKernelNodeSetParams_v2)
  VGPU_UPDATE_API(cuGraphMemsetNodeGetParams)
  VGPU_UPDATE_API(cuGraphMemsetNodeSetParams)
  VGPU_UPDATE_API(cuGraphMemcpyNodeSetParams)
  VGPU_UPDATE_API(cuGraphHostNodeSetParams)
  VGPU_UPDATE_API(cuGraphEventRecordNodeGetEvent)
  VGPU_UPDATE_API(cuGraphEventRecordNodeSetEvent)
  VGPU_UPDATE_API(cuGraphExecKernelNodeSetParams_v2)
  VGPU_UPDATE_API(cuGraphExecMemcpyNodeSetParams)
  VGPU_UPDATE_API(cuGraphExecMemsetNodeSetParams)
  VGPU_UPDATE_API(cuGraphExecHostNodeSetParams)
  VGPU_UPDATE_API(cuGraphExecEventRecordNodeSetEvent)
  VGPU_UPDATE_API(cuGraphNodeSetEnabled)
  VGPU_UPDATE_API(cuGraphNodeGetEnabled)
  VGPU_UPDATE_API(cuGraphExecUpdate_v2)
  VGPU_UPDATE_API(cuGraphKernelNodeGetAttribute)
  VGPU_UPDATE_API(cuGraphKernelNodeSetAttribute)
  VGPU_UPDATE_API(cuGraphKernelNodeCopyAttributes)
#undef VGPU_UPDATE_API
  return ok;  // the handle stays open: the self-check loaded the library already
}

constexpr size_t kWords = 32;

std::vector<int> g_ran;
void CUDA_CB note(void* p) { g_ran.push_back(*static_cast<int*>(p)); }

struct Fill {
  CUdeviceptr p;
  uint32_t value;
  unsigned long long count;
  void* args[3] = {&p, &value, &count};
  CUDA_KERNEL_NODE_PARAMS params(CUfunction f) {
    CUDA_KERNEL_NODE_PARAMS k{};
    k.func = f;
    k.gridDimX = k.gridDimY = k.gridDimZ = 1;
    k.blockDimX = k.blockDimY = k.blockDimZ = 1;
    k.kernelParams = args;
    return k;
  }
};

CUDA_MEMSET_NODE_PARAMS memset_of(CUdeviceptr d, unsigned value, size_t height = 1) {
  CUDA_MEMSET_NODE_PARAMS m{};
  m.dst = d, m.value = value, m.elementSize = 4, m.width = kWords / height, m.height = height;
  m.pitch = kWords / height * 4;
  return m;
}

CUDA_MEMCPY3D to_host(CUdeviceptr d, void* host) {
  CUDA_MEMCPY3D c{};
  c.srcMemoryType = CU_MEMORYTYPE_DEVICE, c.srcDevice = d;
  c.dstMemoryType = CU_MEMORYTYPE_HOST, c.dstHost = host;
  c.WidthInBytes = kWords * 4, c.Height = c.Depth = 1;
  return c;
}

// memset(7) -> fill first half with 1 -> copy into `out` -> note(&tag); the nodes in that order.
struct Built {
  CUgraph graph;
  CUgraphNode set, kernel, copy, host;
};
Built build(CUfunction f, CUdeviceptr d, uint32_t* out, int* tag, unsigned fill_value = 1) {
  Built b{};
  OK(api.cuGraphCreate(&b.graph, 0));
  Fill fill{d, fill_value, kWords / 2};
  const CUDA_KERNEL_NODE_PARAMS k = fill.params(f);
  const CUDA_MEMSET_NODE_PARAMS m = memset_of(d, 7);
  const CUDA_MEMCPY3D c = to_host(d, out);
  const CUDA_HOST_NODE_PARAMS h{note, tag};
  OK(api.cuGraphAddMemsetNode(&b.set, b.graph, nullptr, 0, &m, nullptr));
  OK(api.cuGraphAddKernelNode_v2(&b.kernel, b.graph, &b.set, 1, &k));
  OK(api.cuGraphAddMemcpyNode(&b.copy, b.graph, &b.kernel, 1, &c, nullptr));
  OK(api.cuGraphAddHostNode(&b.host, b.graph, &b.copy, 1, &h));
  return b;
}

bool halves(const uint32_t* out, uint32_t first, uint32_t second) {
  for (size_t i = 0; i < kWords; ++i)
    if (out[i] != (i < kWords / 2 ? first : second)) return false;
  return true;
}

void launch(CUgraphExec e) {
  OK(api.cuGraphLaunch(e, nullptr));
  OK(api.cuStreamSynchronize(nullptr));
}

}  // namespace

void graph_update_checks(const char* lib_path) {
  UpdateApi u{};
  const bool resolved = resolve(lib_path, u);
  CHECK(resolved);
  if (!resolved) return;
  CUcontext saved = nullptr, ctx = nullptr;
  OK(api.cuCtxGetCurrent(&saved));
  OK(api.cuCtxCreate_v2(&ctx, 0, 0));
  CUmodule module;
  const std::string image = module_image({"kernel fake_fill_u32 8,4,8"});
  OK(api.cuModuleLoadData(&module, image.c_str()));
  CUfunction f;
  OK(api.cuModuleGetFunction(&f, module, "fake_fill_u32"));
  CUdeviceptr d = 0;
  OK(api.cuMemAlloc_v2(&d, kWords * 4));
  std::vector<uint32_t> out(kWords), out2(kWords);
  int tag = 1, tag2 = 2;
  Built b = build(f, d, out.data(), &tag);

  // Read back: the function and a copy of the arguments, the memset as given.
  CUDA_KERNEL_NODE_PARAMS kg{};
  OK(u.cuGraphKernelNodeGetParams_v2(b.kernel, &kg));
  CHECK(kg.func == f && kg.blockDimX == 1 && *static_cast<uint32_t*>(kg.kernelParams[1]) == 1);
  CHECK(*static_cast<unsigned long long*>(kg.kernelParams[2]) == kWords / 2);
  CUDA_MEMSET_NODE_PARAMS mg{};
  OK(u.cuGraphMemsetNodeGetParams(b.set, &mg));
  CHECK(mg.dst == d && mg.value == 7 && mg.elementSize == 4 && mg.width == kWords);
  EXPECT_RC(u.cuGraphKernelNodeGetParams_v2(b.set, &kg), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(u.cuGraphMemsetNodeGetParams(b.kernel, &mg), CUDA_ERROR_INVALID_VALUE);

  CUgraphExec exec;
  OK(api.cuGraphInstantiateWithFlags(&exec, b.graph, 0));
  launch(exec);
  CHECK(halves(out.data(), 1, 7));

  // The graph's nodes set: checked as added; the executable graph made before keeps its own.
  Fill two{d, 2, kWords};
  CUDA_KERNEL_NODE_PARAMS k2 = two.params(f);
  OK(u.cuGraphKernelNodeSetParams_v2(b.kernel, &k2));
  const CUDA_MEMSET_NODE_PARAMS outside = memset_of(d + 4, 1);
  EXPECT_RC(u.cuGraphMemsetNodeSetParams(b.set, &outside), CUDA_ERROR_INVALID_VALUE);
  CUDA_KERNEL_NODE_PARAMS bad = k2;
  bad.blockDimX = 4096;
  EXPECT_RC(u.cuGraphKernelNodeSetParams_v2(b.kernel, &bad), CUDA_ERROR_INVALID_VALUE);
  const CUDA_HOST_NODE_PARAMS no_fn{nullptr, nullptr}, h2{note, &tag2};
  EXPECT_RC(u.cuGraphHostNodeSetParams(b.host, &no_fn), CUDA_ERROR_INVALID_VALUE);
  OK(u.cuGraphHostNodeSetParams(b.host, &h2));
  const CUDA_MEMCPY3D c2 = to_host(d, out2.data());
  OK(u.cuGraphMemcpyNodeSetParams(b.copy, &c2));
  EXPECT_RC(u.cuGraphMemcpyNodeSetParams(b.kernel, &c2), CUDA_ERROR_INVALID_VALUE);
  launch(exec);
  CHECK(halves(out.data(), 1, 7));
  CUgraphExec later;
  OK(api.cuGraphInstantiateWithFlags(&later, b.graph, 0));
  launch(later);
  CHECK(halves(out2.data(), 2, 2));
  CHECK((g_ran == std::vector<int>{1, 1, 2}));

  // The executable graph's nodes set between launches; its kernel node off and on.
  Fill three{d, 3, kWords / 4};
  const CUDA_KERNEL_NODE_PARAMS k3 = three.params(f);
  OK(u.cuGraphExecKernelNodeSetParams_v2(exec, b.kernel, &k3));
  const CUDA_MEMSET_NODE_PARAMS m5 = memset_of(d, 5);
  OK(u.cuGraphExecMemsetNodeSetParams(exec, b.set, &m5, nullptr));
  const CUDA_MEMSET_NODE_PARAMS rows = memset_of(d, 5, 2);  // 2D: the driver updates 1D memsets only
  EXPECT_RC(u.cuGraphExecMemsetNodeSetParams(exec, b.set, &rows, nullptr), CUDA_ERROR_INVALID_VALUE);
  CUDA_MEMCPY3D d2d = c2;
  d2d.dstMemoryType = CU_MEMORYTYPE_DEVICE, d2d.dstHost = nullptr, d2d.dstDevice = d;
  EXPECT_RC(u.cuGraphExecMemcpyNodeSetParams(exec, b.copy, &d2d, nullptr), CUDA_ERROR_INVALID_VALUE);  // a kind
  OK(u.cuGraphExecMemcpyNodeSetParams(exec, b.copy, &c2, nullptr));
  EXPECT_RC(u.cuGraphExecHostNodeSetParams(exec, b.kernel, &h2), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(u.cuGraphExecKernelNodeSetParams_v2(exec, b.host, &k3), CUDA_ERROR_INVALID_VALUE);
  launch(exec);
  for (size_t i = 0; i < kWords; ++i) CHECK(out2[i] == (i < kWords / 4 ? 3u : 5u));
  unsigned enabled = 9;
  OK(u.cuGraphNodeGetEnabled(exec, b.kernel, &enabled));
  CHECK(enabled == 1);
  OK(u.cuGraphNodeSetEnabled(exec, b.kernel, 0));
  OK(u.cuGraphNodeGetEnabled(exec, b.kernel, &enabled));
  CHECK(enabled == 0);
  EXPECT_RC(u.cuGraphNodeSetEnabled(exec, b.host, 0), CUDA_ERROR_INVALID_VALUE);  // kernel, memset, memcpy only
  launch(exec);
  CHECK(halves(out2.data(), 5, 5));
  OK(u.cuGraphNodeSetEnabled(exec, b.kernel, 1));
  launch(exec);
  CHECK(out2[0] == 3);

  // Attributes: kept, read back, copied; setting parameters keeps them.
  CUkernelNodeAttrValue v{};
  v.priority = 4;
  OK(u.cuGraphKernelNodeSetAttribute(b.kernel, CU_LAUNCH_ATTRIBUTE_PRIORITY, &v));
  v.clusterDim.x = 2, v.clusterDim.y = 0, v.clusterDim.z = 1;
  EXPECT_RC(u.cuGraphKernelNodeSetAttribute(b.kernel, CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION, &v),
            CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(u.cuGraphKernelNodeSetAttribute(b.kernel, CU_LAUNCH_ATTRIBUTE_MEM_SYNC_DOMAIN, &v),
            CUDA_ERROR_NOT_SUPPORTED);
  OK(u.cuGraphKernelNodeSetParams_v2(b.kernel, &k2));
  v = CUkernelNodeAttrValue{};
  OK(u.cuGraphKernelNodeGetAttribute(b.kernel, CU_LAUNCH_ATTRIBUTE_PRIORITY, &v));
  CHECK(v.priority == 4);
  Built other = build(f, d, out.data(), &tag);
  OK(u.cuGraphKernelNodeCopyAttributes(other.kernel, b.kernel));
  v = CUkernelNodeAttrValue{};
  OK(u.cuGraphKernelNodeGetAttribute(other.kernel, CU_LAUNCH_ATTRIBUTE_PRIORITY, &v));
  CHECK(v.priority == 4);
  EXPECT_RC(u.cuGraphKernelNodeCopyAttributes(other.set, b.kernel), CUDA_ERROR_INVALID_VALUE);
  // A node of another graph names nothing in this executable graph.
  EXPECT_RC(u.cuGraphExecKernelNodeSetParams_v2(exec, other.kernel, &k3), CUDA_ERROR_INVALID_VALUE);

  // cuGraphExecUpdate from a graph of the same shape: its operations, by position.
  CUgraphExecUpdateResultInfo info{};
  OK(u.cuGraphExecUpdate_v2(exec, other.graph, &info));
  CHECK(info.result == CU_GRAPH_EXEC_UPDATE_SUCCESS);
  launch(exec);
  CHECK(halves(out.data(), 1, 7));
  // Refused: another count (no node named), another type, other edges, another memory kind.
  CUgraph small;
  OK(api.cuGraphCreate(&small, 0));
  CUgraphNode e0;
  OK(api.cuGraphAddEmptyNode(&e0, small, nullptr, 0));
  EXPECT_RC(u.cuGraphExecUpdate_v2(exec, small, &info), CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE);
  CHECK(info.result == CU_GRAPH_EXEC_UPDATE_ERROR_TOPOLOGY_CHANGED && info.errorNode == nullptr);
  CUgraph retyped;
  OK(api.cuGraphCreate(&retyped, 0));
  const CUDA_MEMSET_NODE_PARAMS m = memset_of(d, 7);
  CUgraphNode n[4];
  OK(api.cuGraphAddMemsetNode(&n[0], retyped, nullptr, 0, &m, nullptr));
  OK(api.cuGraphAddMemsetNode(&n[1], retyped, &n[0], 1, &m, nullptr));  // where the kernel was
  const CUDA_MEMCPY3D c = to_host(d, out.data());
  OK(api.cuGraphAddMemcpyNode(&n[2], retyped, &n[1], 1, &c, nullptr));
  const CUDA_HOST_NODE_PARAMS h{note, &tag};
  OK(api.cuGraphAddHostNode(&n[3], retyped, &n[2], 1, &h));
  EXPECT_RC(u.cuGraphExecUpdate_v2(exec, retyped, &info), CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE);
  CHECK(info.result == CU_GRAPH_EXEC_UPDATE_ERROR_NODE_TYPE_CHANGED && info.errorNode == n[1]);
  Built rewired = build(f, d, out.data(), &tag);
  OK(api.cuGraphAddDependencies_v2(rewired.graph, &rewired.set, &rewired.copy, nullptr, 1));
  EXPECT_RC(u.cuGraphExecUpdate_v2(exec, rewired.graph, &info), CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE);
  CHECK(info.result == CU_GRAPH_EXEC_UPDATE_ERROR_TOPOLOGY_CHANGED && info.errorNode == rewired.copy &&
        info.errorFromNode == rewired.set);
  Built d2d_graph = build(f, d, out.data(), &tag);
  OK(u.cuGraphMemcpyNodeSetParams(d2d_graph.copy, &d2d));
  EXPECT_RC(u.cuGraphExecUpdate_v2(exec, d2d_graph.graph, &info), CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE);
  CHECK(info.result == CU_GRAPH_EXEC_UPDATE_ERROR_PARAMETERS_CHANGED && info.errorNode == d2d_graph.copy);
  EXPECT_RC(u.cuGraphExecUpdate_v2(exec, other.graph, nullptr), CUDA_ERROR_INVALID_VALUE);
  // Refusals changed nothing.
  std::fill(out.begin(), out.end(), 0);
  launch(exec);
  CHECK(halves(out.data(), 1, 7));

  // Event record nodes: read back and set, in the graph and in an executable graph.
  CUevent ev1, ev2;
  OK(api.cuEventCreate(&ev1, 0));
  OK(api.cuEventCreate(&ev2, 0));
  CUgraph eg;
  OK(api.cuGraphCreate(&eg, 0));
  CUgraphNode record;
  OK(api.cuGraphAddEventRecordNode(&record, eg, nullptr, 0, ev1));
  CUevent got = nullptr;
  OK(u.cuGraphEventRecordNodeGetEvent(record, &got));
  CHECK(got == ev1);
  CUgraphExec eexec;
  OK(api.cuGraphInstantiateWithFlags(&eexec, eg, 0));
  OK(u.cuGraphExecEventRecordNodeSetEvent(eexec, record, ev2));
  float ms = 0;
  EXPECT_RC(api.cuEventElapsedTime(&ms, ev2, ev2), CUDA_ERROR_INVALID_HANDLE);  // not recorded yet
  launch(eexec);
  OK(api.cuEventElapsedTime(&ms, ev2, ev2));
  OK(u.cuGraphEventRecordNodeSetEvent(record, ev2));
  OK(u.cuGraphEventRecordNodeGetEvent(record, &got));
  CHECK(got == ev2);
  EXPECT_RC(u.cuGraphEventRecordNodeSetEvent(record, nullptr), CUDA_ERROR_INVALID_VALUE);

  for (CUgraphExec e : {exec, later, eexec}) OK(api.cuGraphExecDestroy(e));
  for (CUgraph g : {b.graph, other.graph, small, retyped, rewired.graph, d2d_graph.graph, eg})
    OK(api.cuGraphDestroy(g));
  OK(api.cuEventDestroy_v2(ev1));
  OK(api.cuEventDestroy_v2(ev2));
  OK(api.cuMemFree_v2(d));
  OK(api.cuModuleUnload(module));
  OK(api.cuCtxDestroy_v2(ctx));
  OK(api.cuCtxSetCurrent(saved));
}

}  // namespace vgpu::fake::selftest
