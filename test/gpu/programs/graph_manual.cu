// graph_manual: a CUDA graph built node by node. A memset node and four kernel nodes whose
// edges are added after the nodes, in an order unlike the order of adding: only the edges give
// the right answer; an event-record and an event-wait node; a memcpy node copies the result
// into page-locked memory. cudaGraphGetNodes and cudaGraphNodeGetType, 10 replays checked exactly, a
// node of another graph refused as a dependency. Then the whole graph as a child node, twice in
// a row, of a parent graph (the child destroyed before the parent runs: the nodes hold copies).
#include <vector>

#include "common.h"

constexpr int N = 1 << 12;
constexpr int BLOCK = 256;

// x[i] = a*x[i] + b: exact in float for the small integers used here.
__global__ void affine(float* x, int n, float a, float b) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) x[i] = a * x[i] + b;
}

static const char* type_name(cudaGraphNodeType t) {
  switch (t) {
    case cudaGraphNodeTypeKernel: return "kernel";
    case cudaGraphNodeTypeMemset: return "memset";
    case cudaGraphNodeTypeEmpty: return "empty";
    case cudaGraphNodeTypeMemcpy: return "memcpy";
    case cudaGraphNodeTypeEventRecord: return "event record";
    case cudaGraphNodeTypeWaitEvent: return "event wait";
    case cudaGraphNodeTypeGraph: return "child graph";
    default: return "other";
  }
}

