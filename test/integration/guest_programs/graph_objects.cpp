// Graph memory nodes, conditional nodes and user objects through vgpu's libcuda.so.1 and a real
// vgpud (fake driver): allocation and free nodes whose address memset and memcpy nodes use,
// replayed; their parameters read back; graph memory left allocated by a launch, used and freed
// outside; cuMemAllocAsync and cuMemFreeAsync captured as nodes; the device's graph memory
// attributes; an IF and a WHILE node driven by kernels (the fake's stand-ins for
// cudaGraphSetConditional), cuGraphAddNode for other kinds; user objects whose destructor runs in
// this process when the last reference goes. Prints "graph_objects ok".
#include <cuda.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "guest_check.h"

namespace {

const char kImage[] =
    "FAKECUBIN 1\n"
    "kernel fake_fill_u32 8,4,8\n"
    "kernel fake_set_conditional 8,4\n"
    "kernel fake_countdown 8,8\n";

CUfunction g_fill = nullptr, g_set = nullptr, g_countdown = nullptr;

CUgraphNode kernel(CUgraph g, CUfunction f, void** args, std::vector<CUgraphNode> deps = {}) {
  CUDA_KERNEL_NODE_PARAMS k{};
  k.func = f;
  k.gridDimX = k.gridDimY = k.gridDimZ = 1;
  k.blockDimX = k.blockDimY = k.blockDimZ = 1;
  k.kernelParams = args;
  CUgraphNode n = nullptr;
  CU_CHECK(cuGraphAddKernelNode(&n, g, deps.data(), deps.size(), &k));
  return n;
}

uint32_t word(CUdeviceptr p) {
  uint32_t w = 0;
  CU_CHECK(cuMemcpyDtoH(&w, p, sizeof w));
  return w;
}

CUDA_MEM_ALLOC_NODE_PARAMS alloc_params(size_t bytes) {
  CUDA_MEM_ALLOC_NODE_PARAMS p{};
  p.poolProps.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
  p.poolProps.location = {CU_MEM_LOCATION_TYPE_DEVICE, 0};
  p.bytesize = bytes;
  return p;
}

void memory_nodes(CUdeviceptr buf, CUstream s) {
  CUgraph g = nullptr;
  CU_CHECK(cuGraphCreate(&g, 0));
  CUDA_MEM_ALLOC_NODE_PARAMS p = alloc_params(4096);
  CUgraphNode alloc = nullptr, set = nullptr, copy = nullptr, freed = nullptr;
  CU_CHECK(cuGraphAddMemAllocNode(&alloc, g, nullptr, 0, &p));
  EXPECT(p.dptr != 0);
  CUDA_MEMSET_NODE_PARAMS m{};
  m.dst = p.dptr;
  m.value = 0x11;
  m.elementSize = 1;
  m.width = 4096;
  m.height = 1;
  CU_CHECK(cuGraphAddMemsetNode(&set, g, &alloc, 1, &m, nullptr));
  CUDA_MEMCPY3D c{};
  c.srcMemoryType = c.dstMemoryType = CU_MEMORYTYPE_DEVICE;
  c.srcDevice = p.dptr;
  c.dstDevice = buf;
  c.WidthInBytes = 16;
  c.Height = c.Depth = 1;
  CU_CHECK(cuGraphAddMemcpyNode(&copy, g, &set, 1, &c, nullptr));
  CU_CHECK(cuGraphAddMemFreeNode(&freed, g, &copy, 1, p.dptr));
  EXPECT(cuGraphAddMemFreeNode(&freed, g, nullptr, 0, buf) == CUDA_ERROR_INVALID_VALUE);  // not graph memory
  // An allocation made after the free may take its address: the driver sees its dependencies
  // when it makes the node (NVIDIA's graphMemoryNodes sample checks this reuse).
  CUDA_MEM_ALLOC_NODE_PARAMS again = alloc_params(4096);
  CUgraphNode realloc = nullptr;
  CU_CHECK(cuGraphAddMemAllocNode(&realloc, g, &freed, 1, &again));
  EXPECT(again.dptr == p.dptr);
  size_t realloc_deps = 0;
#if CUDA_VERSION >= 13000  // CUDA 13's cuda.h names the edge-data form (_v2) by the plain name
  CU_CHECK(cuGraphNodeGetDependencies(realloc, nullptr, nullptr, &realloc_deps));
#else
  CU_CHECK(cuGraphNodeGetDependencies(realloc, nullptr, &realloc_deps));
#endif
  EXPECT(realloc_deps == 1);
  CUgraphNode realloc_free = nullptr;
  CU_CHECK(cuGraphAddMemFreeNode(&realloc_free, g, &realloc, 1, again.dptr));
  CUDA_MEM_ALLOC_NODE_PARAMS back{};
  CU_CHECK(cuGraphMemAllocNodeGetParams(alloc, &back));
  EXPECT(back.dptr == p.dptr && back.bytesize == 4096 && back.poolProps.location.id == 0);
  CUdeviceptr freed_ptr = 0;
  CU_CHECK(cuGraphMemFreeNodeGetParams(freed, &freed_ptr));
  EXPECT(freed_ptr == p.dptr);
  CUgraphExec exec = nullptr;
  CU_CHECK(cuGraphInstantiate(&exec, g, 0));
  CU_CHECK(cuGraphDestroy(g));  // the executable graph holds the memory
  for (int i = 0; i < 3; ++i) {
    CU_CHECK(cuMemsetD8(buf, 0, 16));
    CU_CHECK(cuGraphLaunch(exec, s));
    CU_CHECK(cuStreamSynchronize(s));
    EXPECT(word(buf) == 0x11111111u);
  }
  cuuint64_t used = 0;
  CU_CHECK(cuDeviceGetGraphMemAttribute(0, CU_GRAPH_MEM_ATTR_USED_MEM_CURRENT, &used));
  EXPECT(used >= 4096);
  cuuint64_t zero = 0, seven = 7;
  CU_CHECK(cuDeviceSetGraphMemAttribute(0, CU_GRAPH_MEM_ATTR_USED_MEM_HIGH, &zero));
  EXPECT(cuDeviceSetGraphMemAttribute(0, CU_GRAPH_MEM_ATTR_USED_MEM_HIGH, &seven) == CUDA_ERROR_INVALID_VALUE);
  EXPECT(cuDeviceGetGraphMemAttribute(9, CU_GRAPH_MEM_ATTR_USED_MEM_CURRENT, &used) == CUDA_ERROR_INVALID_DEVICE);
  CU_CHECK(cuDeviceGraphMemTrim(0));
  CU_CHECK(cuGraphExecDestroy(exec));

  // Not freed in its graph: live after the launch, used and freed outside it.
  CU_CHECK(cuGraphCreate(&g, 0));
  p = alloc_params(256);
  CU_CHECK(cuGraphAddMemAllocNode(&alloc, g, nullptr, 0, &p));
  m.dst = p.dptr;
  m.value = 0x22;
  m.width = 256;
  CU_CHECK(cuGraphAddMemsetNode(&set, g, &alloc, 1, &m, nullptr));
  CU_CHECK(cuGraphInstantiate(&exec, g, 0));
  CU_CHECK(cuGraphLaunch(exec, s));
  CU_CHECK(cuStreamSynchronize(s));
  EXPECT(word(p.dptr) == 0x22222222u);  // a device address to the process
  CU_CHECK(cuMemFree(p.dptr));
  CU_CHECK(cuGraphLaunch(exec, s));      // allocated again by the launch
  CU_CHECK(cuMemFreeAsync(p.dptr, s));   // and freed in stream order
  CU_CHECK(cuStreamSynchronize(s));
  CU_CHECK(cuGraphExecDestroy(exec));
  CU_CHECK(cuGraphDestroy(g));

  // Captured: the allocation and the free are nodes of the graph.
  CU_CHECK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
  CUdeviceptr scratch = 0;
  CU_CHECK(cuMemAllocAsync(&scratch, 512, s));
  CU_CHECK(cuMemsetD8Async(scratch, 0x33, 512, s));
  CU_CHECK(cuMemcpyDtoDAsync(buf, scratch, 16, s));
  CU_CHECK(cuMemFreeAsync(scratch, s));
  CU_CHECK(cuStreamEndCapture(s, &g));
  size_t count = 0;
  CU_CHECK(cuGraphGetNodes(g, nullptr, &count));
  std::vector<CUgraphNode> nodes(count);
  CU_CHECK(cuGraphGetNodes(g, nodes.data(), &count));
  int allocs = 0, frees = 0;
  for (CUgraphNode n : nodes) {
    CUgraphNodeType t;
    CU_CHECK(cuGraphNodeGetType(n, &t));
    if (t == CU_GRAPH_NODE_TYPE_MEM_ALLOC) {
      ++allocs;
      CU_CHECK(cuGraphMemAllocNodeGetParams(n, &back));
      EXPECT(back.dptr == scratch && back.bytesize == 512);
    }
    if (t == CU_GRAPH_NODE_TYPE_MEM_FREE) ++frees;
  }
  EXPECT(count == 4 && allocs == 1 && frees == 1);
  CU_CHECK(cuGraphInstantiate(&exec, g, 0));
  CU_CHECK(cuMemsetD8(buf, 0, 16));
  CU_CHECK(cuGraphLaunch(exec, s));
  CU_CHECK(cuStreamSynchronize(s));
  EXPECT(word(buf) == 0x33333333u);
  CU_CHECK(cuGraphExecDestroy(exec));
  CU_CHECK(cuGraphDestroy(g));
  std::printf("memory nodes ok\n");
}

void conditionals(CUdeviceptr buf, CUstream s) {
  CUgraph g = nullptr;
  CU_CHECK(cuGraphCreate(&g, 0));
  CUgraphConditionalHandle if_handle = 0, while_handle = 0;
  CU_CHECK(cuGraphConditionalHandleCreate(&if_handle, g, nullptr, 0, CU_GRAPH_COND_ASSIGN_DEFAULT));
  CU_CHECK(cuGraphConditionalHandleCreate(&while_handle, g, nullptr, 1, CU_GRAPH_COND_ASSIGN_DEFAULT));
  uint32_t one = 1, seven = 7;
  uint64_t n = 1;
  void* set_args[] = {&if_handle, &one};
  const CUgraphNode setter = kernel(g, g_set, set_args);
  CUgraphNodeParams p{};
  p.type = CU_GRAPH_NODE_TYPE_CONDITIONAL;
  p.conditional.handle = if_handle;
  p.conditional.type = CU_GRAPH_COND_TYPE_IF;
  p.conditional.size = 1;
  CUgraphNode if_node = nullptr;
  CU_CHECK(cuGraphAddNode(&if_node, g, &setter, nullptr, 1, &p));
  EXPECT(p.conditional.phGraph_out != nullptr);
  CUgraph body = p.conditional.phGraph_out[0];
  EXPECT(cuGraphDestroy(body) == CUDA_ERROR_INVALID_VALUE);  // the node owns it
  void* fill_args[] = {&buf, &seven, &n};
  kernel(body, g_fill, fill_args);
  // WHILE: counts down from 4, each round setting the condition to what is left.
  CUdeviceptr counter = buf + 4;
  void* count_args[] = {&counter, &while_handle};
  p.conditional.handle = while_handle;
  p.conditional.type = CU_GRAPH_COND_TYPE_WHILE;
  CUgraphNode while_node = nullptr;
  CU_CHECK(cuGraphAddNode(&while_node, g, &if_node, nullptr, 1, &p));
  kernel(p.conditional.phGraph_out[0], g_countdown, count_args);
  p.conditional.size = 2;
  EXPECT(cuGraphAddNode(&while_node, g, nullptr, nullptr, 0, &p) == CUDA_ERROR_INVALID_VALUE);
  // A handle of another graph is refused; other kinds of node go their own way.
  CUgraph other = nullptr;
  CU_CHECK(cuGraphCreate(&other, 0));
  p.conditional.size = 1;
  EXPECT(cuGraphAddNode(&while_node, other, nullptr, nullptr, 0, &p) == CUDA_ERROR_INVALID_VALUE);
  CUgraphNodeParams e{};
  e.type = CU_GRAPH_NODE_TYPE_EMPTY;
  CUgraphNode empty = nullptr;
  CU_CHECK(cuGraphAddNode(&empty, other, nullptr, nullptr, 0, &e));
  CUgraphNodeType t;
  CU_CHECK(cuGraphNodeGetType(empty, &t));
  EXPECT(t == CU_GRAPH_NODE_TYPE_EMPTY);
  CU_CHECK(cuGraphDestroy(other));
  CU_CHECK(cuMemsetD8(buf, 0, 4));
  const uint32_t four = 4;
  CU_CHECK(cuMemcpyHtoD(counter, &four, 4));
  CUgraphExec exec = nullptr;
  CU_CHECK(cuGraphInstantiate(&exec, g, 0));
  CU_CHECK(cuGraphLaunch(exec, s));
  CU_CHECK(cuStreamSynchronize(s));
  EXPECT(word(buf) == 7 && word(counter) == 0);
  CU_CHECK(cuGraphExecDestroy(exec));
  CU_CHECK(cuGraphDestroy(g));
  std::printf("conditional nodes ok\n");
}

std::atomic<int> g_destroyed{0};
void CUDA_CB destroyed(void* p) { g_destroyed += *static_cast<int*>(p); }

bool destroyed_reaches(int n) {
  for (int i = 0; i < 400 && g_destroyed.load() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return g_destroyed.load() == n;
}

void user_objects() {
  static int weight = 1;
  CUuserObject o = nullptr;
  CU_CHECK(cuUserObjectCreate(&o, &weight, &destroyed, 1, CU_USER_OBJECT_NO_DESTRUCTOR_SYNC));
  EXPECT(cuUserObjectCreate(&o, &weight, &destroyed, 1, 0) == CUDA_ERROR_INVALID_VALUE);
  CU_CHECK(cuUserObjectRetain(o, 2));
  CU_CHECK(cuUserObjectRelease(o, 2));
  EXPECT(cuUserObjectRelease(o, 5) == CUDA_ERROR_INVALID_VALUE);  // more than the program holds
  EXPECT(g_destroyed.load() == 0);
  CU_CHECK(cuUserObjectRelease(o, 1));
  EXPECT(destroyed_reaches(1));
  // Held by a graph (moved from the program), then by its executable graph only.
  CU_CHECK(cuUserObjectCreate(&o, &weight, &destroyed, 1, CU_USER_OBJECT_NO_DESTRUCTOR_SYNC));
  CUgraph g = nullptr;
  CU_CHECK(cuGraphCreate(&g, 0));
  CU_CHECK(cuGraphRetainUserObject(g, o, 1, CU_GRAPH_USER_OBJECT_MOVE));
  EXPECT(cuUserObjectRelease(o, 1) == CUDA_ERROR_INVALID_VALUE);  // the program has none left
  CU_CHECK(cuGraphRetainUserObject(g, o, 2, 0));
  CU_CHECK(cuGraphReleaseUserObject(g, o, 2));
  EXPECT(cuGraphReleaseUserObject(g, o, 2) == CUDA_ERROR_INVALID_VALUE);  // it holds one
  CUgraphNode node = nullptr;
  CU_CHECK(cuGraphAddEmptyNode(&node, g, nullptr, 0));
  CUgraphExec exec = nullptr;
  CU_CHECK(cuGraphInstantiate(&exec, g, 0));
  CU_CHECK(cuGraphDestroy(g));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT(g_destroyed.load() == 1);  // the executable graph holds it
  CU_CHECK(cuGraphExecDestroy(exec));
  EXPECT(destroyed_reaches(2));
  std::printf("user objects ok\n");
}

}  // namespace

int main() {
  CU_CHECK(cuInit(0));
  CUcontext ctx;
  CU_CHECK(cuDevicePrimaryCtxRetain(&ctx, 0));
  CU_CHECK(cuCtxSetCurrent(ctx));
  CUmodule module;
  CU_CHECK(cuModuleLoadData(&module, kImage));
  CU_CHECK(cuModuleGetFunction(&g_fill, module, "fake_fill_u32"));
  CU_CHECK(cuModuleGetFunction(&g_set, module, "fake_set_conditional"));
  CU_CHECK(cuModuleGetFunction(&g_countdown, module, "fake_countdown"));
  CUdeviceptr buf;
  CU_CHECK(cuMemAlloc(&buf, 64));
  CUstream s;
  CU_CHECK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
  memory_nodes(buf, s);
  conditionals(buf, s);
  user_objects();
  CU_CHECK(cuStreamDestroy(s));
  CU_CHECK(cuMemFree(buf));
  std::printf("graph_objects ok\n");
  return 0;
}
