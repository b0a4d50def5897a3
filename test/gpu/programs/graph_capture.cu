// graph_capture: CUDA graphs built by stream capture. A capture on a non-blocking stream
// (cudaStreamBeginCapture in global mode, cudaStreamIsCapturing, cudaStreamGetCaptureInfo) of a
// memset, 16 kernels and a device-to-device copy, which must not run while captured;
// cudaGraphInstantiate, cudaGraphDestroy before the exec is used, cudaGraphUpload, 100 replays of
// cudaGraphLaunch checked against the host; a fork/join capture over two streams through events;
// the capture errors (legacy stream, a synchronize and a cudaMalloc inside a capture), and a
// cudaMalloc allowed by cudaThreadExchangeStreamCaptureMode(Relaxed). Then pageable memory in a
// captured graph, for 1000 and 3,000,000 floats (12 MB, more than one of vgpu's staging blocks):
// a capture of cudaMemcpyAsync from a std::vector to the device, a kernel and cudaMemcpyAsync back
// into another std::vector, replayed 3 times with new input written between replays, each checked
// exactly (the graph reads and writes the pageable memory at each launch, not at capture);
// cudaGraphGetNodes and cudaGraphNodeGetType on that graph; cudaGraphClone, the original destroyed,
// the clone instantiated and run on new input. Error names and node lists are printed, not
// asserted: the comparison with the native run checks them.
#include <algorithm>
#include <vector>

#include "common.h"

// x[i] = a*x[i] + b + (i % 5). The (i % 5) term makes the elements differ, so a misplaced index
// shows. The values stay small integers, so every result is exact in float (FMA or not).
__global__ void affine(float* x, int n, float a, float b) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) x[i] = a * x[i] + b + static_cast<float>(i % 5);
}

// y[i] = 2*x[i] + 1, out of place, for section 6. Its inputs (fill_input) are integers below
// 2^20, so every result is exact in float (FMA or not) and can be compared with ==.
__global__ void twice_plus_one(const float* x, float* y, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = 2.0f * x[i] + 1.0f;
}

constexpr int N = 1 << 14;
constexpr size_t BYTES = N * sizeof(float);
constexpr int BLOCK = 256;
constexpr int GRID = (N + BLOCK - 1) / BLOCK;

// The host model of affine(), in float and again in double: they must agree, which shows that
// every value is exact, so the GPU's result must equal it bit for bit.
static bool host_affine(std::vector<float>& x, float a, float b) {
  bool exact = true;
  for (int i = 0; i < N; ++i) {
    const double d = static_cast<double>(a) * x[i] + b + (i % 5);
    x[i] = a * x[i] + b + static_cast<float>(i % 5);
    exact &= static_cast<double>(x[i]) == d;
  }
  return exact;
}

static long long checksum(const std::vector<float>& x) {
  long long s = 0;
  for (float v : x) s += static_cast<long long>(v);
  return s;
}

static const char* status_name(cudaStreamCaptureStatus st) {
  switch (st) {
    case cudaStreamCaptureStatusNone: return "none";
    case cudaStreamCaptureStatusActive: return "active";
    case cudaStreamCaptureStatusInvalidated: return "invalidated";
  }
  return "unknown";
}

static const char* mode_name(cudaStreamCaptureMode m) {
  switch (m) {
    case cudaStreamCaptureModeGlobal: return "global";
    case cudaStreamCaptureModeThreadLocal: return "thread_local";
    case cudaStreamCaptureModeRelaxed: return "relaxed";
  }
  return "unknown";
}

static cudaStreamCaptureStatus capturing(cudaStream_t s) {
  cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
  CK(cudaStreamIsCapturing(s, &st));
  return st;
}

static std::vector<float> download(const float* d) {
  std::vector<float> h(N);
  CK(cudaMemcpy(h.data(), d, BYTES, cudaMemcpyDeviceToHost));
  return h;
}

// Per-launch parameters of the first capture: a in {1, 2}, b in {-1, 0, 1, 2}.
static float param_a(int k) { return k % 3 == 0 ? 2.0f : 1.0f; }
static float param_b(int k) { return static_cast<float>(k % 4 - 1); }

