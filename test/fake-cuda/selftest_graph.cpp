// fake-cuda (test double, never ships): self-check of stream capture (cuStreamBeginCapture_v2,
// cuStreamEndCapture, cuStreamIsCapturing, cuStreamGetCaptureInfo_v2/_v3,
// cuThreadExchangeStreamCaptureMode) and graphs (cuGraphCreate/Destroy/GetNodes,
// cuGraphInstantiateWithFlags, cuGraphLaunch/Upload, cuGraphExecDestroy). See selftest.cpp.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fake_module.h"
#include "selftest.h"

namespace vgpu::fake::selftest {
namespace {

constexpr int kN = 64;
constexpr size_t kBytes = kN * sizeof(float);
const auto kBogusStream = reinterpret_cast<CUstream>(0x1234);

std::vector<float> read_floats(CUdeviceptr p) {
  std::vector<float> v(kN, -1.0f);
  OK(api.cuMemcpyDtoHAsync_v2(v.data(), p, kBytes, nullptr));
  return v;
}

std::vector<unsigned char> read_bytes(CUdeviceptr p, size_t n) {
  std::vector<unsigned char> v(n);
  OK(api.cuMemcpyDtoHAsync_v2(v.data(), p, n, nullptr));
  return v;
}

// Whether the state file says graphs=<graphs> and graph_execs=<execs>.
bool counted(const char* state_file, int graphs, int execs) {
  std::ifstream in(state_file);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  return text.find("\ngraphs=" + std::to_string(graphs) + "\n") != std::string::npos &&
         text.find("\ngraph_execs=" + std::to_string(execs) + "\n") != std::string::npos;
}

// How many lines of the launch log start with `prefix`.
int log_lines(const char* launch_log, const std::string& prefix) {
  std::ifstream in(launch_log);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) n += line.rfind(prefix, 0) == 0 ? 1 : 0;
  return n;
}

CUstreamCaptureStatus status_of(CUstream s) {
  auto st = static_cast<CUstreamCaptureStatus>(3);  // none of the three
  OK(api.cuStreamIsCapturing(s, &st));
  return st;
}

size_t node_count(CUgraph g) {
  size_t n = 12345;
  OK(api.cuGraphGetNodes(g, nullptr, &n));
  return n;
}

}  // namespace

