// host_callbacks: host functions in stream order. cudaLaunchHostFunc between kernels on four
// non-blocking streams, four rounds each, interleaved: a kernel writes 64 values into mapped
// page-locked memory, the host function checks that they are there (the kernel finished before it
// ran), sleeps 20 ms and writes a reply, which the next kernel copies into device memory (the
// stream waited for the host function). The same with cudaStreamAddCallback (its status and stream
// arguments checked) and on the legacy default stream with cudaDeviceSynchronize. A host function
// in a graph captured from a stream (kernel -> host function -> kernel, 5 replays) and one added by
// cudaGraphAddHostNode between two kernel nodes (3 replays). Last, what a CUDA call made inside a
// host function returns: printed, not asserted (the comparison with the native run checks it).
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "common.h"

constexpr int W = 64;                 // values the first kernel of a round writes
constexpr int ROUNDS = 4;             // rounds per stream (at most)
constexpr int NSTREAMS = 4;           // part 1's streams
constexpr int NLANES = NSTREAMS + 2;  // + the callback stream + the legacy stream
constexpr int NGRAPHS = 2;
constexpr int MAX_REPLAYS = 8;

// out[i] = value + i, into mapped page-locked memory.
__global__ void fill(uint32_t* out, uint32_t value) { out[threadIdx.x] = value + threadIdx.x; }

// *dst = *in: what a host function wrote into page-locked memory (volatile: read from memory).
__global__ void take(const volatile uint32_t* in, uint32_t* dst) { *dst = *in; }

// The graph kernels. Every replay has the same arguments, so the replay number k is counted on
// the device. One block: every thread reads the counter before thread 0 moves it on.
__global__ void tick_fill(uint32_t* counter, uint32_t* out, uint32_t base) {
  const uint32_t k = *counter + 1;
  out[threadIdx.x] = base + k * 1000u + threadIdx.x;
  __syncthreads();
  if (threadIdx.x == 0) *counter = k;
}
__global__ void take_at(const volatile uint32_t* in, const uint32_t* counter, uint32_t* dst) {
  const uint32_t k = *counter;
  if (k >= 1 && k <= MAX_REPLAYS) dst[k - 1] = *in;
}

// Host functions of different streams may run at once, on threads of CUDA's choosing: what they
// record is guarded by this, and each stream has a log of its own, so the output is deterministic.
static std::mutex g_mutex;

// W values written by a kernel and a reply written by a host function, in mapped page-locked
// memory: the host's view and the device's.
struct Slot {
  uint32_t *out, *in, *out_dev, *in_dev;
};

