// graph_queries: a graph's structure read back and changed. A diamond built by hand: its edges
// (cudaGraphGetEdges), root nodes, each node's dependencies and dependents; an edge removed
// (cudaGraphRemoveDependencies) and a node destroyed (cudaGraphDestroyNode), the results of a
// replay after each; a clone and cudaGraphNodeFindInClone; a child graph node's graph
// (cudaGraphChildGraphNodeGetGraph) given one more node, which the parent then runs. A stream
// capture asked for its graph and the nodes the next one will depend on
// (cudaStreamGetCaptureInfo), a node added to that graph by hand and the capture made to go on
// after it (cudaStreamUpdateCaptureDependencies); a capture begun into an existing graph
// (cudaStreamBeginCaptureToGraph). User objects: a destructor that runs once the program's and
// the graphs' references are gone (cudaUserObjectCreate, Retain, Release,
// cudaGraphRetainUserObject, ReleaseUserObject). Counts and values only.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "common.h"

__global__ void add(int* x, int v) {
  if (threadIdx.x == 0 && blockIdx.x == 0) *x = *x * 10 + v;
}

static cudaGraphNode_t add_node(cudaGraph_t g, int* x, int v, const cudaGraphNode_t* deps, size_t n) {
  void* args[] = {&x, &v};
  cudaKernelNodeParams p{};
  p.func = reinterpret_cast<void*>(add);
  p.gridDim = dim3(1);
  p.blockDim = dim3(1);
  p.kernelParams = args;
  cudaGraphNode_t node;
  CK(cudaGraphAddKernelNode(&node, g, deps, n, &p));
  return node;
}

static size_t edges(cudaGraph_t g) {
  size_t n = 0;
  CK(cudaGraphGetEdges(g, nullptr, nullptr, nullptr, &n));
  return n;
}

static size_t deps(cudaGraphNode_t node) {
  size_t n = 0;
  CK(cudaGraphNodeGetDependencies(node, nullptr, nullptr, &n));
  return n;
}

static size_t dependents(cudaGraphNode_t node) {
  size_t n = 0;
  CK(cudaGraphNodeGetDependentNodes(node, nullptr, nullptr, &n));
  return n;
}

static size_t roots(cudaGraph_t g) {
  size_t n = 0;
  CK(cudaGraphGetRootNodes(g, nullptr, &n));
  return n;
}

static int run(cudaGraph_t g, int* x, cudaStream_t s) {
  cudaGraphExec_t exec;
  CK(cudaGraphInstantiate(&exec, g, 0));
  CK(cudaMemsetAsync(x, 0, sizeof(int), s));
  CK(cudaGraphLaunch(exec, s));
  int out = 0;
  CK(cudaMemcpyAsync(&out, x, sizeof out, cudaMemcpyDeviceToHost, s));
  CK(cudaStreamSynchronize(s));
  CK(cudaGraphExecDestroy(exec));
  return out;
}

static std::atomic<int> destroyed{0};
static void CUDART_CB on_destroy(void* p) { destroyed += *static_cast<int*>(p); }

