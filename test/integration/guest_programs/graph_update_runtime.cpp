// Graph updates through the runtime shim (libvgpu-cudart over vgpu's libcuda.so.1) and a real
// vgpud (fake driver): a graph built with a kernel named by its host stub read back with that
// stub; an executable graph's kernel, memset, copy and host nodes set between replays, its kernel
// node turned off and on; a captured graph updated from one captured again (cudaGraphExecUpdate),
// its kernel node read back as the stub launched; the generic setter; attributes.
#include <cstdio>
#include <cstring>
#include <vector>

#include "test/integration/guest_programs/fake_module.h"
#include "test/integration/guest_programs/guest_check.h"

namespace {

void fill_stub() {}  // only its address matters, as with nvcc's stubs

constexpr size_t kWords = 64;
std::vector<int> g_ran;
void CUDART_CB note(void* p) { g_ran.push_back(*static_cast<int*>(p)); }

struct Fill {
  uint32_t* p;
  uint32_t value;
  unsigned long long count;
  void* args[3] = {&p, &value, &count};
};

cudaKernelNodeParams kernel(Fill& f) {
  cudaKernelNodeParams k{};
  k.func = reinterpret_cast<void*>(&fill_stub);
  k.gridDim = dim3(1);
  k.blockDim = dim3(32);
  k.kernelParams = f.args;
  return k;
}

cudaMemsetParams memset_of(uint32_t* d, uint32_t value) {
  cudaMemsetParams m{};
  m.dst = d;
  m.value = value;
  m.elementSize = 4;
  m.width = kWords;
  m.height = 1;
  return m;
}

bool halves(const uint32_t* out, uint32_t first, uint32_t second) {
  for (size_t i = 0; i < kWords; ++i)
    if (out[i] != (i < kWords / 2 ? first : second)) return false;
  return true;
}

void run(cudaGraphExec_t exec, cudaStream_t s) {
  CHECK(cudaGraphLaunch(exec, s));
  CHECK(cudaStreamSynchronize(s));
}

cudaGraph_t capture(cudaStream_t s, uint32_t* d, uint32_t* out, uint32_t value, int* data) {
  CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  CHECK(cudaMemsetAsync(d, 0, kWords * 4, s));
  Fill f{d, value, kWords / 2};
  CHECK(cudaLaunchKernel(reinterpret_cast<const void*>(&fill_stub), dim3(1), dim3(32), f.args, 0, s));
  CHECK(cudaMemcpyAsync(out, d, kWords * 4, cudaMemcpyDeviceToHost, s));
  CHECK(cudaLaunchHostFunc(s, note, data));
  cudaGraph_t g;
  CHECK(cudaStreamEndCapture(s, &g));
  return g;
}

}  // namespace

