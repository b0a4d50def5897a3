// Stream capture through vgpu's libcuda.so.1 and a real vgpud (fake driver): a memset, a launch
// and a copy captured without running, the graph instantiated and replayed; the queries while
// capturing and not; the capture modes' rule on allocations, applied by the guest; a
// synchronize inside a capture; the legacy stream; handles of the wrong kind; a graph built node
// by node; a captured graph's nodes listed, a clone.
#include <cuda.h>

#include <cstdio>
#include <thread>
#include <vector>

#include "guest_check.h"

namespace {

const char kImage[] =
    "FAKECUBIN 1\n"
    "kernel fake_vector_add 8,8,8,4\n";

constexpr int kCount = 256;
constexpr size_t kBytes = kCount * sizeof(float);

std::vector<float> read(CUdeviceptr p) {
  std::vector<float> v(kCount);
  CU_CHECK(cuMemcpyDtoH(v.data(), p, kBytes));
  return v;
}

void write(CUdeviceptr p, float value) {
  const std::vector<float> v(kCount, value);
  CU_CHECK(cuMemcpyHtoD(p, v.data(), kBytes));
}

bool all(const std::vector<float>& v, float value) {
  for (float x : v)
    if (x != value) return false;
  return true;
}

CUstreamCaptureStatus status_of(CUstream s) {
  CUstreamCaptureStatus st = CU_STREAM_CAPTURE_STATUS_INVALIDATED;
  CU_CHECK(cuStreamIsCapturing(s, &st));
  return st;
}

CUcontext ctx_of_test = nullptr;

// A capture the allocation's mode forbids, and one a relaxed thread may allocate in.
void modes(CUstream s) {
  CU_CHECK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
  CUdeviceptr p = 0;
  EXPECT(cuMemAlloc(&p, 64) == CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
  EXPECT(status_of(s) == CU_STREAM_CAPTURE_STATUS_INVALIDATED);  // as the driver invalidates it
  CUgraph g = reinterpret_cast<CUgraph>(1);
  EXPECT(cuStreamEndCapture(s, &g) == CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
  EXPECT(g == nullptr);

  CUstreamCaptureMode mode = CU_STREAM_CAPTURE_MODE_RELAXED;
  CU_CHECK(cuThreadExchangeStreamCaptureMode(&mode));
  EXPECT(mode == CU_STREAM_CAPTURE_MODE_GLOBAL);
  CU_CHECK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
  CU_CHECK(cuMemAlloc(&p, 64));
  CU_CHECK(cuThreadExchangeStreamCaptureMode(&mode));  // back to global
  CU_CHECK(cuStreamEndCapture(s, &g));
  EXPECT(g != nullptr);
  CU_CHECK(cuGraphDestroy(g));
  CU_CHECK(cuMemFree(p));

  // Another thread: a global capture forbids its allocations too, a thread-local one does not.
  auto other_thread_allocates = [&] {
    CUresult r = CUDA_ERROR_UNKNOWN;
    std::thread t([&] {
      if (cuCtxSetCurrent(ctx_of_test) != CUDA_SUCCESS) return;
      CUdeviceptr q = 0;
      r = cuMemAlloc(&q, 64);
      if (r == CUDA_SUCCESS) cuMemFree(q);
    });
    t.join();
    return r;
  };
  CU_CHECK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
  EXPECT(other_thread_allocates() == CUDA_SUCCESS);
  EXPECT(status_of(s) == CU_STREAM_CAPTURE_STATUS_ACTIVE);
  EXPECT(cuMemAlloc(&p, 64) == CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);  // but its own thread's
  EXPECT(cuStreamEndCapture(s, &g) == CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
  CU_CHECK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
  EXPECT(other_thread_allocates() == CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
  EXPECT(cuStreamEndCapture(s, &g) == CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);

  // A relaxed capture forbids nothing, even to a thread in global mode.
  CU_CHECK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_RELAXED));
  CU_CHECK(cuMemAlloc(&p, 64));
  CU_CHECK(cuStreamEndCapture(s, &g));
  CU_CHECK(cuGraphDestroy(g));
  CU_CHECK(cuMemFree(p));
}

// A graph built node by node: a kernel added first is made to wait for a memset added after it,
// so only the edges, not the order of adding, give the right answer.
void built_by_hand(CUfunction add, CUdeviceptr a, CUdeviceptr b, CUdeviceptr c, CUstream s) {
  write(a, 1.0f);
  write(b, 5.0f);
  CUgraph graph;
  CU_CHECK(cuGraphCreate(&graph, 0));
  int n = kCount;
  void* args[] = {&a, &b, &c, &n};
  CUDA_KERNEL_NODE_PARAMS k{};
  k.func = add;
  k.gridDimX = k.gridDimY = k.gridDimZ = 1;
  k.blockDimX = kCount, k.blockDimY = k.blockDimZ = 1;
  k.kernelParams = args;
  CUgraphNode kernel, memset, empty;
  CU_CHECK(cuGraphAddKernelNode(&kernel, graph, nullptr, 0, &k));
  CUDA_MEMSET_NODE_PARAMS m{};
  m.dst = b;
  m.value = 0x40000000;  // 2.0f
  m.elementSize = 4;
  m.width = kCount;
  m.height = 1;
  CU_CHECK(cuGraphAddMemsetNode(&memset, graph, nullptr, 0, &m, nullptr));
  CU_CHECK(cuGraphAddDependencies(graph, &memset, &kernel, nullptr, 1));
  CU_CHECK(cuGraphAddEmptyNode(&empty, graph, &kernel, 1));
  size_t count = 0;
  CU_CHECK(cuGraphGetNodes(graph, nullptr, &count));
  EXPECT(count == 3);
  CUgraphNode nodes[4];
  count = 4;
  CU_CHECK(cuGraphGetNodes(graph, nodes, &count));
  EXPECT(count == 3 && nodes[0] == kernel && nodes[1] == memset && nodes[2] == empty && nodes[3] == nullptr);
  // An event recorded after the kernel, and waited for after that.
  CUevent start, done;
  CU_CHECK(cuEventCreate(&start, 0));
  CU_CHECK(cuEventCreate(&done, 0));
  CUgraphNode record, wait;
  CU_CHECK(cuGraphAddEventRecordNode(&record, graph, &kernel, 1, done));
  CU_CHECK(cuGraphAddEventWaitNode(&wait, graph, &record, 1, done));
  EXPECT(cuGraphAddEventRecordNode(&record, graph, nullptr, 0, nullptr) == CUDA_ERROR_INVALID_VALUE);
  CUgraphNodeType event_type;
  CU_CHECK(cuGraphNodeGetType(wait, &event_type));
  EXPECT(event_type == CU_GRAPH_NODE_TYPE_WAIT_EVENT);
  float ms = 0;
  EXPECT(cuEventElapsedTime(&ms, start, done) != CUDA_SUCCESS);  // `done` not recorded yet
  CUgraphNodeType type;
  CU_CHECK(cuGraphNodeGetType(memset, &type));
  EXPECT(type == CU_GRAPH_NODE_TYPE_MEMSET);
  CU_CHECK(cuGraphNodeGetType(kernel, &type));
  EXPECT(type == CU_GRAPH_NODE_TYPE_KERNEL);

  // Nodes of another graph, and a memset outside every allocation, are refused.
  CUgraph other;
  CU_CHECK(cuGraphCreate(&other, 0));
  CUgraphNode stranger;
  EXPECT(cuGraphAddEmptyNode(&stranger, other, &kernel, 1) == CUDA_ERROR_INVALID_VALUE);
  CU_CHECK(cuGraphAddEmptyNode(&stranger, other, nullptr, 0));
  EXPECT(cuGraphAddDependencies(graph, &stranger, &kernel, nullptr, 1) == CUDA_ERROR_INVALID_VALUE);
  m.dst = c + kBytes;
  EXPECT(cuGraphAddMemsetNode(&stranger, graph, nullptr, 0, &m, nullptr) == CUDA_ERROR_INVALID_VALUE);
  CU_CHECK(cuGraphDestroy(other));
  // A handle of another kind is refused (a stale one is freed memory, as with the driver's).
  EXPECT(cuGraphNodeGetType(reinterpret_cast<CUgraphNode>(graph), &type) == CUDA_ERROR_INVALID_VALUE);

  CUgraphExec exec;
  CU_CHECK(cuGraphInstantiate(&exec, graph, 0));
  CU_CHECK(cuGraphLaunch(exec, s));
  CU_CHECK(cuStreamSynchronize(s));
  EXPECT(all(read(b), 2.0f) && all(read(c), 3.0f));  // the memset ran before the kernel
  CU_CHECK(cuEventRecord(start, s));
  CU_CHECK(cuGraphLaunch(exec, s));
  CU_CHECK(cuEventSynchronize(done));
  CU_CHECK(cuEventElapsedTime(&ms, start, done));  // the graph recorded it
  CU_CHECK(cuEventDestroy(start));
  CU_CHECK(cuEventDestroy(done));
  CU_CHECK(cuGraphExecDestroy(exec));
  CU_CHECK(cuGraphDestroy(graph));
}

// Memcpy nodes between device memory and page-locked host memory: the node reads the host
// buffer each time the graph runs. Pageable memory cannot be reached from vgpud: refused.
void memcpy_nodes(CUdeviceptr d, CUstream s) {
  float* in = nullptr;
  float* out = nullptr;
  CU_CHECK(cuMemAllocHost(reinterpret_cast<void**>(&in), kBytes));
  CU_CHECK(cuMemAllocHost(reinterpret_cast<void**>(&out), kBytes));
  CUgraph graph;
  CU_CHECK(cuGraphCreate(&graph, 0));
  CUDA_MEMCPY3D up{};
  up.srcMemoryType = CU_MEMORYTYPE_HOST;
  up.srcHost = in;
  up.dstMemoryType = CU_MEMORYTYPE_DEVICE;
  up.dstDevice = d;
  up.WidthInBytes = kBytes;
  up.Height = up.Depth = 1;
  CUDA_MEMCPY3D down{};
  down.srcMemoryType = CU_MEMORYTYPE_DEVICE;
  down.srcDevice = d;
  down.dstMemoryType = CU_MEMORYTYPE_HOST;
  down.dstHost = out;
  down.WidthInBytes = kBytes;
  down.Height = down.Depth = 1;
  CUgraphNode first, second;
  CU_CHECK(cuGraphAddMemcpyNode(&first, graph, nullptr, 0, &up, nullptr));
  CU_CHECK(cuGraphAddMemcpyNode(&second, graph, &first, 1, &down, nullptr));
  CUgraphNodeType type;
  CU_CHECK(cuGraphNodeGetType(second, &type));
  EXPECT(type == CU_GRAPH_NODE_TYPE_MEMCPY);
  // Pageable memory at both ends (host_functions.cpp copies from and to pageable memory).
  std::vector<float> pageable(kCount), pageable_too(kCount);
  CUDA_MEMCPY3D host_to_host = up;
  host_to_host.srcHost = pageable.data();
  host_to_host.dstMemoryType = CU_MEMORYTYPE_HOST;
  host_to_host.dstHost = pageable_too.data();
  CUgraphNode refused;
  EXPECT(cuGraphAddMemcpyNode(&refused, graph, nullptr, 0, &host_to_host, nullptr) == CUDA_ERROR_NOT_SUPPORTED);
  CUDA_MEMCPY3D too_far = up;
  too_far.dstDevice = d + 4;
  EXPECT(cuGraphAddMemcpyNode(&refused, graph, nullptr, 0, &too_far, nullptr) == CUDA_ERROR_INVALID_VALUE);

  CUgraphExec exec;
  CU_CHECK(cuGraphInstantiate(&exec, graph, 0));
  for (float value : {4.0f, 9.0f}) {  // the second run copies what the host wrote since
    for (int i = 0; i < kCount; ++i) in[i] = value;
    CU_CHECK(cuGraphLaunch(exec, s));
    CU_CHECK(cuStreamSynchronize(s));
    for (int i = 0; i < kCount; ++i) EXPECT(out[i] == value);
  }
  CU_CHECK(cuGraphExecDestroy(exec));
  CU_CHECK(cuGraphDestroy(graph));
  CU_CHECK(cuMemFreeHost(in));
  CU_CHECK(cuMemFreeHost(out));
}

}  // namespace

int main() {
  CU_CHECK(cuInit(0));
  CUcontext ctx;
  CU_CHECK(cuDevicePrimaryCtxRetain(&ctx, 0));
  CU_CHECK(cuCtxSetCurrent(ctx));
  ctx_of_test = ctx;
  CUmodule module;
  CU_CHECK(cuModuleLoadData(&module, kImage));
  CUfunction add;
  CU_CHECK(cuModuleGetFunction(&add, module, "fake_vector_add"));
  CUdeviceptr a, b, c;
  CU_CHECK(cuMemAlloc(&a, kBytes));
  CU_CHECK(cuMemAlloc(&b, kBytes));
  CU_CHECK(cuMemAlloc(&c, kBytes));
  write(a, 1.0f);
  write(b, 2.0f);
  write(c, 7.0f);
  CUstream s;
  CU_CHECK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));