static int wait_destroyed(int want) {
  for (int i = 0; i < 1000 && destroyed.load() < want; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return destroyed.load();
}

int main() {
  int* x = nullptr;
  CK(cudaMalloc(&x, sizeof(int)));
  cudaStream_t s;
  CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  add<<<1, 1, 0, s>>>(x, 0);  // loads the module
  CK_LAUNCH();
  CK(cudaStreamSynchronize(s));

  // ---- a diamond: a -> b, a -> c, b -> d, c -> d (x = ((a*10+b)*10+c)*10+d in some order of b, c)
  cudaGraph_t g;
  CK(cudaGraphCreate(&g, 0));
  const cudaGraphNode_t a = add_node(g, x, 1, nullptr, 0);
  const cudaGraphNode_t b = add_node(g, x, 2, &a, 1);
  const cudaGraphNode_t c = add_node(g, x, 3, &a, 1);
  const cudaGraphNode_t bc[] = {b, c};
  const cudaGraphNode_t d = add_node(g, x, 4, bc, 2);
  std::printf("diamond: edges=%zu roots=%zu deps(a,b,d)=%zu,%zu,%zu dependents(a,d)=%zu,%zu\n", edges(g), roots(g),
              deps(a), deps(b), deps(d), dependents(a), dependents(d));
  std::vector<cudaGraphNode_t> from(4), to(4);
  size_t n = 4;
  CK(cudaGraphGetEdges(g, from.data(), to.data(), nullptr, &n));
  int into_d = 0;
  for (size_t i = 0; i < n; ++i) into_d += to[i] == d ? 1 : 0;
  std::printf("edges into d: %d\n", into_d);
  cudaGraphNode_t root = nullptr;
  n = 1;
  CK(cudaGraphGetRootNodes(g, &root, &n));
  std::printf("root is a: %d\n", root == a ? 1 : 0);
  // c must follow b now: b -> c, and c no longer waits for a.
  CK(cudaGraphAddDependencies(g, &b, &c, nullptr, 1));
  CK(cudaGraphRemoveDependencies(g, &a, &c, nullptr, 1));
  std::printf("chain: edges=%zu deps(c)=%zu x=%d\n", edges(g), deps(c), run(g, x, s));
  // Without c: a -> b -> d.
  CK(cudaGraphDestroyNode(c));
  size_t count = 0;
  CK(cudaGraphGetNodes(g, nullptr, &count));
  std::printf("without c: nodes=%zu edges=%zu deps(d)=%zu x=%d\n", count, edges(g), deps(d), run(g, x, s));
  // A clone, and b's copy in it.
  cudaGraph_t clone;
  CK(cudaGraphClone(&clone, g));
  cudaGraphNode_t b2 = nullptr;
  CK(cudaGraphNodeFindInClone(&b2, b, clone));
  cudaGraphNodeType t;
  CK(cudaGraphNodeGetType(b2, &t));
  std::printf("clone: b found=%d kernel=%d deps=%zu dependents=%zu x=%d\n", b2 != nullptr && b2 != b ? 1 : 0,
              t == cudaGraphNodeTypeKernel ? 1 : 0, deps(b2), dependents(b2), run(clone, x, s));
  CK(cudaGraphDestroy(clone));

  // ---- a child graph node's graph, given one more node
  cudaGraph_t parent;
  CK(cudaGraphCreate(&parent, 0));
  const cudaGraphNode_t first = add_node(parent, x, 5, nullptr, 0);
  cudaGraphNode_t child_node;
  CK(cudaGraphAddChildGraphNode(&child_node, parent, &first, 1, g));
  CK(cudaGraphDestroy(g));
  cudaGraph_t child;
  CK(cudaGraphChildGraphNodeGetGraph(child_node, &child));
  count = 0;
  CK(cudaGraphGetNodes(child, nullptr, &count));
  std::printf("child graph: nodes=%zu edges=%zu x=%d\n", count, edges(child), run(parent, x, s));
  CK(cudaGraphDestroy(parent));

  // ---- a capture's graph and dependencies, a node added by hand, the capture going on after it
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  CK(cudaMemsetAsync(x, 0, sizeof(int), s));
  add<<<1, 1, 0, s>>>(x, 6);
  CK_LAUNCH();
  cudaStreamCaptureStatus status;
  unsigned long long id = 0;
  cudaGraph_t capturing = nullptr;
  const cudaGraphNode_t* next = nullptr;
  size_t next_count = 0;
  CK(cudaStreamGetCaptureInfo(s, &status, &id, &capturing, &next, nullptr, &next_count));
  CK(cudaGraphNodeGetType(next[0], &t));
  std::printf("capturing: active=%d dependencies=%zu kernel=%d\n", status == cudaStreamCaptureStatusActive ? 1 : 0,
              next_count, t == cudaGraphNodeTypeKernel ? 1 : 0);
  cudaGraphNode_t by_hand = add_node(capturing, x, 7, next, next_count);
  CK(cudaStreamUpdateCaptureDependencies(s, &by_hand, nullptr, 1, cudaStreamSetCaptureDependencies));
  add<<<1, 1, 0, s>>>(x, 8);
  CK_LAUNCH();
  cudaGraph_t captured;
  CK(cudaStreamEndCapture(s, &captured));
  count = 0;
  CK(cudaGraphGetNodes(captured, nullptr, &count));
  std::printf("captured: same graph=%d nodes=%zu edges=%zu roots=%zu deps(by hand)=%zu dependents(by hand)=%zu\n",
              captured == capturing ? 1 : 0, count, edges(captured), roots(captured), deps(by_hand),
              dependents(by_hand));
  cudaGraphExec_t exec;
  CK(cudaGraphInstantiate(&exec, captured, 0));
  CK(cudaGraphLaunch(exec, s));
  int out = 0;
  CK(cudaMemcpyAsync(&out, x, sizeof out, cudaMemcpyDeviceToHost, s));
  CK(cudaStreamSynchronize(s));
  std::printf("captured: x=%d\n", out);
  CK(cudaGraphExecDestroy(exec));
  CK(cudaGraphDestroy(captured));
  // Into an existing graph, after its node.
  CK(cudaGraphCreate(&g, 0));
  const cudaGraphNode_t head = add_node(g, x, 9, nullptr, 0);
  CK(cudaStreamBeginCaptureToGraph(s, g, &head, nullptr, 1, cudaStreamCaptureModeGlobal));
  add<<<1, 1, 0, s>>>(x, 1);
  CK_LAUNCH();
  cudaGraph_t into;
  CK(cudaStreamEndCapture(s, &into));
  count = 0;
  CK(cudaGraphGetNodes(into, nullptr, &count));
  std::printf("captured into a graph: same graph=%d nodes=%zu edges=%zu x=%d\n", into == g ? 1 : 0, count, edges(g),
              run(g, x, s));
  CK(cudaGraphDestroy(g));

  // ---- user objects
  static int one = 1;
  cudaUserObject_t obj;
  CK(cudaUserObjectCreate(&obj, &one, on_destroy, 1, cudaUserObjectNoDestructorSync));
  CK(cudaUserObjectRetain(obj, 2));
  CK(cudaUserObjectRelease(obj, 2));
  CK(cudaGraphCreate(&g, 0));
  add_node(g, x, 2, nullptr, 0);
  CK(cudaGraphRetainUserObject(g, obj, 1, cudaGraphUserObjectMove));  // the program's last one
  CK(cudaGraphRetainUserObject(g, obj, 3, 0));
  CK(cudaGraphReleaseUserObject(g, obj, 3));
  CK(cudaGraphInstantiate(&exec, g, 0));
  CK(cudaGraphDestroy(g));
  CK(cudaGraphLaunch(exec, s));
  CK(cudaStreamSynchronize(s));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::printf("user object: destroyed while an executable graph holds it=%d\n", destroyed.load());
  CK(cudaGraphExecDestroy(exec));
  CK(cudaDeviceSynchronize());
  std::printf("user object: destroyed after=%d\n", wait_destroyed(1));

  CK(cudaStreamDestroy(s));
  CK(cudaFree(x));
  std::printf("graph_queries done\n");
  return 0;
}
