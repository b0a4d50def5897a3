// graph_update: graphs changed without being instantiated again. A hand-built graph (memset ->
// kernel -> copy into page-locked memory -> host node) is instantiated once and replayed 24 times
// while the executable graph's kernel arguments, memset value, copy destination and host
// function are set between launches (cudaGraphExec*NodeSetParams), its kernel node turned off and
// on (cudaGraphNodeSetEnabled); the graph's own node parameters are read back and set (a second
// instantiation sees them, the first does not). A captured graph is instantiated once and updated
// 12 times from a re-captured graph (cudaGraphExecUpdate), once refused for another shape; a child
// graph node and an event record node of an executable graph are set. Deterministic output only.
#include <vector>

#include "common.h"

constexpr int N = 1 << 12;
constexpr int BLOCK = 256;

// x[i] = a*x[i] + b: exact in float for the small integers used here.
__global__ void affine(float* x, int n, float a, float b) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) x[i] = a * x[i] + b;
}

// What the host nodes ran, in order: tag * 1000 + the value they were given.
static std::vector<int> g_ran;
static void CUDART_CB note_a(void* p) { g_ran.push_back(1000 + *static_cast<int*>(p)); }
static void CUDART_CB note_b(void* p) { g_ran.push_back(2000 + *static_cast<int*>(p)); }

static bool all_equal(const float* v, float want) {
  for (int i = 0; i < N; ++i)
    if (v[i] != want) return false;
  return true;
}

static cudaKernelNodeParams kernel_params(void** args) {
  cudaKernelNodeParams p{};
  p.func = reinterpret_cast<void*>(affine);
  p.gridDim = dim3((N + BLOCK - 1) / BLOCK);
  p.blockDim = dim3(BLOCK);
  p.kernelParams = args;
  return p;
}

static cudaMemsetParams memset_params(float* x, float value) {
  cudaMemsetParams m{};
  m.dst = x;
  std::memcpy(&m.value, &value, sizeof value);
  m.elementSize = 4;
  m.width = N;
  m.height = 1;
  return m;
}