void graph_checks(const char* state_file, const char* launch_log) {
  CUcontext before = nullptr, ctx = nullptr;
  OK(api.cuCtxGetCurrent(&before));
  OK(api.cuCtxCreate_v2(&ctx, 0, 0));
  CUmodule mod = nullptr;
  const std::string image = module_image(
      {"kernel fake_vector_add 8,8,8,4", "kernel fake_fill_u32 8,4,8", "kernel fake_sleep_ms 4"});
  OK(api.cuModuleLoadData(&mod, image.c_str()));
  CUfunction vadd = nullptr, fill = nullptr, sleep_fn = nullptr;
  OK(api.cuModuleGetFunction(&vadd, mod, "fake_vector_add"));
  OK(api.cuModuleGetFunction(&fill, mod, "fake_fill_u32"));
  OK(api.cuModuleGetFunction(&sleep_fn, mod, "fake_sleep_ms"));
  CUdeviceptr a = 0, b = 0, c = 0, scratch = 0;
  OK(api.cuMemAlloc_v2(&a, kBytes));
  OK(api.cuMemAlloc_v2(&b, kBytes));
  OK(api.cuMemAlloc_v2(&c, kBytes));
  OK(api.cuMemAlloc_v2(&scratch, 256));
  std::vector<float> ha(kN), hb(kN, 100.0f), hr(kN, -1.0f);
  for (int i = 0; i < kN; ++i) ha[i] = static_cast<float>(i);
  OK(api.cuMemcpyHtoDAsync_v2(a, ha.data(), kBytes, nullptr));
  OK(api.cuMemsetD8Async(c, 0, kBytes, nullptr));
  OK(api.cuMemsetD8Async(scratch, 0, 256, nullptr));
  CUstream s = nullptr, blocking = nullptr, s2 = nullptr;
  OK(api.cuStreamCreateWithPriority(&s, CU_STREAM_NON_BLOCKING, 0));
  OK(api.cuStreamCreateWithPriority(&blocking, 0, 0));
  OK(api.cuStreamCreateWithPriority(&s2, CU_STREAM_NON_BLOCKING, 0));
  CUevent ev = nullptr;
  OK(api.cuEventCreate(&ev, 0));

  // ---- no capture; captures that cannot begin ----
  CHECK(status_of(s) == CU_STREAM_CAPTURE_STATUS_NONE);
  CHECK(status_of(nullptr) == CU_STREAM_CAPTURE_STATUS_NONE);
  EXPECT_RC(api.cuStreamIsCapturing(s, nullptr), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuStreamGetCaptureInfo_v3(s, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr),
            CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuStreamBeginCapture_v2(nullptr, CU_STREAM_CAPTURE_MODE_GLOBAL), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
  EXPECT_RC(api.cuStreamBeginCapture_v2(CU_STREAM_LEGACY, CU_STREAM_CAPTURE_MODE_GLOBAL),
            CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
  EXPECT_RC(api.cuStreamBeginCapture_v2(CU_STREAM_PER_THREAD, CU_STREAM_CAPTURE_MODE_GLOBAL),
            CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
  EXPECT_RC(api.cuStreamBeginCapture_v2(kBogusStream, CU_STREAM_CAPTURE_MODE_GLOBAL), CUDA_ERROR_INVALID_HANDLE);
  EXPECT_RC(api.cuStreamBeginCapture_v2(s, static_cast<CUstreamCaptureMode>(3)), CUDA_ERROR_INVALID_VALUE);
  CUgraph graph = nullptr;
  EXPECT_RC(api.cuStreamEndCapture(s, &graph), CUDA_ERROR_ILLEGAL_STATE);

  // ---- capture: nothing runs, the nodes are recorded ----
  const std::string vadd_line = "launch fake_vector_add grid=2,1,1 block=32,1,1 ";
  const int vadd_logged = log_lines(launch_log, vadd_line);
  CHECK(counted(state_file, 0, 0));
  OK(api.cuStreamBeginCapture_v2(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
  CHECK(counted(state_file, 1, 0));  // the graph being captured into
  EXPECT_RC(api.cuStreamBeginCapture_v2(s, CU_STREAM_CAPTURE_MODE_GLOBAL), CUDA_ERROR_ILLEGAL_STATE);
  CHECK(status_of(s) == CU_STREAM_CAPTURE_STATUS_ACTIVE);
  CUstreamCaptureStatus st = CU_STREAM_CAPTURE_STATUS_NONE;
  cuuint64_t id1 = 0;
  CUgraph capturing = nullptr;
  const CUgraphNode* deps = reinterpret_cast<const CUgraphNode*>(&st);
  const CUgraphEdgeData* edges = reinterpret_cast<const CUgraphEdgeData*>(&st);
  size_t ndeps = 99;
  OK(api.cuStreamGetCaptureInfo_v3(s, &st, &id1, &capturing, &deps, &edges, &ndeps));
  CHECK(st == CU_STREAM_CAPTURE_STATUS_ACTIVE && id1 > 0 && capturing != nullptr);
  CHECK(deps == nullptr && edges == nullptr && ndeps == 0);  // nothing captured yet
  EXPECT_RC(api.cuStreamGetCaptureInfo_v3(s, &st, nullptr, nullptr, nullptr, &edges, nullptr),
            CUDA_ERROR_INVALID_VALUE);  // edge data without the dependencies
  EXPECT_RC(api.cuGraphDestroy(capturing), CUDA_ERROR_ILLEGAL_STATE);  // owned by the capture
  // Each replay: scratch[0..64) = 0x5A, b = hb (read then), c = a + b, a = c, hr = a, ev recorded,
  // scratch[64..96) = 8 words of 7, scratch[128..132) = 0xC0DE.
  OK(api.cuMemsetD8Async(scratch, 0x5A, 64, s));
  OK(api.cuMemcpyHtoDAsync_v2(b, hb.data(), kBytes, s));
  CUdeviceptr pa = a, pb = b, pc = c;
  int n = kN;
  void* params[] = {&pa, &pb, &pc, &n};
  OK(api.cuLaunchKernel(vadd, 2, 1, 1, 32, 1, 1, 0, s, params, nullptr));
  OK(api.cuMemcpyDtoDAsync_v2(a, c, kBytes, s));
  OK(api.cuMemcpyDtoHAsync_v2(hr.data(), a, kBytes, s));
  OK(api.cuEventRecord(ev, s));
  CUdeviceptr fill_at = scratch + 64;
  unsigned seven = 7;
  unsigned long long eight = 8;
  void* fill_params[] = {&fill_at, &seven, &eight};
  CUlaunchConfig cfg{};
  cfg.gridDimX = cfg.gridDimY = cfg.gridDimZ = 1;
  cfg.blockDimX = 8;
  cfg.blockDimY = cfg.blockDimZ = 1;
  cfg.hStream = s;
  OK(api.cuLaunchKernelEx(&cfg, fill, fill_params, nullptr));
  OK(api.cuStreamWriteValue32_v2(s, scratch + 128, 0xC0DE, 0));
  // Bad arguments are refused as without a capture, and record nothing.
  EXPECT_RC(api.cuMemcpyHtoDAsync_v2(a + 4, ha.data(), kBytes, s), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuLaunchKernel(vadd, 0, 1, 1, 32, 1, 1, 0, s, params, nullptr), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuMemsetD8Async(scratch, 0, 257, s), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuStreamWriteValue32_v2(s, scratch + 2, 1, 0), CUDA_ERROR_INVALID_VALUE);
  CHECK(node_count(capturing) == 8);
  // Nothing ran: the legacy stream may still be used, as s is non-blocking.
  CHECK(read_floats(a) == ha);
  CHECK(read_floats(c) == std::vector<float>(kN, 0.0f));
  CHECK(read_bytes(scratch, 256) == std::vector<unsigned char>(256, 0));
  CHECK(hr == std::vector<float>(kN, -1.0f));
  CHECK(log_lines(launch_log, vadd_line) == vadd_logged);  // recorded, not launched
  EXPECT_RC(api.cuEventQuery(ev), CUDA_ERROR_CAPTURED_EVENT);
  EXPECT_RC(api.cuEventSynchronize(ev), CUDA_ERROR_CAPTURED_EVENT);
  OK(api.cuStreamEndCapture(s, &graph));
  CHECK(graph == capturing);
  CHECK(status_of(s) == CU_STREAM_CAPTURE_STATUS_NONE);
  OK(api.cuStreamGetCaptureInfo_v2(s, &st, &id1, nullptr, nullptr, nullptr));
  CHECK(st == CU_STREAM_CAPTURE_STATUS_NONE);

  // The kernel's parameters were copied at capture; host buffers are read when the graph runs.
  pa = pb = pc = 0;
  n = 0;
  for (float& x : hb) x = 1.0f;

  // ---- nodes ----
  CUgraphNode nodes[10];
  size_t count = 10;
  OK(api.cuGraphGetNodes(graph, nodes, &count));
  CHECK(count == 8);
  bool all_set = true;
  for (size_t i = 0; i < 8; ++i) all_set = all_set && nodes[i] != nullptr;
  CHECK(all_set && nodes[8] == nullptr && nodes[9] == nullptr && nodes[0] != nodes[1]);
  count = 3;
  CUgraphNode first3[3] = {};
  OK(api.cuGraphGetNodes(graph, first3, &count));
  CHECK(count == 3 && first3[2] == nodes[2]);
  EXPECT_RC(api.cuGraphGetNodes(graph, nodes, nullptr), CUDA_ERROR_INVALID_VALUE);

  // ---- instantiate, destroy the graph, launch three times ----
  CUgraphExec exec = nullptr;
  EXPECT_RC(api.cuGraphInstantiateWithFlags(&exec, graph, CUDA_GRAPH_INSTANTIATE_FLAG_UPLOAD),
            CUDA_ERROR_INVALID_VALUE);  // cuGraphInstantiateWithParams only
  EXPECT_RC(api.cuGraphInstantiateWithFlags(&exec, graph, 1ull << 40), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphInstantiateWithFlags(nullptr, graph, 0), CUDA_ERROR_INVALID_VALUE);
  OK(api.cuGraphInstantiateWithFlags(&exec, graph, 0));
  CHECK(counted(state_file, 1, 1));
  OK(api.cuGraphDestroy(graph));
  CHECK(counted(state_file, 0, 1));
  EXPECT_RC(api.cuGraphDestroy(graph), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphGetNodes(graph, nullptr, &count), CUDA_ERROR_INVALID_VALUE);
  CUgraphExec exec2 = nullptr;
  EXPECT_RC(api.cuGraphInstantiateWithFlags(&exec2, graph, 0), CUDA_ERROR_INVALID_VALUE);
  OK(api.cuGraphUpload(exec, s));
  for (int round = 1; round <= 3; ++round) {
    OK(api.cuGraphLaunch(exec, s));
    bool sums = true;
    for (int i = 0; i < kN; ++i) sums = sums && hr[i] == static_cast<float>(i + round);
    CHECK(sums);
    CHECK(read_floats(a) == hr);
    const std::vector<unsigned char> sb = read_bytes(scratch, 256);
    uint32_t w7 = 0, w_last = 0, marker = 0;
    std::memcpy(&w7, sb.data() + 64, 4);
    std::memcpy(&w_last, sb.data() + 92, 4);
    std::memcpy(&marker, sb.data() + 128, 4);
    CHECK(sb[0] == 0x5A && sb[63] == 0x5A && w7 == 7 && w_last == 7 && sb[96] == 0 && marker == 0xC0DE);
    OK(api.cuEventQuery(ev));  // the replay recorded it
  }
  CHECK(log_lines(launch_log, vadd_line) == vadd_logged + 3);
  OK(api.cuStreamSynchronize(s));
  OK(api.cuGraphLaunch(exec, nullptr));  // any stream of the context
  CHECK(hr[1] == 5.0f);

  // ---- bad handles ----
  const auto bogus_exec = reinterpret_cast<CUgraphExec>(0x5678);
  EXPECT_RC(api.cuGraphLaunch(bogus_exec, s), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphLaunch(nullptr, s), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphUpload(bogus_exec, s), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphExecDestroy(bogus_exec), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphLaunch(exec, kBogusStream), CUDA_ERROR_INVALID_HANDLE);
  EXPECT_RC(api.cuGraphDestroy(reinterpret_cast<CUgraph>(0x5678)), CUDA_ERROR_INVALID_VALUE);

  // ---- a sync on a capturing stream invalidates the capture ----
  OK(api.cuStreamBeginCapture_v2(s, CU_STREAM_CAPTURE_MODE_RELAXED));
  cuuint64_t id2 = 0;
  OK(api.cuStreamGetCaptureInfo_v3(s, &st, &id2, nullptr, nullptr, nullptr, nullptr));
  CHECK(id2 > id1);
  OK(api.cuMemsetD8Async(c, 0xFF, kBytes, s));
  EXPECT_RC(api.cuStreamSynchronize(s), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
  CHECK(status_of(s) == CU_STREAM_CAPTURE_STATUS_INVALIDATED);
  OK(api.cuStreamGetCaptureInfo_v3(s, &st, nullptr, &capturing, nullptr, nullptr, nullptr));
  CHECK(st == CU_STREAM_CAPTURE_STATUS_INVALIDATED && capturing == nullptr);
  EXPECT_RC(api.cuMemsetD8Async(c, 0xFF, kBytes, s), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
  EXPECT_RC(api.cuLaunchKernel(vadd, 1, 1, 1, 1, 1, 1, 0, s, params, nullptr), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
  EXPECT_RC(api.cuGraphLaunch(exec, s), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
  EXPECT_RC(api.cuStreamBeginCapture_v2(s, CU_STREAM_CAPTURE_MODE_RELAXED), CUDA_ERROR_ILLEGAL_STATE);
  graph = reinterpret_cast<CUgraph>(0x1);
  EXPECT_RC(api.cuStreamEndCapture(s, &graph), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
  CHECK(graph == nullptr);
  CHECK(counted(state_file, 0, 1));  // its graph went
  CHECK(status_of(s) == CU_STREAM_CAPTURE_STATUS_NONE);
  CHECK(read_floats(c) == hr);  // the recorded memset never ran (c holds the last sums)
  // cuStreamQuery likewise.
  OK(api.cuStreamBeginCapture_v2(s, CU_STREAM_CAPTURE_MODE_RELAXED));
  EXPECT_RC(api.cuStreamQuery(s), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
  EXPECT_RC(api.cuStreamEndCapture(s, &graph), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
  // cuCtxSynchronize invalidates every capture of the context.
  OK(api.cuStreamBeginCapture_v2(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
  OK(api.cuStreamBeginCapture_v2(s2, CU_STREAM_CAPTURE_MODE_GLOBAL));
  EXPECT_RC(api.cuCtxSynchronize(), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
  CHECK(status_of(s) == CU_STREAM_CAPTURE_STATUS_INVALIDATED);
  CHECK(status_of(s2) == CU_STREAM_CAPTURE_STATUS_INVALIDATED);
  EXPECT_RC(api.cuStreamEndCapture(s, &graph), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
  EXPECT_RC(api.cuStreamEndCapture(s2, &graph), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
  OK(api.cuCtxSynchronize());

  // ---- the legacy stream may not depend on a capturing blocking stream ----
  OK(api.cuStreamBeginCapture_v2(blocking, CU_STREAM_CAPTURE_MODE_RELAXED));
  EXPECT_RC(api.cuStreamIsCapturing(nullptr, &st), CUDA_ERROR_STREAM_CAPTURE_IMPLICIT);
  CHECK(status_of(blocking) == CU_STREAM_CAPTURE_STATUS_ACTIVE);  // a query invalidates nothing
  CHECK(status_of(CU_STREAM_PER_THREAD) == CU_STREAM_CAPTURE_STATUS_NONE);
  EXPECT_RC(api.cuMemsetD8Async(scratch, 1, 4, nullptr), CUDA_ERROR_STREAM_CAPTURE_IMPLICIT);
  CHECK(status_of(blocking) == CU_STREAM_CAPTURE_STATUS_INVALIDATED);
  EXPECT_RC(api.cuMemcpyHtoDAsync_v2(scratch, ha.data(), 4, CU_STREAM_LEGACY), CUDA_ERROR_STREAM_CAPTURE_IMPLICIT);
  EXPECT_RC(api.cuStreamEndCapture(blocking, &graph), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
  CHECK(read_bytes(scratch, 1)[0] == 0x5A);  // neither ran

  // ---- a fork and a join through events; the forked stream cannot end the capture ----
  CUevent fork = nullptr, join = nullptr;
  OK(api.cuEventCreate(&fork, CU_EVENT_DISABLE_TIMING));
  OK(api.cuEventCreate(&join, CU_EVENT_DISABLE_TIMING));
  OK(api.cuStreamBeginCapture_v2(s, CU_STREAM_CAPTURE_MODE_RELAXED));
  OK(api.cuEventRecord(fork, s));
  OK(api.cuStreamWaitEvent(s2, fork, 0));
  CHECK(status_of(s2) == CU_STREAM_CAPTURE_STATUS_ACTIVE);
  cuuint64_t id_s = 0, id_s2 = 0;
  OK(api.cuStreamGetCaptureInfo_v3(s, &st, &id_s, nullptr, nullptr, nullptr, nullptr));
  OK(api.cuStreamGetCaptureInfo_v3(s2, &st, &id_s2, nullptr, nullptr, nullptr, nullptr));
  CHECK(id_s == id_s2 && id_s > id2);
  OK(api.cuMemsetD8Async(scratch + 200, 0x33, 8, s2));
  int ms = 5;
  void* sleep_params[] = {&ms};
  OK(api.cuLaunchKernel(sleep_fn, 1, 1, 1, 1, 1, 1, 0, s2, sleep_params, nullptr));
  OK(api.cuEventRecord(join, s2));
  OK(api.cuStreamWaitEvent(s, join, 0));
  EXPECT_RC(api.cuStreamEndCapture(s2, &graph), CUDA_ERROR_STREAM_CAPTURE_UNMATCHED);
  OK(api.cuStreamEndCapture(s, &graph));
  CHECK(status_of(s2) == CU_STREAM_CAPTURE_STATUS_NONE);
  CHECK(node_count(graph) == 4);
  CHECK(read_bytes(scratch + 200, 1)[0] == 0);
  CUgraphExec forked = nullptr;
  OK(api.cuGraphInstantiateWithFlags(&forked, graph, CUDA_GRAPH_INSTANTIATE_FLAG_AUTO_FREE_ON_LAUNCH));
  OK(api.cuGraphLaunch(forked, s2));  // the sleep lets go of the context and takes it back
  CHECK(read_bytes(scratch + 200, 8) == std::vector<unsigned char>(8, 0x33));
  OK(api.cuEventSynchronize(join));
  OK(api.cuGraphExecDestroy(forked));
  EXPECT_RC(api.cuGraphLaunch(forked, s), CUDA_ERROR_INVALID_VALUE);
  OK(api.cuGraphDestroy(graph));
  // Waiting on an event recorded outside the capture crosses its boundary.
  OK(api.cuEventRecord(fork, s2));
  OK(api.cuStreamBeginCapture_v2(s, CU_STREAM_CAPTURE_MODE_RELAXED));
  OK(api.cuStreamWaitEvent(s, fork, CU_EVENT_WAIT_EXTERNAL));  // unless it is an external wait
  EXPECT_RC(api.cuStreamWaitEvent(s, fork, 0), CUDA_ERROR_STREAM_CAPTURE_ISOLATION);
  EXPECT_RC(api.cuStreamEndCapture(s, &graph), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);

  // ---- a graph launched into a capturing stream; a capturing stream destroyed ----
  CUstream s3 = nullptr;
  OK(api.cuStreamCreateWithPriority(&s3, CU_STREAM_NON_BLOCKING, 0));
  OK(api.cuStreamBeginCapture_v2(s3, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
  EXPECT_RC(api.cuGraphLaunch(exec, s3), CUDA_ERROR_NOT_SUPPORTED);
  OK(api.cuMemsetD8Async(scratch, 0, 8, s3));
  OK(api.cuStreamGetCaptureInfo_v3(s3, &st, nullptr, &capturing, nullptr, nullptr, nullptr));
  CHECK(counted(state_file, 1, 1));
  OK(api.cuStreamDestroy_v2(s3));
  EXPECT_RC(api.cuGraphGetNodes(capturing, nullptr, &count), CUDA_ERROR_INVALID_VALUE);  // went with it
  CHECK(counted(state_file, 0, 1));

  // ---- an empty graph; the thread's capture mode ----
  EXPECT_RC(api.cuGraphCreate(&graph, 1), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphCreate(nullptr, 0), CUDA_ERROR_INVALID_VALUE);
  OK(api.cuGraphCreate(&graph, 0));
  CHECK(node_count(graph) == 0);
  CUgraphExec empty = nullptr;
  OK(api.cuGraphInstantiateWithFlags(&empty, graph, 0));
  OK(api.cuGraphLaunch(empty, s));
  OK(api.cuGraphExecDestroy(empty));
  OK(api.cuGraphDestroy(graph));
  CUstreamCaptureMode mode = CU_STREAM_CAPTURE_MODE_RELAXED;
  OK(api.cuThreadExchangeStreamCaptureMode(&mode));
  CHECK(mode == CU_STREAM_CAPTURE_MODE_GLOBAL);
  OK(api.cuThreadExchangeStreamCaptureMode(&mode));
  CHECK(mode == CU_STREAM_CAPTURE_MODE_RELAXED);
  EXPECT_RC(api.cuThreadExchangeStreamCaptureMode(nullptr), CUDA_ERROR_INVALID_VALUE);

  // ---- an executable graph belongs to its context; destroying the context ends its captures ----
  CUcontext other = nullptr;
  OK(api.cuCtxCreate_v2(&other, 0, 0));
  EXPECT_RC(api.cuGraphLaunch(exec, nullptr), CUDA_ERROR_INVALID_CONTEXT);
  OK(api.cuCtxSetCurrent(ctx));
  OK(api.cuCtxDestroy_v2(other));
  OK(api.cuCtxSetCurrent(ctx));
  OK(api.cuGraphExecDestroy(exec));
  EXPECT_RC(api.cuGraphExecDestroy(exec), CUDA_ERROR_INVALID_VALUE);
  CHECK(counted(state_file, 0, 0));
  OK(api.cuStreamBeginCapture_v2(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
  OK(api.cuMemsetD8Async(scratch, 0, 8, s));
  OK(api.cuStreamGetCaptureInfo_v3(s, &st, nullptr, &capturing, nullptr, nullptr, nullptr));
  CHECK(counted(state_file, 1, 0));
  OK(api.cuEventDestroy_v2(fork));
  OK(api.cuEventDestroy_v2(join));
  OK(api.cuEventDestroy_v2(ev));
  OK(api.cuModuleUnload(mod));
  OK(api.cuMemFree_v2(a));
  OK(api.cuMemFree_v2(b));
  OK(api.cuMemFree_v2(c));
  OK(api.cuMemFree_v2(scratch));
  OK(api.cuCtxDestroy_v2(ctx));
  EXPECT_RC(api.cuGraphGetNodes(capturing, nullptr, &count), CUDA_ERROR_INVALID_VALUE);
  CHECK(counted(state_file, 0, 0));  // the open capture's graph went with its context
  OK(api.cuCtxSetCurrent(before));
}

}  // namespace vgpu::fake::selftest
