// programmatic_launch: programmatic dependent launch (sm_90). A producer kernel writes its output
// and then lets the next kernel start (cudaTriggerProgrammaticLaunchCompletion); the consumer
// starts, says so, waits for the producer's memory (cudaGridDependencySynchronize) and reads it.
// The producer waits a bounded time (about 0.2 s) for the consumer's "started", so whether the
// two overlapped is seen: they do only where the launch lets the consumer start early.
//  1. on a stream: the consumer launched with and without
//     cudaLaunchAttributeProgrammaticStreamSerialization;
//  2. captured from that stream: the captured edge's data (cudaGraphGetEdges with edge data;
//     without it, the lossy query's error), the graph replayed;
//  3. built by hand: two kernel nodes joined by a programmatic edge (cudaGraphAddDependencies with
//     cudaGraphEdgeData), and by a launch-order one (cudaGraphAddNode with dependency data); the
//     data as the dependency queries report it; the edge removed by its data.
// Values, counts and error names only.
#include <vector>

#include "common.h"

namespace {

constexpr int kN = 1 << 16;
constexpr long long kWaitCycles = 400LL * 1000 * 1000;  // about 0.2 s at the H200's clock

__global__ void produce(float* a, int round, volatile int* started, int* overlapped) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < kN) a[i] = i * 0.5f + round;
  __syncthreads();
  cudaTriggerProgrammaticLaunchCompletion();
  // One thread of block 0 waits for the consumer; the other blocks finish.
  if (i == 0) {
    const long long until = clock64() + kWaitCycles;
    while (*started == 0 && clock64() < until) {
    }
    *overlapped = *started != 0;
  }
}

__global__ void consume(const float* a, float* b, int* started) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i == 0) {
    *started = 1;
    __threadfence_system();
  }
  cudaGridDependencySynchronize();
  if (i < kN) b[i] = a[i] * 2.0f + 1.0f;
}

struct Buffers {
  float* a = nullptr;
  float* b = nullptr;
  int* started = nullptr;
  int* overlapped = nullptr;
};

void reset(const Buffers& m, cudaStream_t s) {
  CK(cudaMemsetAsync(m.b, 0, kN * sizeof(float), s));
  CK(cudaMemsetAsync(m.started, 0, sizeof(int), s));
  CK(cudaMemsetAsync(m.overlapped, 0, sizeof(int), s));
}

// The consumer's output checked against the producer's round; and whether the two overlapped.
void report(const char* what, const Buffers& m, int round, cudaStream_t s) {
  CK(cudaStreamSynchronize(s));
  std::vector<float> b(kN);
  int overlapped = 0;
  CK(cudaMemcpy(b.data(), m.b, kN * sizeof(float), cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(&overlapped, m.overlapped, sizeof(int), cudaMemcpyDeviceToHost));
  int wrong = 0;
  for (int i = 0; i < kN; ++i) wrong += b[i] != (i * 0.5f + round) * 2.0f + 1.0f;
  std::printf("%s: wrong=%d overlapped=%d\n", what, wrong, overlapped);
}

void launch_pair(const Buffers& m, int round, cudaStream_t s, bool programmatic) {
  produce<<<kN / 256, 256, 0, s>>>(m.a, round, m.started, m.overlapped);
  CK_LAUNCH();
  cudaLaunchAttribute attr{};
  attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(kN / 256);
  config.blockDim = dim3(256);
  config.stream = s;
  config.attrs = &attr;
  config.numAttrs = programmatic ? 1 : 0;
  CK(cudaLaunchKernelEx(&config, consume, static_cast<const float*>(m.a), m.b, m.started));
}

void print_edges(const char* what, cudaGraph_t g) {
  size_t n = 0;
  CK(cudaGraphGetEdges(g, nullptr, nullptr, nullptr, &n));
  std::vector<cudaGraphNode_t> from(n), to(n);
  std::vector<cudaGraphEdgeData> data(n);
  CK(cudaGraphGetEdges(g, from.data(), to.data(), data.data(), &n));
  std::printf("%s: %zu edges\n", what, n);
  for (size_t i = 0; i < n; ++i) {
    cudaGraphNodeType a, b;
    CK(cudaGraphNodeGetType(from[i], &a));
    CK(cudaGraphNodeGetType(to[i], &b));
    std::printf("  %d -> %d type=%d from_port=%d to_port=%d\n", static_cast<int>(a), static_cast<int>(b), data[i].type,
                data[i].from_port, data[i].to_port);
  }
  size_t m = n;
  std::printf("%s: edges without data: %s\n", what,
              cudaGetErrorName(cudaGraphGetEdges(g, from.data(), to.data(), nullptr, &m)));
  cudaGetLastError();
}

cudaGraphNode_t kernel_node(cudaGraph_t g, void* func, void** args, const cudaGraphNode_t* dep,
                            const cudaGraphEdgeData* data) {
  cudaGraphNodeParams p{};
  p.type = cudaGraphNodeTypeKernel;
  p.kernel.func = func;
  p.kernel.gridDim = dim3(kN / 256);
  p.kernel.blockDim = dim3(256);
  p.kernel.kernelParams = args;
  cudaGraphNode_t node;
  CK(cudaGraphAddNode(&node, g, dep, data, dep != nullptr ? 1 : 0, &p));
  return node;
}

void run_graph(const char* what, cudaGraph_t g, const Buffers& m, int round, cudaStream_t s) {
  cudaGraphExec_t exec;
  CK(cudaGraphInstantiate(&exec, g, 0));
  reset(m, s);
  CK(cudaGraphLaunch(exec, s));
  report(what, m, round, s);
  CK(cudaGraphExecDestroy(exec));
}

}  // namespace

