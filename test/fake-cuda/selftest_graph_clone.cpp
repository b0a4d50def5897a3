// fake-cuda (test double, never ships): self-check of cuGraphClone (every node copied under a new
// handle, with its type and operation, and every edge, one that closes a cycle too; the clone of
// the original's context, counted in the state file, and independent of the original: it runs as
// the original ran once that is gone), cuGraphHostNodeGetParams and cuGraphMemcpyNodeGetParams
// (nodes added by hand, captured or cloned; a memcpy node's parameters describe the same copy
// when added again), and their refusals. See selftest.cpp.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "fake_module.h"
#include "selftest.h"

namespace vgpu::fake::selftest {
namespace {

constexpr int kN = 64;
constexpr size_t kBytes = kN * sizeof(float);
const auto kBogusGraph = reinterpret_cast<CUgraph>(0x5678);
const auto kBogusNode = reinterpret_cast<CUgraphNode>(0x5678);

// Whether the state file says graphs=<graphs>.
bool graphs_counted(const char* state_file, int graphs) {
  std::ifstream in(state_file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str().find("\ngraphs=" + std::to_string(graphs) + "\n") != std::string::npos;
}

// A host node's user data: the float at `watch` (device memory is host memory in the fake, so the
// function reads it directly), appended at each call.
struct Probe {
  CUdeviceptr watch = 0;
  std::vector<float> seen;
};

void CUDA_CB look(void* data) {
  auto* p = static_cast<Probe*>(data);
  float f = 0;
  std::memcpy(&f, reinterpret_cast<const void*>(p->watch), sizeof f);
  p->seen.push_back(f);
}

std::vector<float> read_floats(CUdeviceptr p) {
  std::vector<float> v(kN, -1.0f);
  OK(api.cuMemcpyDtoHAsync_v2(v.data(), p, kBytes, nullptr));
  return v;
}

// Whether v[i] == i * scale + add for every i.
bool sums(const std::vector<float>& v, float scale, float add) {
  for (int i = 0; i < kN; ++i) {
    if (v[i] != static_cast<float>(i) * scale + add) return false;
  }
  return true;
}

CUgraphNodeType type_of(CUgraphNode n) {
  CUgraphNodeType t = CU_GRAPH_NODE_TYPE_GRAPH;  // no node here is a child graph
  OK(api.cuGraphNodeGetType(n, &t));
  return t;
}

// The nodes, as cuGraphGetNodes lists them.
std::vector<CUgraphNode> nodes_of(CUgraph g) {
  size_t n = 0;
  OK(api.cuGraphGetNodes(g, nullptr, &n));
  std::vector<CUgraphNode> v(n);
  if (n > 0) OK(api.cuGraphGetNodes(g, v.data(), &n));
  return v;
}

// The edges as (from, to) positions in nodes_of(g), sorted: what a clone's edges are compared by.
std::vector<std::pair<size_t, size_t>> edges_of(CUgraph g) {
  const std::vector<CUgraphNode> nodes = nodes_of(g);
  size_t n = 0;
  OK(api.cuGraphGetEdges_v2(g, nullptr, nullptr, nullptr, &n));
  std::vector<CUgraphNode> from(n), to(n);
  if (n > 0) OK(api.cuGraphGetEdges_v2(g, from.data(), to.data(), nullptr, &n));
  auto at = [&](CUgraphNode h) { return static_cast<size_t>(std::find(nodes.begin(), nodes.end(), h) - nodes.begin()); };
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i < n; ++i) out.emplace_back(at(from[i]), at(to[i]));
  std::sort(out.begin(), out.end());
  return out;
}

// Parameters with every byte set, so that a field the library leaves alone shows.
CUDA_MEMCPY3D poisoned() {
  CUDA_MEMCPY3D p;
  std::memset(&p, 0xff, sizeof p);
  return p;
}

CUDA_MEMCPY3D memcpy_params(CUgraphNode node) {
  CUDA_MEMCPY3D p = poisoned();
  OK(api.cuGraphMemcpyNodeGetParams(node, &p));
  return p;
}

// What cuGraphMemcpyNodeGetParams leaves zero whatever the copy: positions (the offsets are in the
// addresses), arrays, levels of detail, reserved pointers.
bool zero_positions(const CUDA_MEMCPY3D& p) {
  return p.srcXInBytes == 0 && p.srcY == 0 && p.srcZ == 0 && p.srcLOD == 0 && p.srcArray == nullptr &&
         p.reserved0 == nullptr && p.dstXInBytes == 0 && p.dstY == 0 && p.dstZ == 0 && p.dstLOD == 0 &&
         p.dstArray == nullptr && p.reserved1 == nullptr;
}

// Field by field (the struct has padding).
bool same_copy(const CUDA_MEMCPY3D& x, const CUDA_MEMCPY3D& y) {
  return zero_positions(x) && zero_positions(y) && x.srcMemoryType == y.srcMemoryType && x.srcHost == y.srcHost &&
         x.srcDevice == y.srcDevice && x.srcPitch == y.srcPitch && x.srcHeight == y.srcHeight &&
         x.dstMemoryType == y.dstMemoryType && x.dstHost == y.dstHost && x.dstDevice == y.dstDevice &&
         x.dstPitch == y.dstPitch && x.dstHeight == y.dstHeight && x.WidthInBytes == y.WidthInBytes &&
         x.Height == y.Height && x.Depth == y.Depth;
}

// A copy of one row of `width` bytes between device addresses; each use changes what it needs.
CUDA_MEMCPY3D device_copy(CUdeviceptr dst, CUdeviceptr src, size_t width) {
  CUDA_MEMCPY3D p{};
  p.srcMemoryType = CU_MEMORYTYPE_DEVICE;
  p.srcDevice = src;
  p.dstMemoryType = CU_MEMORYTYPE_DEVICE;
  p.dstDevice = dst;
  p.WidthInBytes = width;
  p.Height = 1;
  p.Depth = 1;
  return p;
}

// Builds a graph of the one memcpy node, runs it once in the current context, and destroys both;
// the node's parameters as cuGraphMemcpyNodeGetParams gives them.
CUDA_MEMCPY3D run_alone(const CUDA_MEMCPY3D& p) {
  CUgraph g = nullptr;
  CUgraphNode node = nullptr;
  CUgraphExec exec = nullptr;
  OK(api.cuGraphCreate(&g, 0));
  OK(api.cuGraphAddMemcpyNode(&node, g, nullptr, 0, &p, nullptr));
  const CUDA_MEMCPY3D got = memcpy_params(node);
  OK(api.cuGraphInstantiateWithFlags(&exec, g, 0));
  OK(api.cuGraphLaunch(exec, nullptr));
  OK(api.cuGraphExecDestroy(exec));
  OK(api.cuGraphDestroy(g));
  return got;
}

}  // namespace

void graph_clone_checks(const char* state_file) {
  CUcontext before = nullptr, ctx = nullptr;
  OK(api.cuCtxGetCurrent(&before));
  OK(api.cuCtxCreate_v2(&ctx, 0, 0));
  CUmodule mod = nullptr;
  const std::string image = module_image({"kernel fake_vector_add 8,8,8,4"});
  OK(api.cuModuleLoadData(&mod, image.c_str()));
  CUfunction vadd = nullptr;
  OK(api.cuModuleGetFunction(&vadd, mod, "fake_vector_add"));
  CUdeviceptr a = 0, b = 0, c = 0, d = 0;
  for (CUdeviceptr* p : {&a, &b, &c, &d}) OK(api.cuMemAlloc_v2(p, kBytes));
  CUstream s = nullptr;
  OK(api.cuStreamCreateWithPriority(&s, CU_STREAM_NON_BLOCKING, 0));
  std::vector<float> host_in(kN);
  for (int i = 0; i < kN; ++i) host_in[i] = static_cast<float>(i);
  CHECK(graphs_counted(state_file, 0));

  // ---- the original: U (host_in -> a) and M (b = 2.0f), K (c = a + b) after both, D (d = c)
  // after K, H (reads d's last float) after D, E after H; and by hand the edge U -> M ----
  CUgraph graph = nullptr;
  OK(api.cuGraphCreate(&graph, 0));
  CUgraphNode u = nullptr, m = nullptr, k = nullptr, dn = nullptr, h = nullptr, e = nullptr;
  CUDA_MEMCPY3D up = device_copy(a, 0, kBytes);
  up.srcMemoryType = CU_MEMORYTYPE_HOST;
  up.srcHost = host_in.data();
  OK(api.cuGraphAddMemcpyNode(&u, graph, nullptr, 0, &up, ctx));
  CUDA_MEMSET_NODE_PARAMS fill_b{};
  fill_b.dst = b;
  fill_b.value = 0x40000000;  // 2.0f
  fill_b.elementSize = 4;
  fill_b.width = kN;
  fill_b.height = 1;
  OK(api.cuGraphAddMemsetNode(&m, graph, nullptr, 0, &fill_b, ctx));
  CUdeviceptr pa = a, pb = b, pc = c;
  int n = kN;
  void* params[] = {&pa, &pb, &pc, &n};
  CUDA_KERNEL_NODE_PARAMS kp{};
  kp.func = vadd;
  kp.gridDimX = 2;
  kp.gridDimY = kp.gridDimZ = 1;
  kp.blockDimX = 32;
  kp.blockDimY = kp.blockDimZ = 1;
  kp.kernelParams = params;
  const CUgraphNode um[] = {u, m};
  OK(api.cuGraphAddKernelNode_v2(&k, graph, um, 2, &kp));
  const CUDA_MEMCPY3D c_to_d = device_copy(d, c, kBytes);
  OK(api.cuGraphAddMemcpyNode(&dn, graph, &k, 1, &c_to_d, ctx));
  Probe probe{d + (kN - 1) * sizeof(float), {}};
  const CUDA_HOST_NODE_PARAMS hp{look, &probe};
  OK(api.cuGraphAddHostNode(&h, graph, &dn, 1, &hp));
  OK(api.cuGraphAddEmptyNode(&e, graph, &h, 1));
  OK(api.cuGraphAddDependencies(graph, &u, &m, 1));
  CHECK(graphs_counted(state_file, 1));

  CUgraphExec exec = nullptr;
  OK(api.cuGraphInstantiateWithFlags(&exec, graph, 0));
  for (CUdeviceptr p : {c, d}) OK(api.cuMemsetD8Async(p, 0, kBytes, nullptr));
  OK(api.cuGraphLaunch(exec, s));
  CHECK(sums(read_floats(d), 1.0f, 2.0f));  // d = a + b = i + 2
  CHECK(probe.seen == std::vector<float>{kN - 1 + 2.0f});
  OK(api.cuGraphExecDestroy(exec));

  // ---- the clone: new handles, the same types in the same order, the same edges ----
  CUgraph clone = nullptr;
  OK(api.cuGraphClone(&clone, graph));
  CHECK(clone != nullptr && clone != graph);
  CHECK(graphs_counted(state_file, 2));
  const std::vector<CUgraphNode> originals = nodes_of(graph);
  const std::vector<CUgraphNode> copies = nodes_of(clone);
  CHECK(originals == (std::vector<CUgraphNode>{u, m, k, dn, h, e}));
  CHECK(copies.size() == 6);
  if (copies.size() == 6) {
    const CUgraphNodeType want[] = {CU_GRAPH_NODE_TYPE_MEMCPY, CU_GRAPH_NODE_TYPE_MEMSET, CU_GRAPH_NODE_TYPE_KERNEL,
                                    CU_GRAPH_NODE_TYPE_MEMCPY, CU_GRAPH_NODE_TYPE_HOST,   CU_GRAPH_NODE_TYPE_EMPTY};
    for (size_t i = 0; i < 6; ++i) {
      CHECK(type_of(copies[i]) == want[i]);
      CHECK(std::find(originals.begin(), originals.end(), copies[i]) == originals.end());
    }
  }
  const auto want_edges = std::vector<std::pair<size_t, size_t>>{{0, 1}, {0, 2}, {1, 2}, {2, 3}, {3, 4}, {4, 5}};
  CHECK(edges_of(graph) == want_edges);
  CHECK(edges_of(clone) == want_edges);

  // ---- node parameters: the host node's function and user data, the copies' sides ----
  CUDA_HOST_NODE_PARAMS got{};
  OK(api.cuGraphHostNodeGetParams(h, &got));
  CHECK(got.fn == look && got.userData == &probe);
  if (copies.size() == 6) {
    got = {};
    OK(api.cuGraphHostNodeGetParams(copies[4], &got));
    CHECK(got.fn == look && got.userData == &probe);
  }
  const CUDA_MEMCPY3D up_got = memcpy_params(u);  // host -> device
  CHECK(zero_positions(up_got));
  CHECK(up_got.srcMemoryType == CU_MEMORYTYPE_HOST && up_got.srcHost == host_in.data() && up_got.srcDevice == 0);
  CHECK(up_got.dstMemoryType == CU_MEMORYTYPE_DEVICE && up_got.dstDevice == a && up_got.dstHost == nullptr);
  CHECK(up_got.WidthInBytes == kBytes && up_got.Height == 1 && up_got.Depth == 1);
  CHECK(up_got.srcPitch == 0 && up_got.srcHeight == 0 && up_got.dstPitch == 0 && up_got.dstHeight == 0);
  const CUDA_MEMCPY3D dn_got = memcpy_params(dn);  // device -> device
  CHECK(zero_positions(dn_got));
  CHECK(dn_got.srcMemoryType == CU_MEMORYTYPE_DEVICE && dn_got.srcDevice == c && dn_got.srcHost == nullptr);
  CHECK(dn_got.dstMemoryType == CU_MEMORYTYPE_DEVICE && dn_got.dstDevice == d && dn_got.dstHost == nullptr);
  CHECK(dn_got.WidthInBytes == kBytes && dn_got.Height == 1 && dn_got.Depth == 1);
  if (copies.size() == 6) {
    CHECK(same_copy(memcpy_params(copies[0]), up_got));
    CHECK(same_copy(memcpy_params(copies[3]), dn_got));
  }

  // ---- either changes alone: a node added to the original, one to the clone ----
  CUgraphNode late = nullptr;
  OK(api.cuGraphAddEmptyNode(&late, graph, &e, 1));
  CHECK(nodes_of(clone).size() == 6 && edges_of(clone) == want_edges);
  if (copies.size() == 6) {
    OK(api.cuGraphAddEmptyNode(&late, clone, &copies[5], 1));
    EXPECT_RC(api.cuGraphAddDependencies(graph, &u, &late, 1), CUDA_ERROR_INVALID_VALUE);  // the clone's
  }
  CHECK(nodes_of(graph).size() == 7 && nodes_of(clone).size() == 7);

  // ---- the original destroyed: its nodes are unknown, the clone runs as the original ran ----
  OK(api.cuGraphDestroy(graph));
  CHECK(graphs_counted(state_file, 1));
  CUgraphNodeType t = CU_GRAPH_NODE_TYPE_EMPTY;
  EXPECT_RC(api.cuGraphNodeGetType(u, &t), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphHostNodeGetParams(h, &got), CUDA_ERROR_INVALID_VALUE);
  CUDA_MEMCPY3D q = poisoned();
  EXPECT_RC(api.cuGraphMemcpyNodeGetParams(u, &q), CUDA_ERROR_INVALID_VALUE);
  CHECK(nodes_of(clone).size() == 7);
  if (copies.size() == 6) CHECK(type_of(copies[2]) == CU_GRAPH_NODE_TYPE_KERNEL);
  OK(api.cuGraphInstantiateWithFlags(&exec, clone, 0));
  for (CUdeviceptr p : {a, b, c, d}) OK(api.cuMemsetD8Async(p, 0, kBytes, nullptr));
  OK(api.cuGraphLaunch(exec, s));
  CHECK(sums(read_floats(d), 1.0f, 2.0f));
  CHECK(probe.seen == (std::vector<float>{kN - 1 + 2.0f, kN - 1 + 2.0f}));
  // The host buffer is kept by address in the clone too: what it holds at launch is copied.
  for (int i = 0; i < kN; ++i) host_in[i] = static_cast<float>(3 * i);
  OK(api.cuGraphLaunch(exec, s));
  CHECK(sums(read_floats(d), 3.0f, 2.0f));
  CHECK(probe.seen.size() == 3 && probe.seen.back() == 3.0f * (kN - 1) + 2.0f);

  // ---- the clone is of the original's context ----
  CUcontext ctx2 = nullptr;
  OK(api.cuCtxCreate_v2(&ctx2, 0, 0));  // now current
  CUgraphExec exec2 = nullptr;
  EXPECT_RC(api.cuGraphInstantiateWithFlags(&exec2, clone, 0), CUDA_ERROR_INVALID_CONTEXT);
  OK(api.cuCtxSetCurrent(ctx));
  OK(api.cuCtxDestroy_v2(ctx2));

  // ---- a clone of the clone, destroyed: the clone is untouched ----
  CUgraph clone2 = nullptr;
  OK(api.cuGraphClone(&clone2, clone));
  CHECK(graphs_counted(state_file, 2));
  CHECK(nodes_of(clone2).size() == 7 && edges_of(clone2) == edges_of(clone));
  OK(api.cuGraphDestroy(clone2));
  CHECK(graphs_counted(state_file, 1));
  CHECK(nodes_of(clone).size() == 7 && edges_of(clone).size() == 7);
  OK(api.cuGraphLaunch(exec, s));
  CHECK(probe.seen.size() == 4);
  OK(api.cuGraphExecDestroy(exec));
  OK(api.cuGraphDestroy(clone));
  CHECK(graphs_counted(state_file, 0));

  // ---- a 3D memcpy node with offsets and pitches (device -> host): its parameters name the first
  // byte of each side, positions 0, and describe the same copy when added again ----
  CUdeviceptr box = 0;
  OK(api.cuMemAlloc_v2(&box, 1024));
  std::vector<unsigned char> pattern(1024);
  for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<unsigned char>(i % 251 + 1);
  OK(api.cuMemcpyHtoDAsync_v2(box, pattern.data(), pattern.size(), nullptr));
  std::vector<unsigned char> host_box(512, 0), first(512);
  CUDA_MEMCPY3D p3 = device_copy(0, box, 16);
  p3.srcXInBytes = 4;
  p3.srcY = 1;
  p3.srcZ = 1;
  p3.srcPitch = 48;
  p3.srcHeight = 6;
  p3.dstMemoryType = CU_MEMORYTYPE_HOST;
  p3.dstHost = host_box.data();
  p3.dstXInBytes = 8;
  p3.dstZ = 1;
  p3.dstPitch = 32;
  p3.dstHeight = 4;
  p3.Height = 3;
  p3.Depth = 2;
  const CUDA_MEMCPY3D g3 = run_alone(p3);
  first = host_box;
  CHECK(zero_positions(g3));
  CHECK(g3.srcMemoryType == CU_MEMORYTYPE_DEVICE && g3.srcDevice == box + (1 * 6 + 1) * 48 + 4 && g3.srcHost == nullptr);
  CHECK(g3.srcPitch == 48 && g3.srcHeight == 6);
  CHECK(g3.dstMemoryType == CU_MEMORYTYPE_HOST && g3.dstHost == host_box.data() + (1 * 4 + 0) * 32 + 8 &&
        g3.dstDevice == 0);
  CHECK(g3.dstPitch == 32 && g3.dstHeight == 4);
  CHECK(g3.WidthInBytes == 16 && g3.Height == 3 && g3.Depth == 2);
  CHECK(std::count(first.begin(), first.end(), 0) == static_cast<std::ptrdiff_t>(first.size()) - 2 * 3 * 16);
  std::fill(host_box.begin(), host_box.end(), 0);
  CHECK(same_copy(run_alone(g3), g3));  // added again from what was read back
  CHECK(host_box == first);
  // Two rows of one slice: a pitch, no height.
  CUDA_MEMCPY3D p2 = device_copy(box + 512, box, 8);
  p2.srcPitch = 16;
  p2.dstPitch = 24;
  p2.Height = 2;
  const CUDA_MEMCPY3D g2 = run_alone(p2);
  CHECK(zero_positions(g2) && g2.srcDevice == box && g2.dstDevice == box + 512);
  CHECK(g2.srcPitch == 16 && g2.dstPitch == 24 && g2.srcHeight == 0 && g2.dstHeight == 0 && g2.Height == 2 &&
        g2.Depth == 1);
  OK(api.cuMemFree_v2(box));

  // ---- a captured graph: cloned once its capture ended, as cuGraphDestroy waits for that ----
  std::vector<float> host_out(4, -1.0f);
  Probe probe2{a, {}};
  OK(api.cuMemsetD8Async(a, 0, kBytes, nullptr));
  OK(api.cuStreamBeginCapture_v2(s, CU_STREAM_CAPTURE_MODE_RELAXED));
  OK(api.cuMemcpyDtoHAsync_v2(host_out.data(), a, 4 * sizeof(float), s));
  OK(api.cuLaunchHostFunc(s, look, &probe2));
  OK(api.cuMemcpyDtoDAsync_v2(b, a, 8, s));
  CUstreamCaptureStatus st = CU_STREAM_CAPTURE_STATUS_NONE;
  CUgraph captured = nullptr;
  OK(api.cuStreamGetCaptureInfo_v3(s, &st, nullptr, &captured, nullptr, nullptr, nullptr));
  CHECK(st == CU_STREAM_CAPTURE_STATUS_ACTIVE && captured != nullptr);
  CUgraph z = nullptr;
  EXPECT_RC(api.cuGraphClone(&z, captured), CUDA_ERROR_ILLEGAL_STATE);
  CHECK(z == nullptr && graphs_counted(state_file, 1));
  CUgraph ended = nullptr;
  OK(api.cuStreamEndCapture(s, &ended));
  CHECK(ended == captured);
  OK(api.cuGraphClone(&clone, captured));
  CHECK(graphs_counted(state_file, 2));
  for (CUgraph g : {captured, clone}) {
    const std::vector<CUgraphNode> cn = nodes_of(g);
    CHECK(cn.size() == 3);
    if (cn.size() != 3) continue;
    CHECK(type_of(cn[0]) == CU_GRAPH_NODE_TYPE_MEMCPY && type_of(cn[1]) == CU_GRAPH_NODE_TYPE_HOST &&
          type_of(cn[2]) == CU_GRAPH_NODE_TYPE_MEMCPY);
    CHECK(edges_of(g) == (std::vector<std::pair<size_t, size_t>>{{0, 1}, {1, 2}}));
    got = {};
    OK(api.cuGraphHostNodeGetParams(cn[1], &got));
    CHECK(got.fn == look && got.userData == &probe2);
    const CUDA_MEMCPY3D down = memcpy_params(cn[0]);  // a captured device -> host copy
    CHECK(zero_positions(down) && down.srcMemoryType == CU_MEMORYTYPE_DEVICE && down.srcDevice == a &&
          down.srcHost == nullptr && down.dstMemoryType == CU_MEMORYTYPE_HOST && down.dstHost == host_out.data() &&
          down.dstDevice == 0);
    CHECK(down.WidthInBytes == 4 * sizeof(float) && down.Height == 1 && down.Depth == 1 && down.srcPitch == 0 &&
          down.dstPitch == 0 && down.srcHeight == 0 && down.dstHeight == 0);
    const CUDA_MEMCPY3D dd = memcpy_params(cn[2]);  // a captured device -> device copy
    CHECK(zero_positions(dd) && dd.srcMemoryType == CU_MEMORYTYPE_DEVICE && dd.srcDevice == a &&
          dd.dstMemoryType == CU_MEMORYTYPE_DEVICE && dd.dstDevice == b && dd.WidthInBytes == 8);
  }
  OK(api.cuGraphDestroy(captured));
  OK(api.cuGraphInstantiateWithFlags(&exec, clone, 0));
  OK(api.cuGraphLaunch(exec, s));
  CHECK(host_out == std::vector<float>(4, 0.0f) && probe2.seen == std::vector<float>{0.0f});
  OK(api.cuGraphExecDestroy(exec));
  OK(api.cuGraphDestroy(clone));

  // ---- a cycle is cloned as it is (never instantiated: that aborts) ----
  CUgraph cyclic = nullptr;
  OK(api.cuGraphCreate(&cyclic, 0));
  CUgraphNode x = nullptr, w = nullptr;
  OK(api.cuGraphAddEmptyNode(&x, cyclic, nullptr, 0));
  OK(api.cuGraphAddEmptyNode(&w, cyclic, &x, 1));
  OK(api.cuGraphAddDependencies(cyclic, &w, &x, 1));
  OK(api.cuGraphClone(&clone, cyclic));
  CHECK(edges_of(clone) == (std::vector<std::pair<size_t, size_t>>{{0, 1}, {1, 0}}));
  OK(api.cuGraphDestroy(cyclic));
  CHECK(edges_of(clone).size() == 2);
  OK(api.cuGraphDestroy(clone));
  // An empty graph clones to an empty graph.
  OK(api.cuGraphCreate(&graph, 0));
  OK(api.cuGraphClone(&clone, graph));
  CHECK(nodes_of(clone).empty());
  OK(api.cuGraphDestroy(clone));

  // ---- refusals ----
  CUgraphNode hn = nullptr, mn = nullptr, sn = nullptr;
  OK(api.cuGraphAddHostNode(&hn, graph, nullptr, 0, &hp));
  const CUDA_MEMCPY3D d_to_c = device_copy(c, d, kBytes);
  OK(api.cuGraphAddMemcpyNode(&mn, graph, nullptr, 0, &d_to_c, ctx));
  OK(api.cuGraphAddMemsetNode(&sn, graph, nullptr, 0, &fill_b, ctx));
  z = nullptr;
  EXPECT_RC(api.cuGraphClone(nullptr, graph), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphClone(&z, nullptr), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphClone(&z, kBogusGraph), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphClone(&z, cyclic), CUDA_ERROR_INVALID_VALUE);  // destroyed
  CHECK(z == nullptr && graphs_counted(state_file, 1));
  EXPECT_RC(api.cuGraphHostNodeGetParams(hn, nullptr), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphHostNodeGetParams(mn, &got), CUDA_ERROR_INVALID_VALUE);  // a memcpy node
  EXPECT_RC(api.cuGraphHostNodeGetParams(sn, &got), CUDA_ERROR_INVALID_VALUE);  // a memset node
  EXPECT_RC(api.cuGraphHostNodeGetParams(kBogusNode, &got), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphHostNodeGetParams(nullptr, &got), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphHostNodeGetParams(x, &got), CUDA_ERROR_INVALID_VALUE);  // its graph is gone
  EXPECT_RC(api.cuGraphMemcpyNodeGetParams(mn, nullptr), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphMemcpyNodeGetParams(sn, &q), CUDA_ERROR_INVALID_VALUE);  // a memset node
  EXPECT_RC(api.cuGraphMemcpyNodeGetParams(hn, &q), CUDA_ERROR_INVALID_VALUE);  // a host node
  EXPECT_RC(api.cuGraphMemcpyNodeGetParams(kBogusNode, &q), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphMemcpyNodeGetParams(nullptr, &q), CUDA_ERROR_INVALID_VALUE);
  OK(api.cuGraphHostNodeGetParams(hn, &got));
  CHECK(got.fn == look && got.userData == &probe);
  CHECK(same_copy(memcpy_params(mn), d_to_c));
  OK(api.cuGraphDestroy(graph));
  CHECK(graphs_counted(state_file, 0));

  OK(api.cuStreamDestroy_v2(s));
  OK(api.cuModuleUnload(mod));
  for (CUdeviceptr p : {a, b, c, d}) OK(api.cuMemFree_v2(p));
  OK(api.cuCtxDestroy_v2(ctx));
  OK(api.cuCtxSetCurrent(before));
}

}  // namespace vgpu::fake::selftest