// --- helpers of section 6 (pageable memory in a captured graph) ---

// Input of round `seed`: integers in [0, 1000003), all below 2^20. Two rounds whose seeds differ by
// 1..4 differ at every element (131 * 4 < 1000003), so an output computed from an older input
// fails everywhere, not just somewhere.
static void fill_input(std::vector<float>& h, uint32_t seed) {
  for (size_t i = 0; i < h.size(); ++i)
    h[i] = static_cast<float>((i * 7 + static_cast<size_t>(seed) * 131) % 1000003);
}

// Written into the output before every run: every result is at least 1, so an element the graph
// did not write shows.
constexpr float SENTINEL = -1.0f;

static bool is_transform(const std::vector<float>& in, const std::vector<float>& out) {
  for (size_t i = 0; i < in.size(); ++i)
    if (out[i] != 2.0f * in[i] + 1.0f) return false;
  return true;
}

static bool all_sentinel(const std::vector<float>& out) {
  for (float v : out)
    if (v != SENTINEL) return false;
  return true;
}

// Prints " nodes=N:" and each node's type, in cudaGraphGetNodes' order.
static void print_nodes(cudaGraph_t g) {
  size_t count = 0;
  CK(cudaGraphGetNodes(g, nullptr, &count));
  std::vector<cudaGraphNode_t> nodes(count);
  if (count > 0) CK(cudaGraphGetNodes(g, nodes.data(), &count));
  std::printf(" nodes=%zu:", count);
  for (size_t k = 0; k < count; ++k) {
    cudaGraphNodeType t;
    CK(cudaGraphNodeGetType(nodes[k], &t));
    switch (t) {
      case cudaGraphNodeTypeKernel: std::printf(" kernel"); break;
      case cudaGraphNodeTypeMemcpy: std::printf(" memcpy"); break;
      case cudaGraphNodeTypeMemset: std::printf(" memset"); break;
      case cudaGraphNodeTypeHost: std::printf(" host"); break;
      case cudaGraphNodeTypeEmpty: std::printf(" empty"); break;
      default: std::printf(" type%d", static_cast<int>(t)); break;
    }
  }
}

// Section 6 for n floats: captures pageable H2D copy -> twice_plus_one -> pageable D2H copy on s,
// replays it 3 times with new input, lists its nodes, then runs a clone of it. Prints three lines
// and returns whether every result matched.
static bool pageable_graph(cudaStream_t s, int n) {
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  const int grid = (n + BLOCK - 1) / BLOCK;
  // Ordinary pageable memory (not cudaMallocHost): the driver must reach it at each launch.
  std::vector<float> in(n), out(n);
  float *din, *dout;
  CK(cudaMalloc(&din, bytes));
  CK(cudaMalloc(&dout, bytes));

  fill_input(in, 1);
  std::fill(out.begin(), out.end(), SENTINEL);
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  CK(cudaMemcpyAsync(din, in.data(), bytes, cudaMemcpyHostToDevice, s));
  twice_plus_one<<<grid, BLOCK, 0, s>>>(din, dout, n);
  CK_LAUNCH();
  CK(cudaMemcpyAsync(out.data(), dout, bytes, cudaMemcpyDeviceToHost, s));
  cudaGraph_t graph = nullptr;
  CK(cudaStreamEndCapture(s, &graph));
  EXPECT(graph != nullptr);
  const bool untouched = all_sentinel(out);  // a capture runs nothing

  // Each replay gets an input unlike the one present at capture (seed 1) and unlike the previous
  // replay's, written after the previous replay has finished: a graph that had copied the input at
  // capture, at instantiation or at its first launch fails here.
  cudaGraphExec_t exec = nullptr;
  CK(cudaGraphInstantiate(&exec, graph, 0));
  bool match = true;
  for (uint32_t r = 0; r < 3; ++r) {
    fill_input(in, 2 + r);
    std::fill(out.begin(), out.end(), SENTINEL);
    CK(cudaGraphLaunch(exec, s));
    CK(cudaStreamSynchronize(s));
    match &= is_transform(in, out);
  }
  CK(cudaGraphExecDestroy(exec));
  std::printf("pageable capture %d floats: nothing ran during capture=%d, 3 replays match=%d\n", n,
              untouched, match);

  // The captured graph's nodes: natively one node per captured call, whatever vgpu does
  // underneath (pieces through a staging block, host functions) must not show.
  std::printf("pageable capture %d floats: graph", n);
  print_nodes(graph);
  std::printf("\n");

  // A clone outlives its original: destroyed first, then the clone runs alone on a new input.
  cudaGraph_t clone = nullptr;
  CK(cudaGraphClone(&clone, graph));
  CK(cudaGraphDestroy(graph));
  CK(cudaGraphInstantiate(&exec, clone, 0));
  fill_input(in, 5);
  std::fill(out.begin(), out.end(), SENTINEL);
  CK(cudaGraphLaunch(exec, s));
  CK(cudaStreamSynchronize(s));
  const bool clone_match = is_transform(in, out);
  std::printf("pageable capture %d floats: clone", n);
  print_nodes(clone);
  std::printf(", match=%d\n", clone_match);
  CK(cudaGraphExecDestroy(exec));
  CK(cudaGraphDestroy(clone));
  CK(cudaFree(din));
  CK(cudaFree(dout));
  return untouched && match && clone_match;
}