// The hand-built graph: its nodes, set while one executable graph is replayed.
static void hand_built(float* x, float* out[2], cudaStream_t s) {
  cudaGraph_t graph;
  CK(cudaGraphCreate(&graph, 0));
  int n = N;
  float a = 2.0f, b = 1.0f;
  void* args[] = {&x, &n, &a, &b};
  const cudaKernelNodeParams k = kernel_params(args);
  const cudaMemsetParams m = memset_params(x, 1.0f);
  cudaGraphNode_t set, kernel, copy, host;
  CK(cudaGraphAddMemsetNode(&set, graph, nullptr, 0, &m));
  CK(cudaGraphAddKernelNode(&kernel, graph, &set, 1, &k));
  CK(cudaGraphAddMemcpyNode1D(&copy, graph, &kernel, 1, out[0], x, N * sizeof(float), cudaMemcpyDeviceToHost));
  int tag = 7;
  cudaHostNodeParams h{note_a, &tag};
  CK(cudaGraphAddHostNode(&host, graph, &copy, 1, &h));

  // The graph's nodes read back: what was set, the program's own pointers and values.
  cudaKernelNodeParams kg{};
  CK(cudaGraphKernelNodeGetParams(kernel, &kg));
  std::printf("kernel get: func=%d grid=%u block=%u args=%d,%g,%g\n", kg.func == reinterpret_cast<void*>(affine),
              kg.gridDim.x, kg.blockDim.x, *static_cast<int*>(kg.kernelParams[1]),
              *static_cast<float*>(kg.kernelParams[2]), *static_cast<float*>(kg.kernelParams[3]));
  cudaMemsetParams mg{};
  CK(cudaGraphMemsetNodeGetParams(set, &mg));
  std::printf("memset get: dst=%d value=0x%08x element=%u width=%zu\n", mg.dst == x, mg.value, mg.elementSize, mg.width);
  cudaMemcpy3DParms cg{};
  CK(cudaGraphMemcpyNodeGetParams(copy, &cg));
  std::printf("memcpy get: src=%d dst=%d width=%zu height=%zu depth=%zu\n", cg.srcPtr.ptr == x, cg.dstPtr.ptr == out[0],
              cg.extent.width, cg.extent.height, cg.extent.depth);
  cudaHostNodeParams hg{};
  CK(cudaGraphHostNodeGetParams(host, &hg));
  std::printf("host get: fn=%d data=%d\n", hg.fn == note_a, hg.userData == &tag);
  int priority = 0;
  cudaKernelNodeAttrValue attr{};
  attr.priority = priority;
  CK(cudaGraphKernelNodeSetAttribute(kernel, cudaKernelNodeAttributePriority, &attr));
  attr = cudaKernelNodeAttrValue{};
  CK(cudaGraphKernelNodeGetAttribute(kernel, cudaKernelNodeAttributePriority, &attr));
  std::printf("priority=%d\n", attr.priority);

  cudaGraphExec_t exec;
  CK(cudaGraphInstantiate(&exec, graph, 0));
  unsigned long long flags = 99;
  CK(cudaGraphExecGetFlags(exec, &flags));
  std::printf("exec flags=%llu\n", flags);

  // 24 replays, something set before each; the host writes what each launch should leave.
  int data[2] = {0, 0};
  uint64_t sum = 0;
  int matched = 0;
  for (int i = 0; i < 24; ++i) {
    float ai = static_cast<float>(i % 3 + 1), bi = static_cast<float>(i), fill = static_cast<float>(i % 5);
    void* iargs[] = {&x, &n, &ai, &bi};
    const cudaKernelNodeParams ki = kernel_params(iargs);
    CK(cudaGraphExecKernelNodeSetParams(exec, kernel, &ki));
    const cudaMemsetParams mi = memset_params(x, fill);
    CK(cudaGraphExecMemsetNodeSetParams(exec, set, &mi));
    float* dst = out[(i / 4) % 2];
    CK(cudaGraphExecMemcpyNodeSetParams1D(exec, copy, dst, x, N * sizeof(float), cudaMemcpyDeviceToHost));
    data[i % 2] = i;
    cudaHostNodeParams hi{i % 2 == 0 ? note_a : note_b, &data[i % 2]};
    CK(cudaGraphExecHostNodeSetParams(exec, host, &hi));
    const bool off = i >= 16 && i < 20;  // the kernel node off: the copy sees the memset alone
    CK(cudaGraphNodeSetEnabled(exec, kernel, off ? 0 : 1));
    unsigned enabled = 9;
    CK(cudaGraphNodeGetEnabled(exec, kernel, &enabled));
    EXPECT(enabled == (off ? 0u : 1u));
    CK(cudaGraphLaunch(exec, s));
    CK(cudaStreamSynchronize(s));
    const float want = off ? fill : ai * fill + bi;
    if (all_equal(dst, want)) ++matched;
    sum = fnv1a(dst, sizeof(float) * 4, sum);
  }
  std::printf("hand-built replays matched=%d/24 checksum=0x%016llx\n", matched, static_cast<unsigned long long>(sum));
  std::printf("host nodes ran:");
  for (int v : g_ran) std::printf(" %d", v);
  std::printf("\n");

  // The graph's own kernel node set: a new instantiation runs it, the first still runs its own.
  float a2 = 3.0f, b2 = 4.0f;
  void* args2[] = {&x, &n, &a2, &b2};
  const cudaKernelNodeParams k2 = kernel_params(args2);
  CK(cudaGraphKernelNodeSetParams(kernel, &k2));
  CK(cudaGraphKernelNodeGetParams(kernel, &kg));
  std::printf("kernel get after set: a=%g b=%g\n", *static_cast<float*>(kg.kernelParams[2]),
              *static_cast<float*>(kg.kernelParams[3]));
  cudaGraphExec_t second;
  CK(cudaGraphInstantiate(&second, graph, 0));
  CK(cudaGraphLaunch(second, s));
  CK(cudaStreamSynchronize(s));
  std::printf("second exec: x=%g\n", out[0][0]);  // memset 1, then 3*1+4
  CK(cudaGraphLaunch(exec, s));
  CK(cudaStreamSynchronize(s));
  std::printf("first exec again: x=%g\n", out[1][0]);  // its last settings: memset 3, 3*3+23, into out[1]
  EXPECT_ERR("kernel parameters on a memset node", cudaGraphExecKernelNodeSetParams(exec, set, &k2),
             cudaErrorInvalidValue);
  CK(cudaGraphExecDestroy(second));
  CK(cudaGraphExecDestroy(exec));
  CK(cudaGraphDestroy(graph));
}