  // Captured: c = 0; c = a + b; b = c. Each replay adds a to b.
  EXPECT(status_of(s) == CU_STREAM_CAPTURE_STATUS_NONE);
  CU_CHECK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
  EXPECT(status_of(s) == CU_STREAM_CAPTURE_STATUS_ACTIVE);
  CUstreamCaptureStatus st;
  cuuint64_t id = 0;
  CU_CHECK(cuStreamGetCaptureInfo(s, &st, &id, nullptr, nullptr, nullptr, nullptr));
  EXPECT(st == CU_STREAM_CAPTURE_STATUS_ACTIVE && id != 0);
  // The graph being captured: the one the capture ends in (graph_structure.cpp uses it further).
  CUgraph graph_out = nullptr;
  CU_CHECK(cuStreamGetCaptureInfo(s, &st, &id, &graph_out, nullptr, nullptr, nullptr));
  EXPECT(graph_out != nullptr);
  EXPECT(status_of(nullptr) == CU_STREAM_CAPTURE_STATUS_NONE);
  CU_CHECK(cuMemsetD8Async(c, 0, kBytes, s));
  int n = kCount;
  void* args[] = {&a, &b, &c, &n};
  CU_CHECK(cuLaunchKernel(add, 1, 1, 1, kCount, 1, 1, 0, s, args, nullptr));
  CU_CHECK(cuMemcpyDtoDAsync(b, c, kBytes, s));
  CUgraph graph = nullptr;
  CU_CHECK(cuStreamEndCapture(s, &graph));
  EXPECT(graph != nullptr && graph == graph_out);
  EXPECT(status_of(s) == CU_STREAM_CAPTURE_STATUS_NONE);
  EXPECT(all(read(c), 7.0f) && all(read(b), 2.0f));  // nothing ran

