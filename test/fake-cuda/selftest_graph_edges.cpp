// fake-cuda (test double, never ships): self-check of edge data (programmatic dependent launch):
// programmatic and launch-order edges between kernel nodes kept with their data and listed so,
// the lossy query without it, refusals where an end is no kernel, removal by the edge's data;
// a kernel launched with programmatic stream serialization captured after a kernel through a
// programmatic edge. See selftest.cpp.
#include <dlfcn.h>

#include "fake_module.h"
#include "selftest.h"

namespace vgpu::fake::selftest {
namespace {

CUresult (*remove_dependencies)(CUgraph, const CUgraphNode*, const CUgraphNode*, const CUgraphEdgeData*, size_t);

CUgraphEdgeData programmatic(unsigned char port) {
  CUgraphEdgeData e{};
  e.type = CU_GRAPH_DEPENDENCY_TYPE_PROGRAMMATIC;
  e.from_port = port;
  return e;
}

// The graph's one edge and its data; false unless it has exactly one.
bool only_edge(CUgraph g, CUgraphNode* from, CUgraphNode* to, CUgraphEdgeData* data) {
  size_t n = 0;
  OK(api.cuGraphGetEdges_v2(g, nullptr, nullptr, nullptr, &n));
  if (n != 1) return false;
  OK(api.cuGraphGetEdges_v2(g, from, to, data, &n));
  return n == 1;
}

void built(CUfunction fill, void** args) {
  CUgraph g = nullptr;
  OK(api.cuGraphCreate(&g, 0));
  const CUgraphNode a = kernel_node(g, fill, args), b = kernel_node(g, fill, args);
  CUgraphNode e = nullptr;
  OK(api.cuGraphAddEmptyNode(&e, g, nullptr, 0));
  // A programmatic edge into, or a port out of, a node that is no kernel; the programmatic port
  // on a default edge.
  CUgraphEdgeData data = programmatic(CU_GRAPH_KERNEL_NODE_PORT_PROGRAMMATIC);
  EXPECT_RC(api.cuGraphAddDependencies_v2(g, &a, &e, &data, 1), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddDependencies_v2(g, &e, &a, &data, 1), CUDA_ERROR_INVALID_VALUE);
  data.type = CU_GRAPH_DEPENDENCY_TYPE_DEFAULT;
  EXPECT_RC(api.cuGraphAddDependencies_v2(g, &a, &b, &data, 1), CUDA_ERROR_INVALID_VALUE);
  data = programmatic(CU_GRAPH_KERNEL_NODE_PORT_DEFAULT);
  EXPECT_RC(api.cuGraphAddDependencies_v2(g, &a, &b, &data, 1), CUDA_ERROR_INVALID_VALUE);

  // a -> b, programmatic: listed with its data; without the data, a lossy query.
  data = programmatic(CU_GRAPH_KERNEL_NODE_PORT_PROGRAMMATIC);
  OK(api.cuGraphAddDependencies_v2(g, &a, &b, &data, 1));
  CUgraphNode from = nullptr, to = nullptr;
  CUgraphEdgeData listed{};
  CHECK(only_edge(g, &from, &to, &listed));
  CHECK(from == a && to == b && listed.type == CU_GRAPH_DEPENDENCY_TYPE_PROGRAMMATIC &&
        listed.from_port == CU_GRAPH_KERNEL_NODE_PORT_PROGRAMMATIC && listed.to_port == 0);
  size_t n = 1;
  EXPECT_RC(api.cuGraphGetEdges_v2(g, &from, &to, nullptr, &n), CUDA_ERROR_LOSSY_QUERY);
  // It runs: the fake orders the kernels as for a default edge.
  CUgraphExec exec = nullptr;
  OK(api.cuGraphInstantiateWithFlags(&exec, g, 0));
  OK(api.cuGraphLaunch(exec, nullptr));
  OK(api.cuGraphExecDestroy(exec));
  // Removed whatever data is given, as driver 580 removes it: other, the default, its own, none.
  const CUgraphEdgeData order = programmatic(CU_GRAPH_KERNEL_NODE_PORT_LAUNCH_ORDER), plain{};
  for (const CUgraphEdgeData* given : {&order, &plain, static_cast<const CUgraphEdgeData*>(&data),
                                       static_cast<const CUgraphEdgeData*>(nullptr)}) {
    OK(remove_dependencies(g, &a, &b, given, 1));
    OK(api.cuGraphGetEdges_v2(g, nullptr, nullptr, nullptr, &n));
    CHECK(n == 0);
    EXPECT_RC(remove_dependencies(g, &a, &b, given, 1), CUDA_ERROR_INVALID_VALUE);  // gone
    OK(api.cuGraphAddDependencies_v2(g, &a, &b, &data, 1));
  }
  OK(remove_dependencies(g, &a, &b, &data, 1));
  // From the launch-order port: kept so, and a clone keeps it too.
  OK(api.cuGraphAddDependencies_v2(g, &a, &b, &order, 1));
  CUgraph clone = nullptr;
  OK(api.cuGraphClone(&clone, g));
  CHECK(only_edge(clone, &from, &to, &listed));
  CHECK(listed.type == CU_GRAPH_DEPENDENCY_TYPE_PROGRAMMATIC && listed.from_port == CU_GRAPH_KERNEL_NODE_PORT_LAUNCH_ORDER);
  OK(api.cuGraphDestroy(clone));
  OK(api.cuGraphDestroy(g));
}

void captured(CUfunction fill, void** args, CUstream st) {
  CUlaunchAttribute attr{};
  attr.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
  attr.value.programmaticStreamSerializationAllowed = 1;
  CUlaunchConfig config{};
  config.gridDimX = config.gridDimY = config.gridDimZ = 1;
  config.blockDimX = config.blockDimY = config.blockDimZ = 1;
  config.hStream = st;
  config.attrs = &attr;
  config.numAttrs = 1;
  OK(api.cuLaunchKernelEx(&config, fill, args, nullptr));  // runs, outside a capture
  OK(api.cuStreamBeginCapture_v2(st, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
  OK(api.cuLaunchKernel(fill, 1, 1, 1, 1, 1, 1, 0, st, args, nullptr));
  OK(api.cuLaunchKernelEx(&config, fill, args, nullptr));
  CUgraph g = nullptr;
  OK(api.cuStreamEndCapture(st, &g));
  CUgraphNode from = nullptr, to = nullptr;
  CUgraphEdgeData listed{};
  CHECK(only_edge(g, &from, &to, &listed));
  CHECK(listed.type == CU_GRAPH_DEPENDENCY_TYPE_PROGRAMMATIC && listed.from_port == CU_GRAPH_KERNEL_NODE_PORT_PROGRAMMATIC);
  OK(api.cuGraphDestroy(g));
  // Without the attribute, a default edge.
  config.numAttrs = 0;
  OK(api.cuStreamBeginCapture_v2(st, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
  OK(api.cuLaunchKernel(fill, 1, 1, 1, 1, 1, 1, 0, st, args, nullptr));
  OK(api.cuLaunchKernelEx(&config, fill, args, nullptr));
  OK(api.cuStreamEndCapture(st, &g));
  CHECK(only_edge(g, &from, &to, &listed));
  CHECK(listed.type == CU_GRAPH_DEPENDENCY_TYPE_DEFAULT && listed.from_port == 0);
  OK(api.cuGraphDestroy(g));
}

}  // namespace

void graph_edge_checks(const char* lib_path) {
  void* lib = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
  CHECK(lib != nullptr);
  if (lib == nullptr) return;
  *reinterpret_cast<void**>(&remove_dependencies) = dlsym(lib, "cuGraphRemoveDependencies_v2");
  CHECK(remove_dependencies != nullptr);
  if (remove_dependencies == nullptr) return;
  CUcontext prev = nullptr, ctx = nullptr;
  OK(api.cuCtxGetCurrent(&prev));
  OK(api.cuCtxCreate_v2(&ctx, 0, 0));
  const std::string image = module_image({"kernel fake_fill_u32 8,4,8"});
  CUmodule mod = nullptr;
  OK(api.cuModuleLoadData(&mod, image.c_str()));
  CUfunction fill = nullptr;
  OK(api.cuModuleGetFunction(&fill, mod, "fake_fill_u32"));
  CUstream st = nullptr;
  OK(api.cuStreamCreateWithPriority(&st, CU_STREAM_NON_BLOCKING, 0));
  CUdeviceptr buf = 0;
  OK(api.cuMemAlloc_v2(&buf, 64));
  uint32_t value = 7;
  uint64_t count = 4;
  void* args[] = {&buf, &value, &count};

  built(fill, args);
  captured(fill, args, st);

  OK(api.cuMemFree_v2(buf));
  OK(api.cuModuleUnload(mod));
  OK(api.cuStreamDestroy_v2(st));
  OK(api.cuCtxDestroy_v2(ctx));
  OK(api.cuCtxSetCurrent(prev));
}

}  // namespace vgpu::fake::selftest