// A capture of memset -> kernel(a, b) -> copy into `out` -> host function.
static cudaGraph_t capture(cudaStream_t s, float* x, float* out, float fill, float a, float b, int* data, bool extra) {
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  int fill_bits = 0;
  std::memcpy(&fill_bits, &fill, sizeof fill);
  CK(cudaMemsetAsync(x, 0, N * sizeof(float), s));
  affine<<<(N + BLOCK - 1) / BLOCK, BLOCK, 0, s>>>(x, N, 0.0f, fill);
  affine<<<(N + BLOCK - 1) / BLOCK, BLOCK, 0, s>>>(x, N, a, b);
  if (extra) affine<<<(N + BLOCK - 1) / BLOCK, BLOCK, 0, s>>>(x, N, 1.0f, 0.0f);
  CK(cudaMemcpyAsync(out, x, N * sizeof(float), cudaMemcpyDeviceToHost, s));
  CK(cudaLaunchHostFunc(s, note_a, data));
  cudaGraph_t g;
  CK(cudaStreamEndCapture(s, &g));
  return g;
}

static void captured(float* x, float* out, cudaStream_t s) {
  g_ran.clear();
  int data[12] = {};
  cudaGraph_t first = capture(s, x, out, 1.0f, 1.0f, 0.0f, &data[0], false);
  cudaGraphExec_t exec;
  CK(cudaGraphInstantiate(&exec, first, 0));
  CK(cudaGraphDestroy(first));
  size_t count = 0;
  int matched = 0;
  for (int i = 0; i < 12; ++i) {
    data[i] = 100 + i;
    const float fill = static_cast<float>(i % 4), a = 2.0f, b = static_cast<float>(i);
    cudaGraph_t again = capture(s, x, out, fill, a, b, &data[i], false);
    if (i == 0) CK(cudaGraphGetNodes(again, nullptr, &count));
    cudaGraphExecUpdateResultInfo info{};
    CK(cudaGraphExecUpdate(exec, again, &info));
    EXPECT(info.result == cudaGraphExecUpdateSuccess);
    CK(cudaGraphDestroy(again));  // the executable graph holds what it needs
    CK(cudaGraphLaunch(exec, s));
    CK(cudaStreamSynchronize(s));
    if (all_equal(out, a * fill + b)) ++matched;
  }
  std::printf("captured: nodes=%zu updates matched=%d/12\n", count, matched);
  std::printf("captured host functions ran:");
  for (int v : g_ran) std::printf(" %d", v);
  std::printf("\n");
  // Another shape: refused, the executable graph unchanged.
  cudaGraph_t other = capture(s, x, out, 1.0f, 5.0f, 5.0f, &data[0], true);
  cudaGraphExecUpdateResultInfo info{};
  EXPECT_ERR("update to another shape", cudaGraphExecUpdate(exec, other, &info), cudaErrorGraphExecUpdateFailure);
  std::printf("update result=%d error_node_null=%d\n", static_cast<int>(info.result), info.errorNode == nullptr);
  CK(cudaGraphLaunch(exec, s));
  CK(cudaStreamSynchronize(s));
  std::printf("after refused update: x=%g\n", out[0]);  // the last update's: 2*3+11
  CK(cudaGraphDestroy(other));
  CK(cudaGraphExecDestroy(exec));
}