  // The captured graph's nodes, as the driver made them: listed, typed, and usable as ends of
  // edges; the same handles the next time.
  size_t count = 0;
  CU_CHECK(cuGraphGetNodes(graph, nullptr, &count));
  EXPECT(count == 3);
  CUgraphNode captured[3], again[3];
  CU_CHECK(cuGraphGetNodes(graph, captured, &count));
  CU_CHECK(cuGraphGetNodes(graph, again, &count));
  CUgraphNodeType types[3];
  for (int i = 0; i < 3; ++i) {
    EXPECT(captured[i] == again[i]);
    CU_CHECK(cuGraphNodeGetType(captured[i], &types[i]));
  }
  EXPECT(types[0] == CU_GRAPH_NODE_TYPE_MEMSET && types[1] == CU_GRAPH_NODE_TYPE_KERNEL &&
         types[2] == CU_GRAPH_NODE_TYPE_MEMCPY);
  CUgraphNode tail;
  CU_CHECK(cuGraphAddEmptyNode(&tail, graph, &captured[2], 1));
  CU_CHECK(cuGraphGetNodes(graph, nullptr, &count));
  EXPECT(count == 4);
  // A clone: its own nodes, the same work.
  CUgraph clone;
  CU_CHECK(cuGraphClone(&clone, graph));
  CU_CHECK(cuGraphGetNodes(clone, nullptr, &count));
  EXPECT(count == 4);
  CUgraphNode cloned[4];
  CU_CHECK(cuGraphGetNodes(clone, cloned, &count));
  EXPECT(cloned[0] != captured[0]);

