// fake-cuda (test double, never ships): self-check of graphs built node by node
// (cuGraphAddKernelNode_v2 and cuGraphAddKernelNode, cuGraphAddMemsetNode, cuGraphAddEmptyNode,
// cuGraphAddDependencies and _v2, cuGraphNodeGetType) and of the edges a capture leaves in its
// graph. The order a launch runs the nodes in is checked through results: each kernel reads
// what a memset before it wrote. See selftest.cpp.
#include <cstdint>
#include <cstring>
#include <vector>

#include "fake_module.h"
#include "selftest.h"

namespace vgpu::fake::selftest {
namespace {

constexpr int kN = 64;
constexpr size_t kBytes = kN * sizeof(float);

std::vector<float> read_floats(CUdeviceptr p) {
  std::vector<float> v(kN, -1.0f);
  OK(api.cuMemcpyDtoHAsync_v2(v.data(), p, kBytes, nullptr));
  return v;
}

uint32_t read_word(CUdeviceptr p) {
  uint32_t w = 0;
  OK(api.cuMemcpyDtoHAsync_v2(&w, p, sizeof w, nullptr));
  return w;
}

// Whether v[i] == i + add for every i, as fake_vector_add computes it from a[i] = i.
bool sums(const std::vector<float>& v, float add) {
  for (int i = 0; i < kN; ++i) {
    if (v[i] != static_cast<float>(i) + add) return false;
  }
  return true;
}

float float_of(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

CUgraphNodeType type_of(CUgraphNode n) {
  CUgraphNodeType t = CU_GRAPH_NODE_TYPE_HOST;  // no node here is a host node
  OK(api.cuGraphNodeGetType(n, &t));
  return t;
}

size_t node_count(CUgraph g) {
  size_t n = 12345;
  OK(api.cuGraphGetNodes(g, nullptr, &n));
  return n;
}

CUDA_MEMSET_NODE_PARAMS memset_params(CUdeviceptr dst, unsigned value, unsigned elem, size_t width,
                                      size_t height = 1, size_t pitch = 0) {
  CUDA_MEMSET_NODE_PARAMS p{};
  p.dst = dst;
  p.pitch = pitch;
  p.value = value;
  p.elementSize = elem;
  p.width = width;
  p.height = height;
  return p;
}

CUDA_KERNEL_NODE_PARAMS vadd_params(CUfunction f, void** params) {
  CUDA_KERNEL_NODE_PARAMS p{};
  p.func = f;
  p.gridDimX = 2;
  p.gridDimY = p.gridDimZ = 1;
  p.blockDimX = 32;
  p.blockDimY = p.blockDimZ = 1;
  p.kernelParams = params;
  return p;
}

}  // namespace

void graph_build_checks() {
  CUcontext before = nullptr, ctx = nullptr;
  OK(api.cuCtxGetCurrent(&before));
  OK(api.cuCtxCreate_v2(&ctx, 0, 0));
  CUmodule mod = nullptr;
  const std::string image = module_image({"kernel fake_vector_add 8,8,8,4"});
  OK(api.cuModuleLoadData(&mod, image.c_str()));
  CUfunction vadd = nullptr;
  OK(api.cuModuleGetFunction(&vadd, mod, "fake_vector_add"));
  // a[i] = i; M fills b with bytes, K: c = a + b; M2 fills f with 2.0f, K2: g = a + f.
  CUdeviceptr a = 0, b = 0, c = 0, f = 0, g = 0;
  for (CUdeviceptr* p : {&a, &b, &c, &f, &g}) OK(api.cuMemAlloc_v2(p, kBytes));
  std::vector<float> ha(kN);
  for (int i = 0; i < kN; ++i) ha[i] = static_cast<float>(i);
  OK(api.cuMemcpyHtoDAsync_v2(a, ha.data(), kBytes, nullptr));
  CUstream s = nullptr, s2 = nullptr;
  OK(api.cuStreamCreateWithPriority(&s, CU_STREAM_NON_BLOCKING, 0));
  OK(api.cuStreamCreateWithPriority(&s2, CU_STREAM_NON_BLOCKING, 0));

  // ---- build M -> E -> K; then K2, then M2 and the edge M2 -> K2 (a later node first) ----
  CUgraph graph = nullptr;
  OK(api.cuGraphCreate(&graph, 0));
  CUgraphNode m = nullptr, e = nullptr, k = nullptr, k2 = nullptr, m2 = nullptr;
  const CUDA_MEMSET_NODE_PARAMS fill_b = memset_params(b, 0x40, 1, kBytes);
  OK(api.cuGraphAddMemsetNode(&m, graph, nullptr, 0, &fill_b, ctx));
  OK(api.cuGraphAddEmptyNode(&e, graph, &m, 1));
  CUdeviceptr pa = a, pb = b, pc = c;
  int n = kN;
  void* params[] = {&pa, &pb, &pc, &n};
  const CUDA_KERNEL_NODE_PARAMS kp = vadd_params(vadd, params);
  OK(api.cuGraphAddKernelNode_v2(&k, graph, &e, 1, &kp));
  pa = pb = pc = 0;  // the arguments were copied when the node was added
  n = 0;
  // K2 through the first version's parameters and an `extra` buffer.
  struct {
    CUdeviceptr a, b, c;
    int n;
  } buffer{a, f, g, kN};
  size_t buffer_size = sizeof buffer;
  void* extra[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, &buffer, CU_LAUNCH_PARAM_BUFFER_SIZE, &buffer_size,
                   CU_LAUNCH_PARAM_END};
  const CUDA_KERNEL_NODE_PARAMS_v1 kp1{vadd, 2, 1, 1, 32, 1, 1, 0, nullptr, extra};
  OK(api.cuGraphAddKernelNode(&k2, graph, nullptr, 0, &kp1));
  buffer = {};
  const uint32_t two = 0x40000000;  // 2.0f, in 2 rows of kN/2 words
  const CUDA_MEMSET_NODE_PARAMS fill_f = memset_params(f, two, 4, kN / 2, 2, kBytes / 2);
  OK(api.cuGraphAddMemsetNode(&m2, graph, nullptr, 0, &fill_f, nullptr));  // null: the current context
  OK(api.cuGraphAddDependencies(graph, &m2, &k2, 1));

  // ---- the nodes, in the order they were added; their types ----
  CUgraphNode listed[6] = {};
  size_t count = 6;
  OK(api.cuGraphGetNodes(graph, listed, &count));
  CHECK(count == 5 && listed[0] == m && listed[1] == e && listed[2] == k && listed[3] == k2 && listed[4] == m2 &&
        listed[5] == nullptr);
  CHECK(type_of(m) == CU_GRAPH_NODE_TYPE_MEMSET && type_of(e) == CU_GRAPH_NODE_TYPE_EMPTY);
  CHECK(type_of(k) == CU_GRAPH_NODE_TYPE_KERNEL && type_of(k2) == CU_GRAPH_NODE_TYPE_KERNEL);
  CHECK(type_of(m2) == CU_GRAPH_NODE_TYPE_MEMSET);
  CUgraphNodeType t = CU_GRAPH_NODE_TYPE_HOST;
  EXPECT_RC(api.cuGraphNodeGetType(m, nullptr), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphNodeGetType(reinterpret_cast<CUgraphNode>(0x5678), &t), CUDA_ERROR_INVALID_VALUE);

  // ---- refusals, none of which adds anything ----
  CUgraph other = nullptr;
  OK(api.cuGraphCreate(&other, 0));
  CUgraphNode x = nullptr, y = nullptr, w = nullptr, z = nullptr;
  OK(api.cuGraphAddEmptyNode(&x, other, nullptr, 0));
  EXPECT_RC(api.cuGraphAddEmptyNode(nullptr, graph, nullptr, 0), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddEmptyNode(&z, nullptr, nullptr, 0), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddEmptyNode(&z, graph, nullptr, 1), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddEmptyNode(&z, graph, &x, 1), CUDA_ERROR_INVALID_VALUE);  // x is other's
  const CUgraphNode twice[] = {m, m};
  EXPECT_RC(api.cuGraphAddEmptyNode(&z, graph, twice, 2), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddDependencies(graph, &x, &k, 1), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddDependencies(graph, &k, &x, 1), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddDependencies(graph, &m, &e, 1), CUDA_ERROR_INVALID_VALUE);  // exists
  EXPECT_RC(api.cuGraphAddDependencies(graph, nullptr, &k, 1), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddDependencies(nullptr, &m, &k, 1), CUDA_ERROR_INVALID_VALUE);
  OK(api.cuGraphAddDependencies(graph, nullptr, nullptr, 0));
  CUDA_KERNEL_NODE_PARAMS bad = kp;
  bad.gridDimX = 0;
  EXPECT_RC(api.cuGraphAddKernelNode_v2(&z, graph, nullptr, 0, &bad), CUDA_ERROR_INVALID_VALUE);
  bad = kp;
  bad.blockDimX = 2048;
  EXPECT_RC(api.cuGraphAddKernelNode_v2(&z, graph, nullptr, 0, &bad), CUDA_ERROR_INVALID_VALUE);
  bad = kp;
  bad.sharedMemBytes = 64 << 10;  // over the default 48 KiB
  EXPECT_RC(api.cuGraphAddKernelNode_v2(&z, graph, nullptr, 0, &bad), CUDA_ERROR_INVALID_VALUE);
  bad = kp;
  bad.kernelParams = nullptr;  // nor `extra`: no arguments
  EXPECT_RC(api.cuGraphAddKernelNode_v2(&z, graph, nullptr, 0, &bad), CUDA_ERROR_INVALID_VALUE);
  bad = kp;
  bad.func = nullptr;
  EXPECT_RC(api.cuGraphAddKernelNode_v2(&z, graph, nullptr, 0, &bad), CUDA_ERROR_INVALID_VALUE);
  bad.func = reinterpret_cast<CUfunction>(0x5678);
  EXPECT_RC(api.cuGraphAddKernelNode_v2(&z, graph, nullptr, 0, &bad), CUDA_ERROR_INVALID_HANDLE);
  EXPECT_RC(api.cuGraphAddKernelNode_v2(&z, graph, nullptr, 0, nullptr), CUDA_ERROR_INVALID_VALUE);
  std::vector<unsigned char> host(kBytes);
  const CUDA_MEMSET_NODE_PARAMS bad_memsets[] = {
      memset_params(b, 0, 3, 4),                                       // no 3-byte elements
      memset_params(reinterpret_cast<CUdeviceptr>(host.data()), 0, 1, 4),  // not device memory
      memset_params(b, 0, 1, kBytes + 1),                              // past the allocation
      memset_params(b + 2, 0, 4, 4),                                   // not aligned to the element
      memset_params(b, 0, 4, 8, 2, 16),                                // rows that overlap
      memset_params(b, 0, 1, 0),                                       // nothing to write
  };
  for (const CUDA_MEMSET_NODE_PARAMS& p : bad_memsets) {
    EXPECT_RC(api.cuGraphAddMemsetNode(&z, graph, nullptr, 0, &p, ctx), CUDA_ERROR_INVALID_VALUE);
  }
  EXPECT_RC(api.cuGraphAddMemsetNode(&z, graph, nullptr, 0, nullptr, ctx), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddMemsetNode(&z, graph, nullptr, 0, &fill_b, reinterpret_cast<CUcontext>(0x5678)),
            CUDA_ERROR_INVALID_CONTEXT);
  CHECK(node_count(graph) == 5 && node_count(other) == 1);

  // ---- edge data; a list of edges is added whole or not at all ----
  OK(api.cuGraphAddEmptyNode(&y, other, &x, 1));  // x -> y
  OK(api.cuGraphAddEmptyNode(&w, other, nullptr, 0));
  const CUgraphNode from[] = {y, x}, to[] = {w, y};  // y -> w, then x -> y, which exists
  EXPECT_RC(api.cuGraphAddDependencies(other, from, to, 2), CUDA_ERROR_INVALID_VALUE);
  CUgraphEdgeData edge{};
  OK(api.cuGraphAddDependencies_v2(other, &y, &w, &edge, 1));  // y -> w was taken back
  size_t edges = 0;
  OK(api.cuGraphGetEdges_v2(other, nullptr, nullptr, nullptr, &edges));
  CHECK(edges == 2);
  // A programmatic edge, or a kernel's port, between nodes that are no kernels.
  edge.type = CU_GRAPH_DEPENDENCY_TYPE_PROGRAMMATIC;
  edge.from_port = CU_GRAPH_KERNEL_NODE_PORT_PROGRAMMATIC;
  EXPECT_RC(api.cuGraphAddDependencies_v2(other, &x, &w, &edge, 1), CUDA_ERROR_INVALID_VALUE);
  edge = {};
  edge.from_port = CU_GRAPH_KERNEL_NODE_PORT_LAUNCH_ORDER;
  EXPECT_RC(api.cuGraphAddDependencies_v2(other, &x, &w, &edge, 1), CUDA_ERROR_INVALID_VALUE);
  edge = {};
  edge.type = 2;
  EXPECT_RC(api.cuGraphAddDependencies_v2(other, &x, &w, &edge, 1), CUDA_ERROR_INVALID_VALUE);
  edge = {};
  edge.to_port = 1;
  EXPECT_RC(api.cuGraphAddDependencies_v2(other, &x, &w, &edge, 1), CUDA_ERROR_INVALID_VALUE);
  OK(api.cuGraphAddDependencies_v2(other, &x, &w, nullptr, 1));
  // An edge that closes a cycle is taken, as the real driver takes it (whose instantiation
  // then crashes, and the fake's aborts): w -> x closes x -> w -> x.
  OK(api.cuGraphAddDependencies_v2(other, &w, &x, nullptr, 1));
  CUgraphNode tails[4] = {}, heads[4] = {};
  edges = 4;
  OK(api.cuGraphGetEdges_v2(other, tails, heads, nullptr, &edges));
  CHECK(edges == 4);
  bool w_to_x = false;
  for (int i = 0; i < 4; ++i) w_to_x = w_to_x || (tails[i] == w && heads[i] == x);
  CHECK(w_to_x);
  OK(api.cuGraphDestroy(other));
  EXPECT_RC(api.cuGraphNodeGetType(x, &t), CUDA_ERROR_INVALID_VALUE);  // its graph is gone
  EXPECT_RC(api.cuGraphAddEmptyNode(&z, graph, &x, 1), CUDA_ERROR_INVALID_VALUE);

  // ---- launched twice: M2 runs before K2 although added after it ----
  CUgraphExec exec = nullptr;
  OK(api.cuGraphInstantiateWithFlags(&exec, graph, 0));
  const float filled = float_of(0x40404040);  // b's floats once M ran
  for (int round = 0; round < 2; ++round) {
    for (CUdeviceptr p : {b, c, f, g}) OK(api.cuMemsetD8Async(p, 0, kBytes, nullptr));
    OK(api.cuGraphLaunch(exec, s));
    CHECK(sums(read_floats(c), filled));  // M ran before K
    CHECK(sums(read_floats(g), 2.0f));    // M2 before K2
  }

  // ---- what is added after instantiation does not reach the executable graph ----
  CUgraphNode late = nullptr;
  const CUDA_MEMSET_NODE_PARAMS zero_c = memset_params(c, 0, 4, kN);
  OK(api.cuGraphAddMemsetNode(&late, graph, &k, 1, &zero_c, ctx));
  OK(api.cuGraphAddDependencies(graph, &k2, &late, 1));
  OK(api.cuGraphLaunch(exec, s));
  CHECK(sums(read_floats(c), filled));
  CUgraphExec exec2 = nullptr;
  OK(api.cuGraphInstantiateWithFlags(&exec2, graph, 0));
  OK(api.cuGraphLaunch(exec2, s));
  CHECK(read_floats(c) == std::vector<float>(kN, 0.0f));  // the new node ran last
  OK(api.cuGraphExecDestroy(exec2));
  CHECK(node_count(graph) == 6);

  // ---- a graph runs in the context of its nodes ----
  CUcontext ctx2 = nullptr;
  OK(api.cuCtxCreate_v2(&ctx2, 0, 0));  // now current
  EXPECT_RC(api.cuGraphInstantiateWithFlags(&exec2, graph, 0), CUDA_ERROR_INVALID_CONTEXT);
  EXPECT_RC(api.cuGraphAddMemsetNode(&z, graph, nullptr, 0, &fill_b, ctx2), CUDA_ERROR_INVALID_CONTEXT);
  EXPECT_RC(api.cuGraphAddKernelNode_v2(&z, graph, nullptr, 0, &kp), CUDA_ERROR_INVALID_HANDLE);  // ctx's
  OK(api.cuCtxSetCurrent(ctx));
  OK(api.cuCtxDestroy_v2(ctx2));

  // ---- the graph destroyed: the executable graph lives on, the nodes are unknown ----
  OK(api.cuGraphDestroy(graph));
  EXPECT_RC(api.cuGraphNodeGetType(m, &t), CUDA_ERROR_INVALID_VALUE);
  OK(api.cuMemsetD8Async(c, 0, kBytes, nullptr));
  OK(api.cuGraphLaunch(exec, s));
  CHECK(sums(read_floats(c), filled));
  OK(api.cuGraphExecDestroy(exec));

  // ---- a captured graph: each node after its stream's previous one, forks and joins too ----
  CUevent fork = nullptr, join = nullptr;
  OK(api.cuEventCreate(&fork, CU_EVENT_DISABLE_TIMING));
  OK(api.cuEventCreate(&join, CU_EVENT_DISABLE_TIMING));
  for (CUdeviceptr p : {b, c, f, g}) OK(api.cuMemsetD8Async(p, 0, kBytes, nullptr));
  pa = pb = a;
  pc = g;
  n = kN;
  OK(api.cuStreamBeginCapture_v2(s, CU_STREAM_CAPTURE_MODE_RELAXED));
  OK(api.cuMemsetD8Async(b, 0x11, 4, s));              // N0
  OK(api.cuEventRecord(fork, s));                      // N1
  OK(api.cuStreamWaitEvent(s2, fork, 0));
  OK(api.cuMemcpyDtoDAsync_v2(c, b, 4, s2));           // N2, after N1
  OK(api.cuEventRecord(join, s2));                     // N3
  OK(api.cuStreamWaitEvent(s, join, 0));
  OK(api.cuLaunchKernel(vadd, 2, 1, 1, 32, 1, 1, 0, s, params, nullptr));  // N4, after N1 and N3
  OK(api.cuStreamWriteValue32_v2(s, f, 7, 0));         // N5
  CUstreamCaptureStatus st = CU_STREAM_CAPTURE_STATUS_NONE;
  CUgraph captured = nullptr;
  OK(api.cuStreamGetCaptureInfo_v3(s, &st, nullptr, &captured, nullptr, nullptr, nullptr));
  CUgraphNode cn[6] = {};
  count = 6;
  OK(api.cuGraphGetNodes(captured, cn, &count));
  CHECK(count == 6);
  // A capture owns its graph until it ends: it may not be destroyed. (Nodes may be added to it,
  // as the driver documents: selftest_graph_structure.cpp.)
  EXPECT_RC(api.cuGraphDestroy(captured), CUDA_ERROR_ILLEGAL_STATE);
  CUgraph ended = nullptr;
  OK(api.cuStreamEndCapture(s, &ended));
  CHECK(ended == captured && node_count(captured) == 6);
  CHECK(type_of(cn[0]) == CU_GRAPH_NODE_TYPE_MEMSET && type_of(cn[1]) == CU_GRAPH_NODE_TYPE_EVENT_RECORD);
  CHECK(type_of(cn[2]) == CU_GRAPH_NODE_TYPE_MEMCPY && type_of(cn[3]) == CU_GRAPH_NODE_TYPE_EVENT_RECORD);
  CHECK(type_of(cn[4]) == CU_GRAPH_NODE_TYPE_KERNEL && type_of(cn[5]) == CU_GRAPH_NODE_TYPE_BATCH_MEM_OP);
  // The edges the capture left: N0 -> N1, the fork N1 -> N2, the join N3 -> N4.
  EXPECT_RC(api.cuGraphAddDependencies(captured, &cn[0], &cn[1], 1), CUDA_ERROR_INVALID_VALUE);  // exists
  CUgraphNode c_tails[16] = {}, c_heads[16] = {};
  size_t edge_count = 16;
  OK(api.cuGraphGetEdges_v2(captured, c_tails, c_heads, nullptr, &edge_count));
  auto has_edge = [&](CUgraphNode from, CUgraphNode to) {
    for (size_t i = 0; i < edge_count; ++i) {
      if (c_tails[i] == from && c_heads[i] == to) return true;
    }
    return false;
  };
  CHECK(has_edge(cn[0], cn[1]) && has_edge(cn[1], cn[2]) && has_edge(cn[3], cn[4]));
  // A node added by hand before the first captured one: H (b = 0x22..), then N0 (b = 0x11..),
  // then N2 copies it. Were the captured nodes unordered, N2 would run first and copy zeros.
  CUgraphNode h = nullptr;
  const CUDA_MEMSET_NODE_PARAMS fill_22 = memset_params(b, 0x22, 1, 4);
  OK(api.cuGraphAddMemsetNode(&h, captured, nullptr, 0, &fill_22, ctx));
  OK(api.cuGraphAddDependencies(captured, &h, &cn[0], 1));
  OK(api.cuGraphInstantiateWithFlags(&exec, captured, 0));
  OK(api.cuGraphLaunch(exec, s));
  CHECK(read_word(b) == 0x11111111u && read_word(c) == 0x11111111u);
  const std::vector<float> doubled = read_floats(g);  // g = a + a
  bool twice_a = true;
  for (int i = 0; i < kN; ++i) twice_a = twice_a && doubled[i] == static_cast<float>(2 * i);
  CHECK(twice_a);
  CHECK(read_word(f) == 7);
  OK(api.cuEventSynchronize(join));  // recorded by the replay
  OK(api.cuGraphExecDestroy(exec));
  OK(api.cuGraphDestroy(captured));

  OK(api.cuEventDestroy_v2(fork));
  OK(api.cuEventDestroy_v2(join));
  OK(api.cuStreamDestroy_v2(s));
  OK(api.cuStreamDestroy_v2(s2));
  OK(api.cuModuleUnload(mod));
  for (CUdeviceptr p : {a, b, c, f, g}) OK(api.cuMemFree_v2(p));
  OK(api.cuCtxDestroy_v2(ctx));
  OK(api.cuCtxSetCurrent(before));
}

}  // namespace vgpu::fake::selftest