// A child graph node and an event record node of an executable graph, set.
static void child_and_event(float* x, float* out, cudaStream_t s) {
  int n = N;
  float a = 1.0f, b = 1.0f;
  void* args[] = {&x, &n, &a, &b};
  auto child_of = [&](float bias) {
    b = bias;
    const cudaKernelNodeParams k = kernel_params(args);
    cudaGraph_t child;
    CK(cudaGraphCreate(&child, 0));
    cudaGraphNode_t node;
    CK(cudaGraphAddKernelNode(&node, child, nullptr, 0, &k));
    return child;
  };
  cudaGraph_t parent, child = child_of(1.0f);
  CK(cudaGraphCreate(&parent, 0));
  const cudaMemsetParams m = memset_params(x, 0.0f);
  cudaGraphNode_t set, sub, record, copy;
  CK(cudaGraphAddMemsetNode(&set, parent, nullptr, 0, &m));
  CK(cudaGraphAddChildGraphNode(&sub, parent, &set, 1, child));
  cudaEvent_t e1, e2, start;
  CK(cudaEventCreate(&e1));
  CK(cudaEventCreate(&e2));
  CK(cudaEventCreate(&start));
  CK(cudaGraphAddEventRecordNode(&record, parent, &sub, 1, e1));
  CK(cudaGraphAddMemcpyNode1D(&copy, parent, &record, 1, out, x, N * sizeof(float), cudaMemcpyDeviceToHost));
  cudaGraphExec_t exec;
  CK(cudaGraphInstantiate(&exec, parent, 0));
  cudaEvent_t got = nullptr;
  CK(cudaGraphEventRecordNodeGetEvent(record, &got));
  std::printf("event get: %d\n", got == e1);
  for (int i = 0; i < 4; ++i) {
    cudaGraph_t next = child_of(static_cast<float>(10 * (i + 1)));
    CK(cudaGraphExecChildGraphNodeSetParams(exec, sub, next));
    CK(cudaGraphDestroy(next));
    CK(cudaGraphExecEventRecordNodeSetEvent(exec, record, i % 2 == 0 ? e2 : e1));
    CK(cudaEventRecord(start, s));
    CK(cudaGraphLaunch(exec, s));
    CK(cudaStreamSynchronize(s));
    float ms = -1.0f;
    CK(cudaEventElapsedTime(&ms, start, i % 2 == 0 ? e2 : e1));
    std::printf("child %d: x=%g elapsed_positive=%d\n", i, out[0], ms >= 0.0f);
  }
  CK(cudaGraphExecDestroy(exec));
  CK(cudaGraphDestroy(parent));
  CK(cudaGraphDestroy(child));
  CK(cudaEventDestroy(e1));
  CK(cudaEventDestroy(e2));
  CK(cudaEventDestroy(start));
}

int main() {
  float* x = nullptr;
  CK(cudaMalloc(&x, N * sizeof(float)));
  float* out[2] = {nullptr, nullptr};
  CK(cudaMallocHost(&out[0], N * sizeof(float)));
  CK(cudaMallocHost(&out[1], N * sizeof(float)));
  cudaStream_t s;
  CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  affine<<<1, 1>>>(x, 0, 1.0f, 0.0f);  // loads the module before any graph is built
  CK_LAUNCH();
  CK(cudaDeviceSynchronize());
  hand_built(x, out, s);
  captured(x, out[0], s);
  child_and_event(x, out[1], s);
  CK(cudaFreeHost(out[0]));
  CK(cudaFreeHost(out[1]));
  CK(cudaFree(x));
  CK(cudaStreamDestroy(s));
  std::printf("graph_update PASS\n");
  return 0;
}