int main() {
  void** handle = guest_test::register_image("FAKECUBIN 1\nkernel fake_fill_u32 8,4,8\n");
  guest_test::register_kernel(handle, reinterpret_cast<const void*>(&fill_stub), "fake_fill_u32");
  __cudaRegisterFatBinaryEnd(handle);
  uint32_t* d = nullptr;
  CHECK(cudaMalloc(reinterpret_cast<void**>(&d), kWords * 4));
  uint32_t* out[2] = {nullptr, nullptr};
  CHECK(cudaMallocHost(reinterpret_cast<void**>(&out[0]), kWords * 4));
  CHECK(cudaMallocHost(reinterpret_cast<void**>(&out[1]), kWords * 4));
  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));

  cudaGraph_t graph;
  CHECK(cudaGraphCreate(&graph, 0));
  Fill f{d, 1, kWords / 2};
  const cudaKernelNodeParams k = kernel(f);
  const cudaMemsetParams m = memset_of(d, 2);
  int tag = 5;
  const cudaHostNodeParams h{note, &tag};
  cudaGraphNode_t set, kern, copy, host;
  CHECK(cudaGraphAddMemsetNode(&set, graph, nullptr, 0, &m));
  CHECK(cudaGraphAddKernelNode(&kern, graph, &set, 1, &k));
  CHECK(cudaGraphAddMemcpyNode1D(&copy, graph, &kern, 1, out[0], d, kWords * 4, cudaMemcpyDeviceToHost));
  CHECK(cudaGraphAddHostNode(&host, graph, &copy, 1, &h));
  // Read back as set: the kernel by its host stub.
  cudaKernelNodeParams kg{};
  CHECK(cudaGraphKernelNodeGetParams(kern, &kg));
  EXPECT(kg.func == reinterpret_cast<void*>(&fill_stub) && kg.blockDim.x == 32 &&
         *static_cast<uint32_t*>(kg.kernelParams[1]) == 1);
  cudaMemcpy3DParms cg{};
  CHECK(cudaGraphMemcpyNodeGetParams(copy, &cg));
  EXPECT(cg.srcPtr.ptr == d && cg.dstPtr.ptr == out[0] && cg.extent.width == kWords * 4 && cg.extent.depth == 1 &&
         cg.kind == cudaMemcpyDeviceToHost);
  cudaMemsetParams mg{};
  CHECK(cudaGraphMemsetNodeGetParams(set, &mg));
  EXPECT(mg.dst == d && mg.value == 2 && mg.width == kWords);
  cudaHostNodeParams hg{};
  CHECK(cudaGraphHostNodeGetParams(host, &hg));
  EXPECT(hg.fn == note && hg.userData == &tag);
  cudaKernelNodeAttrValue attr{};
  attr.priority = 2;
  CHECK(cudaGraphKernelNodeSetAttribute(kern, cudaKernelNodeAttributePriority, &attr));
  attr = cudaKernelNodeAttrValue{};
  CHECK(cudaGraphKernelNodeGetAttribute(kern, cudaKernelNodeAttributePriority, &attr));
  EXPECT(attr.priority == 2);

  cudaGraphExec_t exec;
  CHECK(cudaGraphInstantiate(&exec, graph, 0));
  unsigned long long flags = 7;
  CHECK(cudaGraphExecGetFlags(exec, &flags));
  EXPECT(flags == 0);
  int data[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    Fill fi{d, 10u + static_cast<uint32_t>(i), kWords / 2};
    const cudaKernelNodeParams ki = kernel(fi);
    CHECK(cudaGraphExecKernelNodeSetParams(exec, kern, &ki));
    const cudaMemsetParams mi = memset_of(d, static_cast<uint32_t>(i));
    CHECK(cudaGraphExecMemsetNodeSetParams(exec, set, &mi));
    CHECK(cudaGraphExecMemcpyNodeSetParams1D(exec, copy, out[i % 2], d, kWords * 4, cudaMemcpyDeviceToHost));
    data[i] = 100 + i;
    const cudaHostNodeParams hi{note, &data[i]};
    CHECK(cudaGraphExecHostNodeSetParams(exec, host, &hi));
    run(exec, s);
    EXPECT(halves(out[i % 2], 10u + i, static_cast<uint32_t>(i)));
  }
  CHECK(cudaGraphNodeSetEnabled(exec, kern, 0));
  unsigned enabled = 1;
  CHECK(cudaGraphNodeGetEnabled(exec, kern, &enabled));
  EXPECT(enabled == 0);
  run(exec, s);
  EXPECT(halves(out[0], 2, 2));
  CHECK(cudaGraphNodeSetEnabled(exec, kern, 1));
  // The generic setter: a kernel node's parameters by their type.
  cudaGraphNodeParams gp{};
  gp.type = cudaGraphNodeTypeKernel;
  Fill fg{d, 42, kWords};
  gp.kernel.func = reinterpret_cast<void*>(&fill_stub);
  gp.kernel.gridDim = dim3(1);
  gp.kernel.blockDim = dim3(1);
  gp.kernel.kernelParams = fg.args;
  CHECK(cudaGraphExecNodeSetParams(exec, kern, &gp));
  run(exec, s);
  EXPECT(halves(out[0], 42, 42));
  // A stub nothing registered is no kernel.
  cudaKernelNodeParams bad = k;
  bad.func = reinterpret_cast<void*>(&capture);
  EXPECT(cudaGraphExecKernelNodeSetParams(exec, kern, &bad) == cudaErrorInvalidDeviceFunction);
  EXPECT(cudaGetLastError() == cudaErrorInvalidDeviceFunction);
  CHECK(cudaGraphMemsetNodeSetParams(set, &m));  // the graph's own node, as it was
  CHECK(cudaGraphExecDestroy(exec));
  CHECK(cudaGraphDestroy(graph));

  // A captured graph, updated from one captured again.
  int cap[3] = {7, 8, 9};
  cudaGraph_t first = capture(s, d, out[1], 3, &cap[0]);
  size_t count = 0;
  CHECK(cudaGraphGetNodes(first, nullptr, &count));
  std::vector<cudaGraphNode_t> nodes(count);
  CHECK(cudaGraphGetNodes(first, nodes.data(), &count));
  bool found = false;
  for (cudaGraphNode_t n : nodes) {
    cudaGraphNodeType t;
    CHECK(cudaGraphNodeGetType(n, &t));
    if (t != cudaGraphNodeTypeKernel) continue;
    CHECK(cudaGraphKernelNodeGetParams(n, &kg));
    found = kg.func == reinterpret_cast<void*>(&fill_stub) && *static_cast<uint32_t*>(kg.kernelParams[1]) == 3;
  }
  EXPECT(found);
  CHECK(cudaGraphInstantiate(&exec, first, 0));
  run(exec, s);
  EXPECT(halves(out[1], 3, 0));
  for (int i = 1; i < 3; ++i) {
    cudaGraph_t again = capture(s, d, out[1], 3u + i, &cap[i]);
    cudaGraphExecUpdateResultInfo info{};
    CHECK(cudaGraphExecUpdate(exec, again, &info));
    EXPECT(info.result == cudaGraphExecUpdateSuccess);
    CHECK(cudaGraphDestroy(again));
    run(exec, s);
    EXPECT(halves(out[1], 3u + i, 0));
  }
  CHECK(cudaGraphExecDestroy(exec));
  CHECK(cudaGraphDestroy(first));
  const std::vector<int> want = {100, 101, 102, 102, 102, 7, 8, 9};
  EXPECT(g_ran == want);

  CHECK(cudaFreeHost(out[0]));
  CHECK(cudaFreeHost(out[1]));
  CHECK(cudaFree(d));
  CHECK(cudaStreamDestroy(s));
  std::printf("graph_update_runtime ok\n");
  return 0;
}
