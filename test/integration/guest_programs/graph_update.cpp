// Graph node parameters through vgpu's libcuda.so.1 and a real vgpud (fake driver): a graph built
// node by node read back as it was set; one executable graph replayed while its kernel, memset and
// host nodes are set between launches and its kernel node turned off and on; the graph's own
// nodes set (a later instantiation sees them, the earlier one does not); kernel node attributes;
// the generic setters; what is refused, before or at vgpud.
#include <cuda.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <vector>

#include "guest_check.h"

namespace {

const char kImage[] =
    "FAKECUBIN 1\n"
    "kernel fake_fill_u32 8,4,8\n";

constexpr size_t kWords = 256;

std::mutex g_mu;
std::vector<int> g_ran;  // what host nodes ran, in order: tag * 1000 + their value
void CUDA_CB note_a(void* p) {
  std::lock_guard lock(g_mu);
  g_ran.push_back(1000 + *static_cast<int*>(p));
}
void CUDA_CB note_b(void* p) {
  std::lock_guard lock(g_mu);
  g_ran.push_back(2000 + *static_cast<int*>(p));
}

struct Fill {
  CUdeviceptr p;
  uint32_t value;
  unsigned long long count;
  void* args[3] = {&p, &value, &count};
};

CUDA_KERNEL_NODE_PARAMS kernel_params(CUfunction f, Fill& fill) {
  CUDA_KERNEL_NODE_PARAMS k{};
  k.func = f;
  k.gridDimX = k.gridDimY = k.gridDimZ = 1;
  k.blockDimX = 32, k.blockDimY = k.blockDimZ = 1;
  k.kernelParams = fill.args;
  return k;
}

CUDA_MEMSET_NODE_PARAMS memset_params(CUdeviceptr d, uint32_t value) {
  CUDA_MEMSET_NODE_PARAMS m{};
  m.dst = d;
  m.value = value;
  m.elementSize = 4;
  m.width = kWords;
  m.height = 1;
  return m;
}

// What one launch left: its first half filled, its second half the memset's value.
bool halves(const uint32_t* out, uint32_t first, uint32_t second) {
  for (size_t i = 0; i < kWords; ++i)
    if (out[i] != (i < kWords / 2 ? first : second)) return false;
  return true;
}

void run(CUgraphExec exec, CUstream s) {
  CU_CHECK(cuGraphLaunch(exec, s));
  CU_CHECK(cuStreamSynchronize(s));
}

void attributes(CUgraphNode kernel, CUfunction f, CUdeviceptr d) {
  CUkernelNodeAttrValue v{};
  v.priority = 3;
  CU_CHECK(cuGraphKernelNodeSetAttribute(kernel, CU_LAUNCH_ATTRIBUTE_PRIORITY, &v));
  v.cooperative = 1;
  CU_CHECK(cuGraphKernelNodeSetAttribute(kernel, CU_LAUNCH_ATTRIBUTE_COOPERATIVE, &v));
  v = CUkernelNodeAttrValue{};
  v.clusterDim.x = v.clusterDim.y = v.clusterDim.z = 1;
  CU_CHECK(cuGraphKernelNodeSetAttribute(kernel, CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION, &v));
  v = CUkernelNodeAttrValue{};
  v.accessPolicyWindow.base_ptr = reinterpret_cast<void*>(d);
  v.accessPolicyWindow.num_bytes = 4096;
  v.accessPolicyWindow.hitRatio = 0.5f;
  v.accessPolicyWindow.hitProp = CU_ACCESS_PROPERTY_PERSISTING;
  CU_CHECK(cuGraphKernelNodeSetAttribute(kernel, CU_LAUNCH_ATTRIBUTE_ACCESS_POLICY_WINDOW, &v));
  // Read back: the first three from vgpud's driver, the window as set.
  auto get = [&](CUgraphNode n, CUkernelNodeAttrID id) {
    CUkernelNodeAttrValue out{};
    CU_CHECK(cuGraphKernelNodeGetAttribute(n, id, &out));
    return out;
  };
  EXPECT(get(kernel, CU_LAUNCH_ATTRIBUTE_PRIORITY).priority == 3);
  EXPECT(get(kernel, CU_LAUNCH_ATTRIBUTE_COOPERATIVE).cooperative == 1);
  EXPECT(get(kernel, CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION).clusterDim.z == 1);
  const CUaccessPolicyWindow w = get(kernel, CU_LAUNCH_ATTRIBUTE_ACCESS_POLICY_WINDOW).accessPolicyWindow;
  EXPECT(w.base_ptr == reinterpret_cast<void*>(d) && w.num_bytes == 4096 && w.hitRatio == 0.5f);
  // Copied onto a kernel node of another graph, all of them.
  Fill other{d, 1, 1};
  const CUDA_KERNEL_NODE_PARAMS k = kernel_params(f, other);
  CUgraph elsewhere;
  CU_CHECK(cuGraphCreate(&elsewhere, 0));
  CUgraphNode copy;
  CU_CHECK(cuGraphAddKernelNode(&copy, elsewhere, nullptr, 0, &k));
  EXPECT(get(copy, CU_LAUNCH_ATTRIBUTE_PRIORITY).priority == 0);
  CU_CHECK(cuGraphKernelNodeCopyAttributes(copy, kernel));
  EXPECT(get(copy, CU_LAUNCH_ATTRIBUTE_PRIORITY).priority == 3);
  EXPECT(get(copy, CU_LAUNCH_ATTRIBUTE_ACCESS_POLICY_WINDOW).accessPolicyWindow.num_bytes == 4096);
  // Setting parameters keeps attributes; attributes vgpu does not offer are said so.
  CU_CHECK(cuGraphKernelNodeSetParams(copy, &k));
  EXPECT(get(copy, CU_LAUNCH_ATTRIBUTE_PRIORITY).priority == 3);
  EXPECT_RC(cuGraphKernelNodeSetAttribute(copy, CU_LAUNCH_ATTRIBUTE_MEM_SYNC_DOMAIN, &v), CUDA_ERROR_NOT_SUPPORTED);
  CU_CHECK(cuGraphDestroy(elsewhere));
  // Back as they were, so the graph's replays are ordinary.
  v = CUkernelNodeAttrValue{};
  CU_CHECK(cuGraphKernelNodeSetAttribute(kernel, CU_LAUNCH_ATTRIBUTE_COOPERATIVE, &v));
}

}  // namespace