// The reply comes late on purpose: had the stream not waited for the host function, the kernel
// after it would read the previous reply.
static void late_reply(uint32_t* in, uint32_t value) {
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  *static_cast<volatile uint32_t*>(in) = value;
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

// ---- streams: one lane per stream ----
struct Lane;
struct Step {  // one host function's argument
  Lane* lane;
  int round;
};
struct Lane {
  int id = 0;
  cudaStream_t stream = nullptr;
  Slot m{};
  uint32_t* results = nullptr;  // device: what each round's second kernel read
  Step steps[ROUNDS];
  // What each host function saw, in the order they ran: the first value, or 0 if any was wrong.
  std::vector<uint32_t> saw;                          // guarded by g_mutex
  int callbacks = 0, bad_status = 0, bad_stream = 0;  // cudaStreamAddCallback's arguments
};

static uint32_t sent(int lane, int r) { return (lane + 1) * 100000u + r * 1000u; }  // by fill
static uint32_t reply(int lane, int r) { return sent(lane, r) + 500u; }  // by the host function

// The body of the host functions and the stream callbacks. No CUDA call, and nothing that waits
// for the GPU: the stream waits for this function.
static void observe_and_reply(Step* st) {
  Lane& l = *st->lane;
  const volatile uint32_t* out = l.m.out;
  bool all = true;
  for (int i = 0; i < W; ++i) all &= out[i] == sent(l.id, st->round) + i;
  {
    std::lock_guard<std::mutex> g(g_mutex);
    l.saw.push_back(all ? out[0] : 0u);
  }
  late_reply(l.m.in, reply(l.id, st->round));
}
static void CUDART_CB host_fn(void* p) { observe_and_reply(static_cast<Step*>(p)); }
static void CUDART_CB stream_cb(cudaStream_t s, cudaError_t status, void* p) {
  Step* st = static_cast<Step*>(p);
  {
    std::lock_guard<std::mutex> g(g_mutex);
    ++st->lane->callbacks;
    st->lane->bad_status += status != cudaSuccess;
    st->lane->bad_stream += s != st->lane->stream;
  }
  observe_and_reply(st);
}

// fill -> host function (or callback) -> take, on the lane's stream.
static void enqueue_round(Lane& l, int r, bool callback) {
  fill<<<1, W, 0, l.stream>>>(l.m.out_dev, sent(l.id, r));
  CK_LAUNCH();
  if (callback) {
    CK(cudaStreamAddCallback(l.stream, stream_cb, &l.steps[r], 0));
  } else {
    CK(cudaLaunchHostFunc(l.stream, host_fn, &l.steps[r]));
  }
  take<<<1, 1, 0, l.stream>>>(l.m.in_dev, l.results + r);
  CK_LAUNCH();
}

// Prints what the lane's host functions saw, in the order they ran, and what the kernels after
// them read; true if all is right. The lane's stream must have been synchronized.
static bool report_lane(const char* label, Lane& l, int rounds) {
  uint32_t got[ROUNDS];
  CK(cudaMemcpy(got, l.results, rounds * sizeof(uint32_t), cudaMemcpyDeviceToHost));
  std::lock_guard<std::mutex> g(g_mutex);
  bool ok = l.saw.size() == static_cast<size_t>(rounds);
  std::printf("%s: host functions saw", label);
  for (size_t r = 0; r < l.saw.size(); ++r) {
    std::printf(" %u", static_cast<unsigned>(l.saw[r]));
    ok &= l.saw[r] == sent(l.id, static_cast<int>(r));
  }
  std::printf("; the kernels after them read");
  for (int r = 0; r < rounds; ++r) {
    std::printf(" %u", static_cast<unsigned>(got[r]));
    ok &= got[r] == reply(l.id, r);
  }
  std::printf("\n");
  return ok;
}

// ---- graphs ----
struct GraphState {
  Slot m{};
  uint32_t *counter = nullptr, *results = nullptr;  // device: replays counted, what take_at read
  uint32_t base = 0;
  int runs = 0, wrong = 0;  // guarded by g_mutex
};
static void CUDART_CB graph_host_fn(void* p) {
  GraphState& g = *static_cast<GraphState*>(p);
  uint32_t k;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    k = static_cast<uint32_t>(++g.runs);
    const volatile uint32_t* out = g.m.out;
    bool all = true;
    for (int i = 0; i < W; ++i) all &= out[i] == g.base + k * 1000u + i;
    g.wrong += !all;
  }
  late_reply(g.m.in, g.base + k * 1000u + 500u);
}