int main() {
  float* x = nullptr;
  CK(cudaMalloc(&x, N * sizeof(float)));
  cudaStream_t s;
  CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  affine<<<1, 1>>>(x, 0, 1.0f, 0.0f);  // loads the module before any graph is built
  CK_LAUNCH();
  CK(cudaDeviceSynchronize());

  cudaGraph_t graph;
  CK(cudaGraphCreate(&graph, 0));
  int n = N;
  float as[4] = {2.0f, 1.0f, 2.0f, 1.0f}, bs[4] = {1.0f, 3.0f, 0.0f, 5.0f};
  cudaGraphNode_t kernels[4];
  // Added last-first: kernels[3] is added first, kernels[0] last.
  for (int k = 3; k >= 0; --k) {
    void* args[] = {&x, &n, &as[k], &bs[k]};
    cudaKernelNodeParams p{};
    p.func = reinterpret_cast<void*>(affine);
    p.gridDim = dim3((N + BLOCK - 1) / BLOCK);
    p.blockDim = dim3(BLOCK);
    p.kernelParams = args;
    CK(cudaGraphAddKernelNode(&kernels[k], graph, nullptr, 0, &p));
  }
  cudaMemsetParams m{};
  m.dst = x;
  m.value = 0x3f800000;  // 1.0f
  m.elementSize = 4;
  m.width = N;
  m.height = 1;
  cudaGraphNode_t memset, empty;
  CK(cudaGraphAddMemsetNode(&memset, graph, nullptr, 0, &m));
  // memset -> k0 -> k1 -> k2 -> k3 -> empty
  cudaGraphNode_t from[4] = {memset, kernels[0], kernels[1], kernels[2]};
  cudaGraphNode_t to[4] = {kernels[0], kernels[1], kernels[2], kernels[3]};
  CK(cudaGraphAddDependencies(graph, from, to, nullptr, 4));
  CK(cudaGraphAddEmptyNode(&empty, graph, &kernels[3], 1));
  // An event the graph records after the last kernel, and waits for.
  cudaEvent_t start, done;
  CK(cudaEventCreate(&start));
  CK(cudaEventCreate(&done));
  cudaGraphNode_t record, wait;
  CK(cudaGraphAddEventRecordNode(&record, graph, &kernels[3], 1, done));
  CK(cudaGraphAddEventWaitNode(&wait, graph, &record, 1, done));
  // The result into page-locked memory, by a memcpy node after the last kernel.
  float* result = nullptr;
  CK(cudaMallocHost(&result, N * sizeof(float)));
  cudaGraphNode_t download;
  CK(cudaGraphAddMemcpyNode1D(&download, graph, &empty, 1, result, x, N * sizeof(float), cudaMemcpyDeviceToHost));

  size_t count = 0;
  CK(cudaGraphGetNodes(graph, nullptr, &count));
  std::vector<cudaGraphNode_t> nodes(count);
  CK(cudaGraphGetNodes(graph, nodes.data(), &count));
  std::printf("nodes: %zu:", count);
  for (cudaGraphNode_t node : nodes) {
    cudaGraphNodeType t;
    CK(cudaGraphNodeGetType(node, &t));
    std::printf(" %s", type_name(t));
  }
  std::printf("\n");

  cudaGraph_t other;
  CK(cudaGraphCreate(&other, 0));
  cudaGraphNode_t stranger;
  EXPECT_ERR("a node of another graph as a dependency", cudaGraphAddEmptyNode(&stranger, other, &kernels[0], 1),
             cudaErrorInvalidValue);
  CK(cudaGraphDestroy(other));

  cudaGraphExec_t exec;
  CK(cudaGraphInstantiate(&exec, graph, 0));
  CK(cudaEventRecord(start, s));
  for (int i = 0; i < 10; ++i) CK(cudaGraphLaunch(exec, s));
  CK(cudaStreamSynchronize(s));
  float ms = -1;
  std::printf("event recorded by the graph: %s\n", cudaGetErrorName(cudaEventElapsedTime(&ms, start, done)));
  EXPECT(ms >= 0);
  std::vector<float> got(N);
  CK(cudaMemcpy(got.data(), x, N * sizeof(float), cudaMemcpyDeviceToHost));
  float want = 1.0f;
  for (int k = 0; k < 4; ++k) want = as[k] * want + bs[k];
  bool match = true;
  for (int i = 0; i < N; ++i) match &= got[i] == want && result[i] == want;
  std::printf("after 10 replays: x=%.1f (expected %.1f), copied out by the graph=%.1f, match=%d\n", got[0], want,
              result[0], match);
  EXPECT(match);
  CK(cudaGraphExecDestroy(exec));

  // No edge closing a cycle: the driver takes one and then crashes the process that
  // instantiates the graph, so a native run cannot be compared (vgpud refuses the
  // instantiation; test/integration/hostile_graph_test.cpp and run-hostile.sh check that).

  // The graph as a child, twice in a row: each launch of the parent runs it two times.
  cudaGraph_t parent;
  CK(cudaGraphCreate(&parent, 0));
  cudaGraphNode_t first, second;
  CK(cudaGraphAddChildGraphNode(&first, parent, nullptr, 0, graph));
  CK(cudaGraphAddChildGraphNode(&second, parent, &first, 1, graph));
  CK(cudaGraphDestroy(graph));
  cudaGraphNodeType child_type;
  CK(cudaGraphNodeGetType(second, &child_type));
  cudaGraphExec_t parent_exec;
  CK(cudaGraphInstantiate(&parent_exec, parent, 0));
  CK(cudaMemset(x, 0, N * sizeof(float)));
  for (int i = 0; i < 3; ++i) CK(cudaGraphLaunch(parent_exec, s));
  CK(cudaStreamSynchronize(s));
  CK(cudaMemcpy(got.data(), x, N * sizeof(float), cudaMemcpyDeviceToHost));
  match = true;
  for (int i = 0; i < N; ++i) match &= got[i] == want && result[i] == want;
  std::printf("parent of two %s nodes, 3 launches: x=%.1f, copied out=%.1f, match=%d\n", type_name(child_type),
              got[0], result[0], match);
  EXPECT(match);
  CK(cudaGraphExecDestroy(parent_exec));
  CK(cudaGraphDestroy(parent));
  CK(cudaEventDestroy(start));  // the graph's event nodes name them
  CK(cudaEventDestroy(done));
  CK(cudaStreamDestroy(s));
  CK(cudaFreeHost(result));
  CK(cudaFree(x));
  std::printf("graph_manual PASS\n");
  return 0;
}