int main() {
  CU_CHECK(cuInit(0));
  CUcontext ctx;
  CU_CHECK(cuDevicePrimaryCtxRetain(&ctx, 0));
  CU_CHECK(cuCtxSetCurrent(ctx));
  CUmodule module;
  CU_CHECK(cuModuleLoadData(&module, kImage));
  CUfunction fill;
  CU_CHECK(cuModuleGetFunction(&fill, module, "fake_fill_u32"));
  CUstream s;
  CU_CHECK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
  CUdeviceptr d;
  CU_CHECK(cuMemAlloc(&d, kWords * 4));
  uint32_t* out = nullptr;
  CU_CHECK(cuMemAllocHost(reinterpret_cast<void**>(&out), kWords * 4));

  // memset -> fill half -> copy into page-locked memory -> host node
  CUgraph graph;
  CU_CHECK(cuGraphCreate(&graph, 0));
  Fill first{d, 1, kWords / 2};
  const CUDA_KERNEL_NODE_PARAMS k = kernel_params(fill, first);
  const CUDA_MEMSET_NODE_PARAMS m = memset_params(d, 7);
  CUDA_MEMCPY3D c{};
  c.srcMemoryType = CU_MEMORYTYPE_DEVICE, c.srcDevice = d;
  c.dstMemoryType = CU_MEMORYTYPE_HOST, c.dstHost = out;
  c.WidthInBytes = kWords * 4, c.Height = c.Depth = 1;
  int tag = 7;
  const CUDA_HOST_NODE_PARAMS h{note_a, &tag};
  CUgraphNode set, kernel, copy, host;
  CU_CHECK(cuGraphAddMemsetNode(&set, graph, nullptr, 0, &m, ctx));
  CU_CHECK(cuGraphAddKernelNode(&kernel, graph, &set, 1, &k));
  CU_CHECK(cuGraphAddMemcpyNode(&copy, graph, &kernel, 1, &c, ctx));
  CU_CHECK(cuGraphAddHostNode(&host, graph, &copy, 1, &h));

  // Read back as set: the program's own handle, pointers and values.
  first.value = 999;  // the node holds copies of the arguments
  CUDA_KERNEL_NODE_PARAMS kg{};
  CU_CHECK(cuGraphKernelNodeGetParams(kernel, &kg));
  EXPECT(kg.func == fill && kg.blockDimX == 32 && kg.gridDimY == 1 && kg.kernelParams != nullptr);
  EXPECT(*static_cast<CUdeviceptr*>(kg.kernelParams[0]) == d && *static_cast<uint32_t*>(kg.kernelParams[1]) == 1 &&
         *static_cast<unsigned long long*>(kg.kernelParams[2]) == kWords / 2);
  CUDA_MEMSET_NODE_PARAMS mg{};
  CU_CHECK(cuGraphMemsetNodeGetParams(set, &mg));
  EXPECT(mg.dst == d && mg.value == 7 && mg.elementSize == 4 && mg.width == kWords && mg.height == 1);
  CUDA_MEMCPY3D cg{};
  CU_CHECK(cuGraphMemcpyNodeGetParams(copy, &cg));
  EXPECT(cg.srcDevice == d && cg.dstHost == out && cg.dstMemoryType == CU_MEMORYTYPE_HOST &&
         cg.WidthInBytes == kWords * 4);
  CUDA_HOST_NODE_PARAMS hg{};
  CU_CHECK(cuGraphHostNodeGetParams(host, &hg));
  EXPECT(hg.fn == note_a && hg.userData == &tag);
  CUevent none = nullptr;
  EXPECT_RC(cuGraphEventRecordNodeGetEvent(kernel, &none), CUDA_ERROR_INVALID_VALUE);
  attributes(kernel, fill, d);

  CUgraphExec exec;
  CU_CHECK(cuGraphInstantiate(&exec, graph, 0));
  cuuint64_t flags = 9;
  CU_CHECK(cuGraphExecGetFlags(exec, &flags));
  EXPECT(flags == 0);
  run(exec, s);
  EXPECT(halves(out, 1, 7));

  // Replays, the executable graph's nodes set before each.
  int data[2] = {0, 0};
  for (int i = 0; i < 6; ++i) {
    Fill f{d, 100u + static_cast<uint32_t>(i), i % 2 == 0 ? kWords / 2 : kWords / 4};
    const CUDA_KERNEL_NODE_PARAMS ki = kernel_params(fill, f);
    CU_CHECK(cuGraphExecKernelNodeSetParams(exec, kernel, &ki));
    const CUDA_MEMSET_NODE_PARAMS mi = memset_params(d, static_cast<uint32_t>(i));
    CU_CHECK(cuGraphExecMemsetNodeSetParams(exec, set, &mi, ctx));
    data[i % 2] = i;
    const CUDA_HOST_NODE_PARAMS hi{i % 2 == 0 ? note_a : note_b, &data[i % 2]};
    CU_CHECK(cuGraphExecHostNodeSetParams(exec, host, &hi));
    run(exec, s);
    for (size_t w = 0; w < kWords; ++w) EXPECT(out[w] == (w < f.count ? f.value : static_cast<uint32_t>(i)));
  }
  // The graph's own nodes did not change.
  CU_CHECK(cuGraphKernelNodeGetParams(kernel, &kg));
  EXPECT(*static_cast<uint32_t*>(kg.kernelParams[1]) == 1);
  CU_CHECK(cuGraphHostNodeGetParams(host, &hg));
  EXPECT(hg.fn == note_a && hg.userData == &tag);

  // The kernel node off: the copy sees the memset alone; on again.
  unsigned enabled = 9;
  CU_CHECK(cuGraphNodeGetEnabled(exec, kernel, &enabled));
  EXPECT(enabled == 1);
  CU_CHECK(cuGraphNodeSetEnabled(exec, kernel, 0));
  CU_CHECK(cuGraphNodeGetEnabled(exec, kernel, &enabled));
  EXPECT(enabled == 0);
  run(exec, s);
  EXPECT(halves(out, 5, 5));
  CU_CHECK(cuGraphNodeSetEnabled(exec, kernel, 1));
  run(exec, s);
  EXPECT(out[0] == 105 && out[kWords / 4] == 5);

  // The graph's nodes set: a later instantiation runs them, the first keeps its own.
  Fill later{d, 55, kWords / 2};
  const CUDA_KERNEL_NODE_PARAMS kl = kernel_params(fill, later);
  CU_CHECK(cuGraphKernelNodeSetParams(kernel, &kl));
  const CUDA_MEMSET_NODE_PARAMS ml = memset_params(d, 9);
  CU_CHECK(cuGraphMemsetNodeSetParams(set, &ml));
  int tag2 = 8;
  const CUDA_HOST_NODE_PARAMS hl{note_b, &tag2};
  CU_CHECK(cuGraphHostNodeSetParams(host, &hl));
  CU_CHECK(cuGraphKernelNodeGetParams(kernel, &kg));
  EXPECT(*static_cast<uint32_t*>(kg.kernelParams[1]) == 55);
  CU_CHECK(cuGraphHostNodeGetParams(host, &hg));
  EXPECT(hg.fn == note_b && hg.userData == &tag2);
  CUgraphExec second;
  CU_CHECK(cuGraphInstantiateWithFlags(&second, graph, CUDA_GRAPH_INSTANTIATE_FLAG_AUTO_FREE_ON_LAUNCH));
  CU_CHECK(cuGraphExecGetFlags(second, &flags));
  EXPECT(flags == CUDA_GRAPH_INSTANTIATE_FLAG_AUTO_FREE_ON_LAUNCH);
  run(second, s);
  EXPECT(halves(out, 55, 9));
  run(exec, s);
  EXPECT(out[0] == 105 && out[kWords - 1] == 5);
  {
    std::lock_guard lock(g_mu);
    const std::vector<int> want = {1007, 1000, 2001, 1002, 2003, 1004, 2005, 2005, 2005, 2008, 2005};
    EXPECT(g_ran == want);
  }

  // The generic setters are the typed ones.
  CUgraphNodeParams gp{};
  gp.type = CU_GRAPH_NODE_TYPE_KERNEL;
  Fill generic{d, 77, kWords};
  gp.kernel.func = fill;
  gp.kernel.gridDimX = gp.kernel.gridDimY = gp.kernel.gridDimZ = 1;
  gp.kernel.blockDimX = gp.kernel.blockDimY = gp.kernel.blockDimZ = 1;
  gp.kernel.kernelParams = generic.args;
  CU_CHECK(cuGraphExecNodeSetParams(exec, kernel, &gp));
  run(exec, s);
  EXPECT(halves(out, 77, 77));
  CUgraphNodeParams gm{};
  gm.type = CU_GRAPH_NODE_TYPE_MEMSET;
  gm.memset.dst = d, gm.memset.value = 3, gm.memset.elementSize = 4, gm.memset.width = kWords, gm.memset.height = 1;
  CU_CHECK(cuGraphNodeSetParams(set, &gm));
  CU_CHECK(cuGraphMemsetNodeGetParams(set, &mg));
  EXPECT(mg.value == 3);
  EXPECT_RC(cuGraphNodeSetParams(kernel, &gm), CUDA_ERROR_INVALID_VALUE);  // a memset's for a kernel node

  // Refused: a node of another graph, a node of another type, memory not the program's, pageable
  // memory in a memcpy node that has none, an executable graph that is not one.
  CUgraph other;
  CU_CHECK(cuGraphCreate(&other, 0));
  CUgraphNode stranger;
  CU_CHECK(cuGraphAddKernelNode(&stranger, other, nullptr, 0, &k));
  EXPECT_RC(cuGraphExecKernelNodeSetParams(exec, stranger, &k), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(cuGraphNodeSetEnabled(exec, stranger, 0), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(cuGraphExecKernelNodeSetParams(exec, set, &k), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(cuGraphExecMemsetNodeSetParams(exec, kernel, &m, ctx), CUDA_ERROR_INVALID_VALUE);
  const CUDA_MEMSET_NODE_PARAMS outside = memset_params(d + kWords * 4, 1);
  EXPECT_RC(cuGraphExecMemsetNodeSetParams(exec, set, &outside, ctx), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(cuGraphMemsetNodeSetParams(set, &outside), CUDA_ERROR_INVALID_VALUE);
  std::vector<uint32_t> pageable(kWords);
  CUDA_MEMCPY3D pc = c;
  pc.dstHost = pageable.data();
  EXPECT_RC(cuGraphExecMemcpyNodeSetParams(exec, copy, &pc, ctx), CUDA_ERROR_NOT_SUPPORTED);
  EXPECT_RC(cuGraphMemcpyNodeSetParams(copy, &pc), CUDA_ERROR_NOT_SUPPORTED);
  EXPECT_RC(cuGraphExecHostNodeSetParams(reinterpret_cast<CUgraphExec>(graph), host, &h), CUDA_ERROR_INVALID_VALUE);
  const CUDA_HOST_NODE_PARAMS no_fn{nullptr, nullptr};
  EXPECT_RC(cuGraphHostNodeSetParams(host, &no_fn), CUDA_ERROR_INVALID_VALUE);
  // Still as it was set before the refusals.
  run(exec, s);
  EXPECT(halves(out, 77, 77));
  // A memcpy node into another page-locked buffer, through vgpud's heap mapping.
  uint32_t* out2 = nullptr;
  CU_CHECK(cuMemAllocHost(reinterpret_cast<void**>(&out2), kWords * 4));
  CUDA_MEMCPY3D c2 = c;
  c2.dstHost = out2;
  CU_CHECK(cuGraphExecMemcpyNodeSetParams(exec, copy, &c2, ctx));
  run(exec, s);
  EXPECT(out2[0] == 77 && out2[kWords - 1] == 77);

  CU_CHECK(cuGraphDestroy(other));
  CU_CHECK(cuGraphExecDestroy(second));
  CU_CHECK(cuGraphExecDestroy(exec));
  CU_CHECK(cuGraphDestroy(graph));
  CU_CHECK(cuMemFreeHost(out2));
  CU_CHECK(cuMemFreeHost(out));
  CU_CHECK(cuMemFree(d));
  CU_CHECK(cuStreamDestroy(s));
  CU_CHECK(cuModuleUnload(module));
  CU_CHECK(cuDevicePrimaryCtxRelease(0));
  std::printf("graph_update ok\n");
  return 0;
}
