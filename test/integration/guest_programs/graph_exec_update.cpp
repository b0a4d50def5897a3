// cuGraphExecUpdate through vgpu's libcuda.so.1 and a real vgpud (fake driver): a captured graph
// instantiated once and updated from graphs captured again with other values, its host functions
// the guest's own; updates refused for another shape, the node that differs named by the
// program's handle; a captured graph's nodes read back and set; an executable graph's child graph
// and event nodes set.
#include <cuda.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <vector>

#include "guest_check.h"

// cuda.h names cuGraphExecUpdate_v2 cuGraphExecUpdate; CUDA 11's entry point keeps the name.
#undef cuGraphExecUpdate
extern "C" CUresult CUDAAPI cuGraphExecUpdate(CUgraphExec, CUgraph, CUgraphNode*, CUgraphExecUpdateResult*);

namespace {

const char kImage[] =
    "FAKECUBIN 1\n"
    "kernel fake_fill_u32 8,4,8\n";

constexpr size_t kWords = 64;

std::mutex g_mu;
std::vector<int> g_ran;
void CUDA_CB note(void* p) {
  std::lock_guard lock(g_mu);
  g_ran.push_back(*static_cast<int*>(p));
}

CUfunction g_fill = nullptr;

// memset(fill_value) -> fill the first half with `value` -> copy into `out` -> note(data); with
// `extra`, a second fill (another shape), with `as_copy` a copy where the fill was (another type).
CUgraph capture(CUstream s, CUdeviceptr d, uint32_t* out, uint32_t fill_value, uint32_t value, int* data,
                bool extra = false, bool as_copy = false) {
  CU_CHECK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
  CU_CHECK(cuMemsetD32Async(d, fill_value, kWords, s));
  unsigned long long count = kWords / 2;
  void* args[] = {&d, &value, &count};
  if (as_copy)
    CU_CHECK(cuMemcpyDtoDAsync(d, d + kWords * 2, 8, s));
  else
    CU_CHECK(cuLaunchKernel(g_fill, 1, 1, 1, 32, 1, 1, 0, s, args, nullptr));
  if (extra) CU_CHECK(cuLaunchKernel(g_fill, 1, 1, 1, 32, 1, 1, 0, s, args, nullptr));
  CU_CHECK(cuMemcpyDtoHAsync(out, d, kWords * 4, s));
  CU_CHECK(cuLaunchHostFunc(s, note, data));
  CUgraph g = nullptr;
  CU_CHECK(cuStreamEndCapture(s, &g));
  return g;
}

bool halves(const uint32_t* out, uint32_t first, uint32_t second) {
  for (size_t i = 0; i < kWords; ++i)
    if (out[i] != (i < kWords / 2 ? first : second)) return false;
  return true;
}

std::vector<CUgraphNode> nodes_of(CUgraph g) {
  size_t count = 0;
  CU_CHECK(cuGraphGetNodes(g, nullptr, &count));
  std::vector<CUgraphNode> nodes(count);
  CU_CHECK(cuGraphGetNodes(g, nodes.data(), &count));
  return nodes;
}

CUgraphNode of_type(CUgraph g, CUgraphNodeType want) {
  for (CUgraphNode n : nodes_of(g)) {
    CUgraphNodeType t;
    CU_CHECK(cuGraphNodeGetType(n, &t));
    if (t == want) return n;
  }
  return nullptr;
}

void run(CUgraphExec exec, CUstream s) {
  CU_CHECK(cuGraphLaunch(exec, s));
  CU_CHECK(cuStreamSynchronize(s));
}

void captured_updates(CUdeviceptr d, uint32_t* out, CUstream s) {
  int data[8] = {10, 11, 12, 13, 14, 15, 16, 17};
  CUgraph first = capture(s, d, out, 1, 2, &data[0]);
  // A captured graph's nodes read back: what the program launched, with its own handles.
  CUgraphNode kernel = of_type(first, CU_GRAPH_NODE_TYPE_KERNEL), host = of_type(first, CU_GRAPH_NODE_TYPE_HOST);
  CUgraphNode set = of_type(first, CU_GRAPH_NODE_TYPE_MEMSET), copy = of_type(first, CU_GRAPH_NODE_TYPE_MEMCPY);
  EXPECT(kernel != nullptr && host != nullptr && set != nullptr && copy != nullptr);
  CUDA_KERNEL_NODE_PARAMS k{};
  CU_CHECK(cuGraphKernelNodeGetParams(kernel, &k));
  EXPECT(k.func == g_fill && k.blockDimX == 32 && *static_cast<uint32_t*>(k.kernelParams[1]) == 2 &&
         *static_cast<CUdeviceptr*>(k.kernelParams[0]) == d);
  CUDA_HOST_NODE_PARAMS h{};
  CU_CHECK(cuGraphHostNodeGetParams(host, &h));
  EXPECT(h.fn == note && h.userData == &data[0]);
  CUDA_MEMSET_NODE_PARAMS m{};
  CU_CHECK(cuGraphMemsetNodeGetParams(set, &m));
  EXPECT(m.dst == d && m.value == 1 && m.elementSize == 4 && m.width == kWords);
  CUDA_MEMCPY3D c{};
  CU_CHECK(cuGraphMemcpyNodeGetParams(copy, &c));
  EXPECT(c.dstMemoryType == CU_MEMORYTYPE_HOST && c.dstHost == out && c.srcDevice == d && c.WidthInBytes == kWords * 4);
  // Set in the captured graph itself: an instantiation runs it.
  uint32_t three = 3;
  void* args[] = {&d, &three, k.kernelParams[2]};
  k.kernelParams = args;
  CU_CHECK(cuGraphKernelNodeSetParams(kernel, &k));

  CUgraphExec exec;
  CU_CHECK(cuGraphInstantiate(&exec, first, 0));
  CU_CHECK(cuGraphDestroy(first));  // its host function stays with the executable graph
  run(exec, s);
  EXPECT(halves(out, 3, 1));

  // Updated from graphs captured again, each destroyed at once.
  for (int i = 1; i < 5; ++i) {
    CUgraph again = capture(s, d, out, 10u + i, 20u + i, &data[i]);
    CUgraphExecUpdateResultInfo info{};
    info.result = CU_GRAPH_EXEC_UPDATE_ERROR;
    CU_CHECK(cuGraphExecUpdate_v2(exec, again, &info));
    EXPECT(info.result == CU_GRAPH_EXEC_UPDATE_SUCCESS && info.errorNode == nullptr);
    CU_CHECK(cuGraphDestroy(again));
    run(exec, s);
    EXPECT(halves(out, 20u + i, 10u + i));
  }
  {
    std::lock_guard lock(g_mu);
    EXPECT((g_ran == std::vector<int>{10, 11, 12, 13, 14}));
  }

  // Another shape: one node more, no node named; another type: the node of the new graph.
  CUgraph bigger = capture(s, d, out, 1, 1, &data[5], /*extra=*/true);
  CUgraphExecUpdateResultInfo info{};
  EXPECT_RC(cuGraphExecUpdate_v2(exec, bigger, &info), CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE);
  EXPECT(info.result == CU_GRAPH_EXEC_UPDATE_ERROR_TOPOLOGY_CHANGED && info.errorNode == nullptr);
  CUgraph retyped = capture(s, d, out, 1, 1, &data[6], false, /*as_copy=*/true);
  EXPECT_RC(cuGraphExecUpdate_v2(exec, retyped, &info), CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE);
  EXPECT(info.result == CU_GRAPH_EXEC_UPDATE_ERROR_NODE_TYPE_CHANGED && info.errorNode != nullptr);
  const std::vector<CUgraphNode> retyped_nodes = nodes_of(retyped);
  EXPECT(std::find(retyped_nodes.begin(), retyped_nodes.end(), info.errorNode) != retyped_nodes.end());
  CUgraphNodeType t;
  CU_CHECK(cuGraphNodeGetType(info.errorNode, &t));
  EXPECT(t == CU_GRAPH_NODE_TYPE_MEMCPY);
  // CUDA 11's form says the same.
  CUgraphNode error_node = nullptr;
  CUgraphExecUpdateResult result = CU_GRAPH_EXEC_UPDATE_SUCCESS;
  EXPECT_RC(cuGraphExecUpdate(exec, retyped, &error_node, &result), CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE);
  EXPECT(result == CU_GRAPH_EXEC_UPDATE_ERROR_NODE_TYPE_CHANGED && error_node == info.errorNode);
  EXPECT_RC(cuGraphExecUpdate_v2(exec, reinterpret_cast<CUgraph>(exec), &info), CUDA_ERROR_INVALID_VALUE);
  // The executable graph is unchanged by what was refused.
  run(exec, s);
  EXPECT(halves(out, 24, 14));
  CU_CHECK(cuGraphDestroy(bigger));
  CU_CHECK(cuGraphDestroy(retyped));
  CU_CHECK(cuGraphExecDestroy(exec));
}

// A parent graph: memset -> child graph (a fill) -> event record -> copy into `out`.
void child_and_event(CUdeviceptr d, uint32_t* out, CUstream s) {
  auto child_of = [&](uint32_t value) {
    CUgraph child;
    CU_CHECK(cuGraphCreate(&child, 0));
    unsigned long long count = kWords / 2;
    void* args[] = {&d, &value, &count};
    CUDA_KERNEL_NODE_PARAMS k{};
    k.func = g_fill;
    k.gridDimX = k.gridDimY = k.gridDimZ = 1;
    k.blockDimX = 32, k.blockDimY = k.blockDimZ = 1;
    k.kernelParams = args;
    CUgraphNode n;
    CU_CHECK(cuGraphAddKernelNode(&n, child, nullptr, 0, &k));
    return child;
  };
  CUgraph parent, child = child_of(5);
  CU_CHECK(cuGraphCreate(&parent, 0));
  CUDA_MEMSET_NODE_PARAMS m{};
  m.dst = d, m.value = 4, m.elementSize = 4, m.width = kWords, m.height = 1;
  CUevent e1, e2, start;
  CU_CHECK(cuEventCreate(&e1, 0));
  CU_CHECK(cuEventCreate(&e2, 0));
  CU_CHECK(cuEventCreate(&start, 0));
  CUDA_MEMCPY3D c{};
  c.srcMemoryType = CU_MEMORYTYPE_DEVICE, c.srcDevice = d;
  c.dstMemoryType = CU_MEMORYTYPE_HOST, c.dstHost = out;
  c.WidthInBytes = kWords * 4, c.Height = c.Depth = 1;
  CUgraphNode set, sub, record, copy;
  CU_CHECK(cuGraphAddMemsetNode(&set, parent, nullptr, 0, &m, nullptr));
  CU_CHECK(cuGraphAddChildGraphNode(&sub, parent, &set, 1, child));
  CU_CHECK(cuGraphAddEventRecordNode(&record, parent, &sub, 1, e1));
  CU_CHECK(cuGraphAddMemcpyNode(&copy, parent, &record, 1, &c, nullptr));
  CUevent got = nullptr;
  CU_CHECK(cuGraphEventRecordNodeGetEvent(record, &got));
  EXPECT(got == e1);
  CUgraphExec exec;
  CU_CHECK(cuGraphInstantiate(&exec, parent, 0));
  run(exec, s);
  EXPECT(halves(out, 5, 4));
  // The child node runs another child of the same shape; the record node records e2.
  CUgraph next = child_of(6);
  CU_CHECK(cuGraphExecChildGraphNodeSetParams(exec, sub, next));
  CU_CHECK(cuGraphDestroy(next));
  float ms = 0;
  CU_CHECK(cuEventRecord(start, s));
  EXPECT(cuEventElapsedTime(&ms, start, e2) != CUDA_SUCCESS);  // e2 never recorded yet
  CU_CHECK(cuGraphExecEventRecordNodeSetEvent(exec, record, e2));
  run(exec, s);
  EXPECT(halves(out, 6, 4));
  CU_CHECK(cuEventElapsedTime(&ms, start, e2));
  // A child of another shape is refused by the driver; an event record setter on the child node.
  CUgraph empty;
  CU_CHECK(cuGraphCreate(&empty, 0));
  EXPECT(cuGraphExecChildGraphNodeSetParams(exec, sub, empty) != CUDA_SUCCESS);
  EXPECT_RC(cuGraphExecEventRecordNodeSetEvent(exec, sub, e1), CUDA_ERROR_INVALID_VALUE);
  // The graph's own record node names e2 once set there.
  CU_CHECK(cuGraphEventRecordNodeSetEvent(record, e2));
  CU_CHECK(cuGraphEventRecordNodeGetEvent(record, &got));
  EXPECT(got == e2);
  run(exec, s);
  EXPECT(halves(out, 6, 4));
  CU_CHECK(cuGraphDestroy(empty));
  CU_CHECK(cuGraphExecDestroy(exec));
  CU_CHECK(cuGraphDestroy(parent));
  CU_CHECK(cuGraphDestroy(child));
  CU_CHECK(cuEventDestroy(e1));
  CU_CHECK(cuEventDestroy(e2));
  CU_CHECK(cuEventDestroy(start));
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
  CUstream s;
  CU_CHECK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
  CUdeviceptr d;
  CU_CHECK(cuMemAlloc(&d, kWords * 4 * 2 + 8));
  uint32_t* out = nullptr;
  CU_CHECK(cuMemAllocHost(reinterpret_cast<void**>(&out), kWords * 4));
  captured_updates(d, out, s);
  child_and_event(d, out, s);
  CU_CHECK(cuMemFreeHost(out));
  CU_CHECK(cuMemFree(d));
  CU_CHECK(cuStreamDestroy(s));
  CU_CHECK(cuModuleUnload(module));
  CU_CHECK(cuDevicePrimaryCtxRelease(0));
  std::printf("graph_exec_update ok\n");
  return 0;
}