int main() {
  CK(cudaSetDevice(0));
  bool ok = true;
  cudaStream_t s, s2;
  CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  CK(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
  float *dx, *dy, *dp, *dq;
  CK(cudaMalloc(&dx, BYTES));
  CK(cudaMalloc(&dy, BYTES));
  CK(cudaMalloc(&dp, BYTES));
  CK(cudaMalloc(&dq, BYTES));
  // One ordinary launch first, so that the kernel's module is loaded (lazy loading) outside any
  // capture.
  affine<<<GRID, BLOCK, 0, s>>>(dx, N, 1.0f, 0.0f);
  CK_LAUNCH();
  CK(cudaStreamSynchronize(s));

  // Known contents before the capture: a capture must leave them untouched.
  std::vector<float> x0(N), y0(N);
  for (int i = 0; i < N; ++i) {
    x0[i] = static_cast<float>(i % 1000);
    y0[i] = -static_cast<float>(i % 77);
  }
  CK(cudaMemcpy(dx, x0.data(), BYTES, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dy, y0.data(), BYTES, cudaMemcpyHostToDevice));
  CK(cudaDeviceSynchronize());  // s is non-blocking: nothing orders it after the legacy stream

  // --- 1. capture a memset, 16 kernels and a copy on s ---
  std::printf("capture status before capture: %s\n", status_name(capturing(s)));
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  std::printf("capture status during capture: %s\n", status_name(capturing(s)));
  cudaStreamCaptureStatus info = cudaStreamCaptureStatusNone;
  unsigned long long id1 = 0;
  CK(cudaStreamGetCaptureInfo(s, &info, &id1));
  std::printf("capture info: %s id nonzero=%d\n", status_name(info), id1 != 0);
  // The memset resets x inside the graph, so every replay starts from the same state.
  CK(cudaMemsetAsync(dx, 0, BYTES, s));
  for (int k = 0; k < 16; ++k) {
    affine<<<GRID, BLOCK, 0, s>>>(dx, N, param_a(k), param_b(k));
    CK_LAUNCH();
  }
  CK(cudaMemcpyAsync(dy, dx, BYTES, cudaMemcpyDeviceToDevice, s));
  cudaGraph_t graph = nullptr;
  CK(cudaStreamEndCapture(s, &graph));
  EXPECT(graph != nullptr);
  std::printf("capture status after capture: %s\n", status_name(capturing(s)));
  const bool untouched = download(dx) == x0 && download(dy) == y0;
  std::printf("nothing ran during capture: %d\n", untouched);
  ok &= untouched;

  // --- 2, 3. instantiate, drop the graph, upload, replay 100 times ---
  cudaGraphExec_t exec = nullptr;
  CK(cudaGraphInstantiate(&exec, graph, 0));
  CK(cudaGraphDestroy(graph));  // the exec is independent of the graph it came from
  CK(cudaGraphUpload(exec, s));
  std::printf("cudaGraphUpload: success\n");
  for (int r = 1; r <= 100; ++r) {
    CK(cudaGraphLaunch(exec, s));
    if (r % 10 == 0) CK(cudaStreamSynchronize(s));
  }
  std::vector<float> ref(N, 0.0f);
  bool exact = true;
  for (int k = 0; k < 16; ++k) exact &= host_affine(ref, param_a(k), param_b(k));
  EXPECT(exact);
  const std::vector<float> x = download(dx), y = download(dy);
  const bool match = x == ref && y == ref;
  std::printf("replays=100 checksum x=%lld y=%lld match=%d\n", checksum(x), checksum(y), match);
  ok &= match;
  CK(cudaGraphExecDestroy(exec));

  // --- 4. fork/join capture: s forks to s2 through an event, s2 joins back ---
  cudaEvent_t e_fork, e_join;
  CK(cudaEventCreateWithFlags(&e_fork, cudaEventDisableTiming));
  CK(cudaEventCreateWithFlags(&e_join, cudaEventDisableTiming));
  CK(cudaMemcpy(dp, x0.data(), BYTES, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dq, y0.data(), BYTES, cudaMemcpyHostToDevice));
  CK(cudaDeviceSynchronize());
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  CK(cudaEventRecord(e_fork, s));
  CK(cudaStreamWaitEvent(s2, e_fork, 0));  // s2 joins the capture of s
  CK(cudaMemsetAsync(dp, 0, BYTES, s));
  affine<<<GRID, BLOCK, 0, s>>>(dp, N, 2.0f, 3.0f);
  CK_LAUNCH();
  affine<<<GRID, BLOCK, 0, s>>>(dp, N, 1.0f, -1.0f);
  CK_LAUNCH();
  CK(cudaMemsetAsync(dq, 0, BYTES, s2));
  for (int k = 0; k < 3; ++k) {
    affine<<<GRID, BLOCK, 0, s2>>>(dq, N, 2.0f, 5.0f);
    CK_LAUNCH();
  }
  unsigned long long id2 = 0, id2b = 0;
  CK(cudaStreamGetCaptureInfo(s, &info, &id2));
  CK(cudaStreamGetCaptureInfo(s2, &info, &id2b));
  std::printf("fork: s2 capture status %s, same id as s=%d, id differs from first capture=%d\n",
              status_name(capturing(s2)), id2 == id2b, id2 != id1);
  CK(cudaEventRecord(e_join, s2));
  CK(cudaStreamWaitEvent(s, e_join, 0));  // joined back: the capture may end on s
  CK(cudaStreamEndCapture(s, &graph));
  std::printf("join: s2 capture status after end %s\n", status_name(capturing(s2)));
  CK(cudaGraphInstantiate(&exec, graph, 0));
  CK(cudaGraphDestroy(graph));
  for (int r = 0; r < 5; ++r) CK(cudaGraphLaunch(exec, s));
  CK(cudaStreamSynchronize(s));
  std::vector<float> ref_p(N, 0.0f), ref_q(N, 0.0f);
  exact = host_affine(ref_p, 2.0f, 3.0f) && host_affine(ref_p, 1.0f, -1.0f);
  for (int k = 0; k < 3; ++k) exact &= host_affine(ref_q, 2.0f, 5.0f);
  EXPECT(exact);
  const std::vector<float> p = download(dp), q = download(dq);
  const bool match2 = p == ref_p && q == ref_q;
  std::printf("fork/join replays=5 checksum p=%lld q=%lld match=%d\n", checksum(p), checksum(q), match2);
  ok &= match2;
  CK(cudaGraphExecDestroy(exec));

  // --- 5. errors ---
  // (a) The legacy default stream cannot be captured.
  cudaError_t e = cudaStreamBeginCapture(0, cudaStreamCaptureModeGlobal);
  std::printf("(a) begin capture on legacy stream: %s\n", cudaGetErrorName(e));
  if (e == cudaSuccess) {  // not expected; end it so that the rest still runs
    CK(cudaStreamEndCapture(0, &graph));
    if (graph != nullptr) CK(cudaGraphDestroy(graph));
  }
  std::printf("(a) last error: %s\n", cudaGetErrorName(cudaGetLastError()));

  // (b) Synchronizing a capturing stream is refused and invalidates the capture.
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  e = cudaStreamSynchronize(s);
  std::printf("(b) synchronize during capture: %s, then status %s\n", cudaGetErrorName(e),
              status_name(capturing(s)));
  graph = nullptr;
  e = cudaStreamEndCapture(s, &graph);
  std::printf("(b) end capture: %s graph null=%d\n", cudaGetErrorName(e), graph == nullptr);
  if (graph != nullptr) CK(cudaGraphDestroy(graph));
  std::printf("(b) last error: %s, status after end %s\n", cudaGetErrorName(cudaGetLastError()),
              status_name(capturing(s)));

  // (c) cudaMalloc is a potentially unsafe call, prohibited during a global-mode capture.
  void* mem = nullptr;
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  e = cudaMalloc(&mem, 1 << 20);
  std::printf("(c) cudaMalloc during global capture: %s\n", cudaGetErrorName(e));
  graph = nullptr;
  const cudaError_t end_c = cudaStreamEndCapture(s, &graph);
  std::printf("(c) end capture: %s graph null=%d\n", cudaGetErrorName(end_c), graph == nullptr);
  if (graph != nullptr) CK(cudaGraphDestroy(graph));
  if (e == cudaSuccess) CK(cudaFree(mem));
  std::printf("(c) last error: %s\n", cudaGetErrorName(cudaGetLastError()));

  // (d) The same with this thread in relaxed mode: cudaMalloc is allowed. The memory is freed
  // after the capture has ended: CUDA does not say that cudaFree is allowed inside a capture.
  mem = nullptr;
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
  CK(cudaThreadExchangeStreamCaptureMode(&mode));
  std::printf("(d) previous thread mode: %s\n", mode_name(mode));
  e = cudaMalloc(&mem, 1 << 20);
  std::printf("(d) cudaMalloc during capture, relaxed thread: %s\n", cudaGetErrorName(e));
  ok &= e == cudaSuccess;
  CK(cudaThreadExchangeStreamCaptureMode(&mode));  // restore
  std::printf("(d) restored, mode swapped out: %s\n", mode_name(mode));
  graph = nullptr;
  const cudaError_t end_d = cudaStreamEndCapture(s, &graph);
  std::printf("(d) end capture: %s graph null=%d\n", cudaGetErrorName(end_d), graph == nullptr);
  if (graph != nullptr) CK(cudaGraphDestroy(graph));
  if (e == cudaSuccess) CK(cudaFree(mem));
  std::printf("(d) last error: %s\n", cudaGetErrorName(cudaGetLastError()));

  // After all that, s still runs ordinary work.
  CK(cudaMemsetAsync(dx, 0, BYTES, s));
  affine<<<GRID, BLOCK, 0, s>>>(dx, N, 2.0f, 1.0f);
  CK_LAUNCH();
  CK(cudaStreamSynchronize(s));
  std::vector<float> ref_s(N, 0.0f);
  EXPECT(host_affine(ref_s, 2.0f, 1.0f));
  const bool match3 = download(dx) == ref_s;
  std::printf("stream after errors: status %s match=%d\n", status_name(capturing(s)), match3);
  ok &= match3;

  // --- 6. pageable memory in a captured graph, its nodes, a clone ---
  // An ordinary launch first, as for affine(): the kernel is loaded outside any capture.
  twice_plus_one<<<1, 1, 0, s>>>(nullptr, nullptr, 0);
  CK_LAUNCH();
  CK(cudaStreamSynchronize(s));
  ok &= pageable_graph(s, 1000);
  ok &= pageable_graph(s, 3000000);  // 12 MB: more than one of vgpu's staging blocks

  CK(cudaEventDestroy(e_fork));
  CK(cudaEventDestroy(e_join));
  CK(cudaStreamDestroy(s));
  CK(cudaStreamDestroy(s2));
  for (float* d : {dx, dy, dp, dq}) CK(cudaFree(d));
  std::printf("graph_capture %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