  CUgraphExec exec;
  CU_CHECK(cuGraphInstantiate(&exec, graph, 0));
  CU_CHECK(cuGraphDestroy(graph));  // the executable graph stands alone
  EXPECT(cuGraphDestroy(reinterpret_cast<CUgraph>(s)) == CUDA_ERROR_INVALID_VALUE);  // a stream is no graph
  CU_CHECK(cuGraphUpload(exec, s));
  for (int i = 0; i < 3; ++i) CU_CHECK(cuGraphLaunch(exec, s));
  CU_CHECK(cuStreamSynchronize(s));
  EXPECT(all(read(b), 5.0f) && all(read(c), 5.0f));
  CU_CHECK(cuGraphExecDestroy(exec));
  CU_CHECK(cuGraphInstantiate(&exec, clone, 0));  // outlives its original
  CU_CHECK(cuGraphDestroy(clone));
  CU_CHECK(cuGraphLaunch(exec, s));
  CU_CHECK(cuStreamSynchronize(s));
  EXPECT(all(read(b), 6.0f) && all(read(c), 6.0f));
  CU_CHECK(cuGraphExecDestroy(exec));
  EXPECT(cuGraphLaunch(reinterpret_cast<CUgraphExec>(s), s) == CUDA_ERROR_INVALID_VALUE);
  EXPECT(cuGraphInstantiate(&exec, nullptr, 0) == CUDA_ERROR_INVALID_VALUE);

  // A synchronize inside a capture is refused and ends it badly; the legacy stream cannot capture.
  CU_CHECK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
  EXPECT(cuStreamSynchronize(s) == CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
  EXPECT(cuStreamEndCapture(s, &graph) == CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
  EXPECT(cuStreamBeginCapture(nullptr, CU_STREAM_CAPTURE_MODE_GLOBAL) == CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
  EXPECT(cuStreamEndCapture(s, &graph) == CUDA_ERROR_ILLEGAL_STATE);

  modes(s);
  built_by_hand(add, a, b, c, s);
  memcpy_nodes(a, s);
  write(a, 1.0f);

  // The stream works as before.
  CU_CHECK(cuLaunchKernel(add, 1, 1, 1, kCount, 1, 1, 0, s, args, nullptr));
  CU_CHECK(cuStreamSynchronize(s));
  EXPECT(all(read(c), 3.0f));
  CU_CHECK(cuStreamDestroy(s));
  CU_CHECK(cuModuleUnload(module));
  CU_CHECK(cuDevicePrimaryCtxRelease(0));
  std::printf("graph_capture ok\n");
  return 0;
}