int main() {
  CK(cudaSetDevice(0));
  Buffers m;
  CK(cudaMalloc(&m.a, kN * sizeof(float)));
  CK(cudaMalloc(&m.b, kN * sizeof(float)));
  CK(cudaMalloc(&m.started, sizeof(int)));
  CK(cudaMalloc(&m.overlapped, sizeof(int)));
  cudaStream_t s;
  CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));

  // 1. On a stream.
  reset(m, s);
  launch_pair(m, 1, s, /*programmatic=*/false);
  report("stream, serialized", m, 1, s);
  reset(m, s);
  launch_pair(m, 2, s, /*programmatic=*/true);
  report("stream, programmatic", m, 2, s);

  // 2. Captured.
  cudaGraph_t captured;
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  launch_pair(m, 3, s, /*programmatic=*/true);
  CK(cudaStreamEndCapture(s, &captured));
  print_edges("captured", captured);
  run_graph("captured graph", captured, m, 3, s);
  CK(cudaGraphDestroy(captured));

  // 3. Built by hand: a programmatic edge from the producer's programmatic port.
  int round = 4;
  void* produce_args[] = {&m.a, &round, &m.started, &m.overlapped};
  void* consume_args[] = {&m.a, &m.b, &m.started};
  cudaGraph_t g;
  CK(cudaGraphCreate(&g, 0));
  cudaGraphNode_t p = kernel_node(g, reinterpret_cast<void*>(produce), produce_args, nullptr, nullptr);
  cudaGraphNode_t c = kernel_node(g, reinterpret_cast<void*>(consume), consume_args, nullptr, nullptr);
  cudaGraphEdgeData edge{};
  edge.type = cudaGraphDependencyTypeProgrammatic;
  edge.from_port = cudaGraphKernelNodePortProgrammatic;
  CK(cudaGraphAddDependencies(g, &p, &c, &edge, 1));
  print_edges("built", g);
  cudaGraphNode_t dep = nullptr;
  cudaGraphEdgeData dep_data{};
  size_t n = 1;
  CK(cudaGraphNodeGetDependencies(c, &dep, &dep_data, &n));
  std::printf("built: consumer's dependencies=%zu is_producer=%d type=%d from_port=%d\n", n, dep == p, dep_data.type,
              dep_data.from_port);
  n = 1;
  CK(cudaGraphNodeGetDependentNodes(p, &dep, &dep_data, &n));
  std::printf("built: producer's dependents=%zu is_consumer=%d type=%d from_port=%d\n", n, dep == c, dep_data.type,
              dep_data.from_port);
  n = 1;
  std::printf("built: dependencies without data: %s\n",
              cudaGetErrorName(cudaGraphNodeGetDependencies(c, &dep, nullptr, &n)));
  cudaGetLastError();
  run_graph("built graph", g, m, round, s);
  // Removed: by other data, by the default data, by its own, by none (put back after each removal).
  cudaGraphEdgeData other{};
  other.type = cudaGraphDependencyTypeProgrammatic;
  other.from_port = cudaGraphKernelNodePortLaunchCompletion;
  const cudaGraphEdgeData plain{};
  const struct {
    const char* name;
    const cudaGraphEdgeData* data;
  } removals[] = {{"other data", &other}, {"default data", &plain}, {"its data", &edge}, {"no data", nullptr}};
  for (const auto& r : removals) {
    const cudaError_t e = cudaGraphRemoveDependencies(g, &p, &c, r.data, 1);
    cudaGetLastError();
    size_t left = 0;
    CK(cudaGraphGetEdges(g, nullptr, nullptr, nullptr, &left));
    std::printf("built: remove by %s: %s, %zu edges left\n", r.name, cudaGetErrorName(e), left);
    if (left == 0) CK(cudaGraphAddDependencies(g, &p, &c, &edge, 1));
  }
  CK(cudaGraphDestroy(g));

  // A launch-order edge, given as cudaGraphAddNode's dependency data.
  round = 5;
  CK(cudaGraphCreate(&g, 0));
  p = kernel_node(g, reinterpret_cast<void*>(produce), produce_args, nullptr, nullptr);
  cudaGraphEdgeData order{};
  order.type = cudaGraphDependencyTypeProgrammatic;
  order.from_port = cudaGraphKernelNodePortLaunchCompletion;
  c = kernel_node(g, reinterpret_cast<void*>(consume), consume_args, &p, &order);
  print_edges("launch order", g);
  run_graph("launch-order graph", g, m, round, s);
  CK(cudaGraphDestroy(g));

  CK(cudaStreamDestroy(s));
  std::printf("programmatic_launch: done\n");
  return 0;
}