static bool report_graph(const char* label, GraphState& g, int launches) {
  uint32_t counter = 0, got[MAX_REPLAYS];
  CK(cudaMemcpy(&counter, g.counter, sizeof counter, cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(got, g.results, launches * sizeof(uint32_t), cudaMemcpyDeviceToHost));
  std::lock_guard<std::mutex> lock(g_mutex);
  std::printf("%s: %d launches, host function ran %d times, %d saw wrong values, counter %u; read",
              label, launches, g.runs, g.wrong, static_cast<unsigned>(counter));
  bool ok = g.runs == launches && g.wrong == 0 && counter == static_cast<uint32_t>(launches);
  for (int k = 0; k < launches; ++k) {
    std::printf(" %u", static_cast<unsigned>(got[k]));
    ok &= got[k] == g.base + (k + 1) * 1000u + 500u;
  }
  std::printf("\n");
  return ok;
}

static cudaGraphNode_t add_kernel_node(cudaGraph_t graph, const cudaGraphNode_t* dep, void* func,
                                       int threads, void** args) {
  cudaKernelNodeParams p{};
  p.func = func;
  p.gridDim = dim3(1);
  p.blockDim = dim3(threads);
  p.kernelParams = args;
  cudaGraphNode_t node;
  CK(cudaGraphAddKernelNode(&node, graph, dep, dep != nullptr ? 1 : 0, &p));
  return node;
}

// ---- a CUDA call inside a host function ----
struct ApiCall {
  cudaError_t result = cudaErrorUnknown, last = cudaErrorUnknown;
  void* ptr = nullptr;
};
static void CUDART_CB api_host_fn(void* p) {
  // cudaMalloc does not wait for the stream, so it cannot deadlock here whatever it answers.
  // What it may have allocated is freed by main once the stream has drained: cudaFree may
  // synchronize the device, which would wait for this very function.
  void* ptr = nullptr;
  const cudaError_t e = cudaMalloc(&ptr, 16);
  const cudaError_t last = cudaGetLastError();  // clears this thread's last error
  std::lock_guard<std::mutex> g(g_mutex);
  *static_cast<ApiCall*>(p) = {e, last, e == cudaSuccess ? ptr : nullptr};
}

int main() {
  CK(cudaSetDevice(0));
  // One page-locked block: a slot per lane and per graph. Kernels use its device address (the
  // same pointer natively, with unified addressing; not so through vgpu).
  const size_t slot = W + 1, words = (NLANES + NGRAPHS) * slot;
  uint32_t *pinned = nullptr, *pinned_dev = nullptr, *dmem = nullptr;
  CK(cudaMallocHost(&pinned, words * sizeof(uint32_t)));
  CK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&pinned_dev), pinned, 0));
  const size_t dwords = NLANES * ROUNDS + NGRAPHS * (1 + MAX_REPLAYS);
  CK(cudaMalloc(&dmem, dwords * sizeof(uint32_t)));
  auto zero = [&] {
    std::memset(pinned, 0, words * sizeof(uint32_t));
    CK(cudaMemset(dmem, 0, dwords * sizeof(uint32_t)));
    CK(cudaDeviceSynchronize());  // the streams below are non-blocking: they would not wait
  };
  // Every kernel once, so that it is loaded (lazy loading) before any capture; then all zero again.
  zero();
  fill<<<1, W>>>(pinned_dev, 0);
  take<<<1, 1>>>(pinned_dev, dmem);
  tick_fill<<<1, W>>>(dmem, pinned_dev, 0);
  take_at<<<1, 1>>>(pinned_dev, dmem, dmem + 1);
  CK_LAUNCH();
  CK(cudaDeviceSynchronize());
  zero();
  auto slot_at = [&](int i) {
    uint32_t *h = pinned + i * slot, *d = pinned_dev + i * slot;
    return Slot{h, h + W, d, d + W};
  };

  Lane lanes[NLANES];
  for (int i = 0; i < NLANES; ++i) {
    Lane& l = lanes[i];
    l.id = i;
    l.m = slot_at(i);
    l.results = dmem + i * ROUNDS;
    for (int r = 0; r < ROUNDS; ++r) l.steps[r] = {&l, r};
    if (i < NLANES - 1) CK(cudaStreamCreateWithFlags(&l.stream, cudaStreamNonBlocking));
  }

  // --- 1. cudaLaunchHostFunc on four streams, their rounds interleaved ---
  for (int r = 0; r < ROUNDS; ++r)
    for (int s = 0; s < NSTREAMS; ++s) enqueue_round(lanes[s], r, false);
  for (int s = 0; s < NSTREAMS; ++s) CK(cudaStreamSynchronize(lanes[s].stream));
  for (int s = 0; s < NSTREAMS; ++s) {
    char label[32];
    std::snprintf(label, sizeof label, "stream %d", s);
    EXPECT(report_lane(label, lanes[s], ROUNDS));
  }

  // --- 2. cudaStreamAddCallback ---
  Lane& cb = lanes[NSTREAMS];
  for (int r = 0; r < 3; ++r) enqueue_round(cb, r, true);
  CK(cudaStreamSynchronize(cb.stream));
  EXPECT(report_lane("cudaStreamAddCallback", cb, 3));
  std::printf("callbacks: %d, status not cudaSuccess: %d, stream not the one added to: %d\n",
              cb.callbacks, cb.bad_status, cb.bad_stream);
  EXPECT(cb.callbacks == 3 && cb.bad_status == 0 && cb.bad_stream == 0);

  // --- 3. the legacy default stream (stream 0) ---
  Lane& legacy = lanes[NLANES - 1];
  for (int r = 0; r < 2; ++r) enqueue_round(legacy, r, false);
  CK(cudaDeviceSynchronize());
  EXPECT(report_lane("legacy stream", legacy, 2));

  GraphState graphs[NGRAPHS];
  for (int i = 0; i < NGRAPHS; ++i) {
    graphs[i].m = slot_at(NLANES + i);
    graphs[i].counter = dmem + NLANES * ROUNDS + i * (1 + MAX_REPLAYS);
    graphs[i].results = graphs[i].counter + 1;
    graphs[i].base = (7u + i) * 100000u;
  }
  cudaStream_t gs;
  CK(cudaStreamCreateWithFlags(&gs, cudaStreamNonBlocking));

  // --- 4. a graph captured from a stream: kernel -> host function -> kernel, 5 replays ---
  GraphState& g1 = graphs[0];
  CK(cudaStreamBeginCapture(gs, cudaStreamCaptureModeGlobal));
  tick_fill<<<1, W, 0, gs>>>(g1.counter, g1.m.out_dev, g1.base);
  CK_LAUNCH();
  CK(cudaLaunchHostFunc(gs, graph_host_fn, &g1));
  take_at<<<1, 1, 0, gs>>>(g1.m.in_dev, g1.counter, g1.results);
  CK_LAUNCH();
  cudaGraph_t graph = nullptr;
  CK(cudaStreamEndCapture(gs, &graph));
  int runs_in_capture;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    runs_in_capture = g1.runs;
  }
  std::printf("captured graph: host function runs during the capture: %d\n", runs_in_capture);
  EXPECT(runs_in_capture == 0);
  cudaGraphExec_t exec;
  CK(cudaGraphInstantiate(&exec, graph, 0));
  for (int i = 0; i < 5; ++i) CK(cudaGraphLaunch(exec, gs));
  CK(cudaStreamSynchronize(gs));
  EXPECT(report_graph("captured graph", g1, 5));
  CK(cudaGraphExecDestroy(exec));
  CK(cudaGraphDestroy(graph));

  // --- 5. a graph built by hand: kernel node -> host node -> kernel node, 3 replays ---
  GraphState& g2 = graphs[1];
  CK(cudaGraphCreate(&graph, 0));
  void* first_args[] = {&g2.counter, &g2.m.out_dev, &g2.base};
  const cudaGraphNode_t first =
      add_kernel_node(graph, nullptr, reinterpret_cast<void*>(tick_fill), W, first_args);
  cudaHostNodeParams hp{};
  hp.fn = graph_host_fn;
  hp.userData = &g2;
  cudaGraphNode_t host;
  CK(cudaGraphAddHostNode(&host, graph, &first, 1, &hp));
  void* last_args[] = {&g2.m.in_dev, &g2.counter, &g2.results};
  add_kernel_node(graph, &host, reinterpret_cast<void*>(take_at), 1, last_args);
  CK(cudaGraphInstantiate(&exec, graph, 0));
  for (int i = 0; i < 3; ++i) CK(cudaGraphLaunch(exec, gs));
  CK(cudaStreamSynchronize(gs));
  EXPECT(report_graph("hand-built graph", g2, 3));
  CK(cudaGraphExecDestroy(exec));
  CK(cudaGraphDestroy(graph));

  // --- 6. a CUDA call inside a host function, last and on its own stream ---
  ApiCall call;
  cudaStream_t as;
  CK(cudaStreamCreateWithFlags(&as, cudaStreamNonBlocking));
  fill<<<1, W, 0, as>>>(lanes[0].m.out_dev, 1u);
  CK_LAUNCH();
  CK(cudaLaunchHostFunc(as, api_host_fn, &call));
  fill<<<1, W, 0, as>>>(lanes[0].m.out_dev, 2u);  // the stream goes on after it
  CK_LAUNCH();
  CK(cudaStreamSynchronize(as));
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    std::printf("CUDA call inside a host function: %s\n", cudaGetErrorName(call.result));
    std::printf("last error inside the host function after it: %s\n", cudaGetErrorName(call.last));
  }
  if (call.ptr != nullptr) CK(cudaFree(call.ptr));
  std::printf("last error in the main thread: %s\n", cudaGetErrorName(cudaGetLastError()));
  const bool after = lanes[0].m.out[0] == 2u && lanes[0].m.out[W - 1] == 2u + W - 1;
  std::printf("the stream ran the kernel after it: %d\n", after);
  EXPECT(after);

  CK(cudaStreamDestroy(as));
  CK(cudaStreamDestroy(gs));
  for (int i = 0; i < NLANES - 1; ++i) CK(cudaStreamDestroy(lanes[i].stream));
  CK(cudaFreeHost(pinned));
  CK(cudaFree(dmem));
  std::printf("host_callbacks PASS\n");
  return 0;
}
