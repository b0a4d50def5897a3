// A graph's structure through vgpu's libcuda.so.1 and a real vgpud (fake driver): edges, roots,
// dependencies and dependents of a graph built here and of a captured one; edges removed, a node
// destroyed, a node found in a clone, a child graph node's graph filled and run; the graph a
// capture builds into with its dependencies, a node added to it and the capture made to go on
// after it; a capture begun into an existing graph; a DOT file. Prints "graph_structure ok".
#include <cuda.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "guest_check.h"

namespace {

const char kImage[] =
    "FAKECUBIN 1\n"
    "kernel fake_fill_u32 8,4,8\n";

CUfunction g_fill = nullptr;

CUgraphNode empty(CUgraph g, std::vector<CUgraphNode> deps = {}) {
  CUgraphNode n = nullptr;
  CU_CHECK(cuGraphAddEmptyNode(&n, g, deps.data(), deps.size()));
  return n;
}

// A kernel node writing `value` to the word at p.
CUgraphNode fill(CUgraph g, CUdeviceptr p, uint32_t value, std::vector<CUgraphNode> deps = {}) {
  static uint64_t one = 1;
  CUdeviceptr ptr = p;
  uint32_t v = value;
  void* args[] = {&ptr, &v, &one};
  CUDA_KERNEL_NODE_PARAMS k{};
  k.func = g_fill;
  k.gridDimX = k.gridDimY = k.gridDimZ = 1;
  k.blockDimX = k.blockDimY = k.blockDimZ = 1;
  k.kernelParams = args;
  CUgraphNode n = nullptr;
  CU_CHECK(cuGraphAddKernelNode(&n, g, deps.data(), deps.size(), &k));
  return n;
}

std::vector<CUgraphNode> deps_of(CUgraphNode n) {
  size_t count = 0;
  CU_CHECK(cuGraphNodeGetDependencies(n, nullptr, nullptr, &count));
  std::vector<CUgraphNode> out(count);
  if (count != 0) CU_CHECK(cuGraphNodeGetDependencies(n, out.data(), nullptr, &count));
  return out;
}

std::vector<CUgraphNode> dependents_of(CUgraphNode n) {
  size_t count = 0;
  CU_CHECK(cuGraphNodeGetDependentNodes(n, nullptr, nullptr, &count));
  std::vector<CUgraphNode> out(count);
  if (count != 0) CU_CHECK(cuGraphNodeGetDependentNodes(n, out.data(), nullptr, &count));
  return out;
}

std::vector<CUgraphNode> roots_of(CUgraph g) {
  size_t count = 0;
  CU_CHECK(cuGraphGetRootNodes(g, nullptr, &count));
  std::vector<CUgraphNode> out(count);
  if (count != 0) CU_CHECK(cuGraphGetRootNodes(g, out.data(), &count));
  return out;
}

size_t edges_of(CUgraph g) {
  size_t count = 0;
  CU_CHECK(cuGraphGetEdges(g, nullptr, nullptr, nullptr, &count));
  return count;
}

uint32_t word(CUdeviceptr p) {
  uint32_t w = 0;
  CU_CHECK(cuMemcpyDtoH(&w, p, sizeof w));
  return w;
}

void run(CUgraph g, CUstream s) {
  CUgraphExec exec = nullptr;
  CU_CHECK(cuGraphInstantiate(&exec, g, 0));
  CU_CHECK(cuGraphLaunch(exec, s));
  CU_CHECK(cuStreamSynchronize(s));
  CU_CHECK(cuGraphExecDestroy(exec));
}

void built(CUdeviceptr buf, CUstream s) {
  // a -> b, a -> c, b -> d, c -> d
  CUgraph g = nullptr;
  CU_CHECK(cuGraphCreate(&g, 0));
  const CUgraphNode a = empty(g), b = fill(g, buf, 1, {a}), c = fill(g, buf + 4, 2, {a}), d = empty(g, {b, c});
  EXPECT(edges_of(g) == 4);
  EXPECT(roots_of(g) == std::vector<CUgraphNode>{a});
  EXPECT(deps_of(d).size() == 2 && deps_of(a).empty() && dependents_of(a).size() == 2);
  std::vector<CUgraphNode> from(4), to(4);
  size_t n = 4;
  CU_CHECK(cuGraphGetEdges(g, from.data(), to.data(), nullptr, &n));
  EXPECT(n == 4 && from[0] != nullptr);
  // More room than edges: the rest is null, the count what was written.
  std::vector<CUgraphNode> wide(6, a), wide_to(6, a);
  n = 6;
  CU_CHECK(cuGraphGetEdges(g, wide.data(), wide_to.data(), nullptr, &n));
  EXPECT(n == 4 && wide[4] == nullptr && wide[5] == nullptr);
  // Removing b -> d; destroying c takes its edges with it.
  CU_CHECK(cuGraphRemoveDependencies(g, &b, &d, nullptr, 1));
  EXPECT(deps_of(d) == std::vector<CUgraphNode>{c});
  EXPECT(cuGraphRemoveDependencies(g, &b, &d, nullptr, 1) == CUDA_ERROR_INVALID_VALUE);
  CU_CHECK(cuGraphDestroyNode(c));
  EXPECT(deps_of(d).empty() && edges_of(g) == 1);
  size_t count = 0;
  CU_CHECK(cuGraphGetNodes(g, nullptr, &count));
  EXPECT(count == 3);
  CUgraphNodeType type;
  const std::vector<CUgraphNode> roots = roots_of(g);
  EXPECT(roots.size() == 2);
  // Found in a clone.
  CUgraph clone = nullptr;
  CU_CHECK(cuGraphClone(&clone, g));
  CUgraphNode b2 = nullptr;
  CU_CHECK(cuGraphNodeFindInClone(&b2, b, clone));
  EXPECT(b2 != nullptr && b2 != b);
  CU_CHECK(cuGraphNodeGetType(b2, &type));
  EXPECT(type == CU_GRAPH_NODE_TYPE_KERNEL && deps_of(b2).size() == 1);
  EXPECT(cuGraphNodeFindInClone(&b2, b, g) == CUDA_ERROR_INVALID_VALUE);
  CU_CHECK(cuMemsetD8(buf, 0, 8));
  run(clone, s);
  EXPECT(word(buf) == 1 && word(buf + 4) == 0);
  // A DOT file of it.
  const std::string path = "/tmp/vgpu-graph-structure-" + std::to_string(getpid()) + ".dot";
  CU_CHECK(cuGraphDebugDotPrint(clone, path.c_str(), 0));
  std::FILE* f = std::fopen(path.c_str(), "r");
  EXPECT(f != nullptr);
  char text[512] = {};
  const size_t got = std::fread(text, 1, sizeof text - 1, f);
  std::fclose(f);
  std::remove(path.c_str());
  EXPECT(got > 0 && std::strstr(text, "digraph") != nullptr && std::strstr(text, "kernel") != nullptr &&
         std::strstr(text, "->") != nullptr);
  CU_CHECK(cuGraphDestroy(clone));
  CU_CHECK(cuGraphDestroy(g));
  std::printf("built graphs ok\n");
}

void child(CUdeviceptr buf, CUstream s) {
  CUgraph inner = nullptr, outer = nullptr;
  CU_CHECK(cuGraphCreate(&inner, 0));
  CU_CHECK(cuGraphCreate(&outer, 0));
  fill(inner, buf, 5);
  CUgraphNode node = nullptr;
  CU_CHECK(cuGraphAddChildGraphNode(&node, outer, nullptr, 0, inner));
  CU_CHECK(cuGraphDestroy(inner));
  CUgraph held = nullptr, again = nullptr;
  CU_CHECK(cuGraphChildGraphNodeGetGraph(node, &held));
  CU_CHECK(cuGraphChildGraphNodeGetGraph(node, &again));
  EXPECT(held != nullptr && held == again);
  size_t count = 0;
  CU_CHECK(cuGraphGetNodes(held, nullptr, &count));
  EXPECT(count == 1);
  EXPECT(cuGraphDestroy(held) == CUDA_ERROR_INVALID_VALUE);  // the node owns it
  CUgraphNode not_child = empty(outer);
  EXPECT(cuGraphChildGraphNodeGetGraph(not_child, &again) == CUDA_ERROR_INVALID_VALUE);
  // A node added to the node's graph runs with it.
  fill(held, buf + 4, 6);
  CU_CHECK(cuMemsetD8(buf, 0, 8));
  run(outer, s);
  EXPECT(word(buf) == 5 && word(buf + 4) == 6);
  CU_CHECK(cuGraphDestroy(outer));  // and the graph its node held
  std::printf("child graphs ok\n");
}

void captured(CUdeviceptr buf, CUstream s) {
  CU_CHECK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
  CU_CHECK(cuMemsetD8Async(buf, 0, 8, s));
  CUstreamCaptureStatus status;
  cuuint64_t id = 0;
  CUgraph graph = nullptr;
  const CUgraphNode* deps = nullptr;
  const CUgraphEdgeData* edge_data = reinterpret_cast<const CUgraphEdgeData*>(&id);
  size_t count = 0;
  CU_CHECK(cuStreamGetCaptureInfo(s, &status, &id, &graph, &deps, &edge_data, &count));
  EXPECT(status == CU_STREAM_CAPTURE_STATUS_ACTIVE && graph != nullptr && count == 1 && edge_data == nullptr);
  const CUgraphNode memset_node = deps[0];
  CUgraphNodeType type;
  CU_CHECK(cuGraphNodeGetType(memset_node, &type));
  EXPECT(type == CU_GRAPH_NODE_TYPE_MEMSET);
  EXPECT(cuGraphDestroy(graph) == CUDA_ERROR_ILLEGAL_STATE);  // the capture's until it ends
  // A node added to the graph being captured; the capture goes on after it.
  const CUgraphNode added = fill(graph, buf, 9, {memset_node});
  CUgraphNode set[] = {added};
  CU_CHECK(cuStreamUpdateCaptureDependencies(s, set, nullptr, 1, CU_STREAM_SET_CAPTURE_DEPENDENCIES));
  CU_CHECK(cuStreamGetCaptureInfo(s, &status, &id, nullptr, &deps, nullptr, &count));
  EXPECT(count == 1 && deps[0] == added);
  CUgraph other = nullptr;
  CU_CHECK(cuGraphCreate(&other, 0));
  CUgraphNode foreign[] = {empty(other)};
  EXPECT(cuStreamUpdateCaptureDependencies(s, foreign, nullptr, 1, CU_STREAM_ADD_CAPTURE_DEPENDENCIES) ==
         CUDA_ERROR_INVALID_VALUE);
  EXPECT(cuStreamUpdateCaptureDependencies(s, set, nullptr, 1, 7) == CUDA_ERROR_INVALID_VALUE);
  CU_CHECK(cuMemcpyDtoDAsync(buf + 4, buf, 4, s));
  CUgraph ended = nullptr;
  CU_CHECK(cuStreamEndCapture(s, &ended));
  EXPECT(ended == graph);
  // memset -> fill -> copy, as the program made them.
  EXPECT(edges_of(graph) == 2 && deps_of(added) == std::vector<CUgraphNode>{memset_node} &&
         dependents_of(added).size() == 1 && roots_of(graph) == std::vector<CUgraphNode>{memset_node});
  run(graph, s);
  EXPECT(word(buf) == 9 && word(buf + 4) == 9);
  EXPECT(cuStreamUpdateCaptureDependencies(s, set, nullptr, 1, 0) == CUDA_ERROR_ILLEGAL_STATE);  // not capturing
  CU_CHECK(cuGraphDestroy(graph));
  // Begun into an existing graph, after one of its nodes.
  const CUgraphNode first = fill(other, buf, 3);
  CU_CHECK(cuStreamBeginCaptureToGraph(s, other, &first, nullptr, 1, CU_STREAM_CAPTURE_MODE_GLOBAL));
  EXPECT(cuGraphDestroy(other) == CUDA_ERROR_ILLEGAL_STATE);
  CU_CHECK(cuMemcpyDtoDAsync(buf + 4, buf, 4, s));
  CU_CHECK(cuStreamEndCapture(s, &ended));
  EXPECT(ended == other);
  size_t nodes = 0;
  CU_CHECK(cuGraphGetNodes(other, nullptr, &nodes));
  EXPECT(nodes == 3 && edges_of(other) == 1);
  run(other, s);
  EXPECT(word(buf + 4) == 3);
  CU_CHECK(cuGraphDestroy(other));
  std::printf("capture graphs ok\n");
}

// A node's dependencies with their edge data, as cuGraphNodeGetDependencies_v2 gives them.
std::vector<CUgraphEdgeData> dep_data_of(CUgraphNode n) {
  size_t count = 0;
  CU_CHECK(cuGraphNodeGetDependencies(n, nullptr, nullptr, &count));
  std::vector<CUgraphNode> deps(count);
  std::vector<CUgraphEdgeData> data(count);
  if (count != 0) CU_CHECK(cuGraphNodeGetDependencies(n, deps.data(), data.data(), &count));
  return data;
}

bool is(const CUgraphEdgeData& e, unsigned type, unsigned from_port) {
  return e.type == type && e.from_port == from_port && e.to_port == 0;
}

// Programmatic edges (programmatic dependent launch: a kernel may start once its producer
// triggers; XLA makes them between Triton's kernels on Hopper) reach vgpud's driver with their
// data and are listed back with it; without the data a query is lossy, and an edge is removed
// only by its own data. A kernel launched with programmatic stream serialization is captured
// after the kernel before it through a programmatic edge. An edge no node can have is refused.
void programmatic(CUdeviceptr buf, CUstream s) {
  CUgraph g = nullptr;
  CU_CHECK(cuGraphCreate(&g, 0));
  const CUgraphNode a = fill(g, buf, 7);
  CUgraphEdgeData pdl{};
  pdl.from_port = CU_GRAPH_KERNEL_NODE_PORT_PROGRAMMATIC;
  pdl.type = CU_GRAPH_DEPENDENCY_TYPE_PROGRAMMATIC;
  static uint64_t one = 1;
  CUdeviceptr second = buf + 4;
  uint32_t eight = 8;
  void* args[] = {&second, &eight, &one};
  CUgraphNodeParams p{};
  p.type = CU_GRAPH_NODE_TYPE_KERNEL;
  p.kernel.func = g_fill;
  p.kernel.gridDimX = p.kernel.gridDimY = p.kernel.gridDimZ = 1;
  p.kernel.blockDimX = p.kernel.blockDimY = p.kernel.blockDimZ = 1;
  p.kernel.kernelParams = args;
  CUgraphNode b = nullptr;
  CU_CHECK(cuGraphAddNode_v2(&b, g, &a, &pdl, 1, &p));
  const std::vector<CUgraphEdgeData> b_deps = dep_data_of(b);
  EXPECT(b_deps.size() == 1 && is(b_deps[0], CU_GRAPH_DEPENDENCY_TYPE_PROGRAMMATIC, CU_GRAPH_KERNEL_NODE_PORT_PROGRAMMATIC));
  CUgraphNode dep = nullptr;
  size_t count = 1;
  EXPECT(cuGraphNodeGetDependencies(b, &dep, nullptr, &count) == CUDA_ERROR_LOSSY_QUERY);
  CUgraphNode from[2] = {}, to[2] = {};
  count = 2;
  EXPECT(cuGraphGetEdges(g, from, to, nullptr, &count) == CUDA_ERROR_LOSSY_QUERY);
  const CUgraphNode c = empty(g);
  CUgraphEdgeData launch_order{};
  launch_order.from_port = CU_GRAPH_KERNEL_NODE_PORT_LAUNCH_ORDER;
  CU_CHECK(cuGraphAddDependencies_v2(g, &b, &c, &launch_order, 1));
  const std::vector<CUgraphEdgeData> c_deps = dep_data_of(c);
  EXPECT(c_deps.size() == 1 && is(c_deps[0], CU_GRAPH_DEPENDENCY_TYPE_DEFAULT, CU_GRAPH_KERNEL_NODE_PORT_LAUNCH_ORDER));
  EXPECT(edges_of(g) == 2);
  CUgraphEdgeData listed[2] = {};
  count = 2;
  CU_CHECK(cuGraphGetEdges(g, from, to, listed, &count));
  EXPECT(count == 2);
  for (size_t i = 0; i < 2; ++i)
    EXPECT(from[i] == a ? to[i] == b && is(listed[i], 1, 1) : from[i] == b && to[i] == c && is(listed[i], 0, 2));
  CUgraphEdgeData bad = pdl;
  bad.type = 7;
  EXPECT(cuGraphAddDependencies_v2(g, &a, &c, &bad, 1) == CUDA_ERROR_INVALID_VALUE);
  bad = pdl;
  bad.to_port = 1;  // no node has an incoming port
  EXPECT(cuGraphAddDependencies_v2(g, &a, &c, &bad, 1) == CUDA_ERROR_INVALID_VALUE);
  EXPECT(cuGraphAddDependencies_v2(g, &a, &c, &pdl, 1) == CUDA_ERROR_INVALID_VALUE);  // c is no kernel
  // Removed by its own data, or by none (the driver takes any).
  CU_CHECK(cuGraphRemoveDependencies_v2(g, &b, &c, &launch_order, 1));
  EXPECT(dep_data_of(c).empty());
  CU_CHECK(cuGraphAddDependencies_v2(g, &b, &c, &launch_order, 1));
  CU_CHECK(cuGraphRemoveDependencies_v2(g, &b, &c, nullptr, 1));
  EXPECT(dep_data_of(c).empty());
  CU_CHECK(cuMemsetD8(buf, 0, 8));
  run(g, s);
  EXPECT(word(buf) == 7 && word(buf + 4) == 8);
  CU_CHECK(cuGraphDestroy(g));

  // Captured: the second launch may start before the first has finished.
  CUlaunchAttribute attr{};
  attr.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
  attr.value.programmaticStreamSerializationAllowed = 1;
  CUlaunchConfig config{};
  config.gridDimX = config.gridDimY = config.gridDimZ = 1;
  config.blockDimX = config.blockDimY = config.blockDimZ = 1;
  config.hStream = s;
  config.attrs = &attr;
  config.numAttrs = 1;
  CUdeviceptr first = buf;
  uint32_t nine = 9;
  void* first_args[] = {&first, &nine, &one};
  CU_CHECK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
  CU_CHECK(cuLaunchKernel(g_fill, 1, 1, 1, 1, 1, 1, 0, s, first_args, nullptr));
  CU_CHECK(cuLaunchKernelEx(&config, g_fill, args, nullptr));
  CU_CHECK(cuStreamEndCapture(s, &g));
  count = 1;
  CU_CHECK(cuGraphGetEdges(g, from, to, listed, &count));
  EXPECT(count == 1 && is(listed[0], CU_GRAPH_DEPENDENCY_TYPE_PROGRAMMATIC, CU_GRAPH_KERNEL_NODE_PORT_PROGRAMMATIC));
  CU_CHECK(cuMemsetD8(buf, 0, 8));
  run(g, s);
  EXPECT(word(buf) == 9 && word(buf + 4) == 8);
  CU_CHECK(cuGraphDestroy(g));
  // Launched on the stream, it runs.
  CU_CHECK(cuMemsetD8(buf, 0, 8));
  CU_CHECK(cuLaunchKernelEx(&config, g_fill, args, nullptr));
  CU_CHECK(cuStreamSynchronize(s));
  EXPECT(word(buf + 4) == 8);
  std::printf("programmatic edges ok\n");
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
  CUdeviceptr buf;
  CU_CHECK(cuMemAlloc(&buf, 64));
  CUstream s;
  CU_CHECK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
  built(buf, s);
  child(buf, s);
  captured(buf, s);
  programmatic(buf, s);
  CU_CHECK(cuStreamDestroy(s));
  CU_CHECK(cuMemFree(buf));
  std::printf("graph_structure ok\n");
  return 0;
}
