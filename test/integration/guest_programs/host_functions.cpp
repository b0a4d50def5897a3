// Host functions through vgpu's libcuda.so.1 and a real vgpud (fake driver): functions launched
// on two streams between copies, each holding its stream until it returns (the copy after it
// uploads what it wrote); stream callbacks; a function on the legacy stream; one captured into a
// graph and run at each of its launches; host nodes added by hand after their dependencies; a
// CUDA call inside a host function refused; pageable memory copied by graphs at each launch.
#include <cuda.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "guest_check.h"

namespace {

// What a host function sees and writes: the pinned word it sets (after a pause, so a stream
// that did not wait for it would copy the old value) and how often it ran.
struct Probe {
  uint32_t* pinned = nullptr;
  uint32_t value = 0;
  std::atomic<int> runs{0};
  std::thread::id thread;
};

void CUDA_CB set_after_pause(void* p) {
  auto* probe = static_cast<Probe*>(p);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  *probe->pinned = probe->value;
  probe->thread = std::this_thread::get_id();
  probe->runs.fetch_add(1);
}

uint32_t read_word(CUdeviceptr d) {
  uint32_t v = 0;
  CU_CHECK(cuMemcpyDtoH(&v, d, sizeof v));
  return v;
}

// Two streams, each: host function writes its pinned word, then the word is uploaded.
void streams_wait_for_their_functions() {
  CUstream s[2];
  CUdeviceptr d[2];
  uint32_t* pinned = nullptr;
  CU_CHECK(cuMemAllocHost(reinterpret_cast<void**>(&pinned), 2 * sizeof(uint32_t)));
  Probe probes[2];
  for (int i = 0; i < 2; ++i) {
    CU_CHECK(cuStreamCreate(&s[i], CU_STREAM_NON_BLOCKING));
    CU_CHECK(cuMemAlloc(&d[i], sizeof(uint32_t)));
    pinned[i] = 0;
    probes[i].pinned = &pinned[i];
  }
  for (uint32_t round = 1; round <= 3; ++round) {
    for (int i = 0; i < 2; ++i) {
      probes[i].value = 100 * round + static_cast<uint32_t>(i);
      CU_CHECK(cuMemsetD32Async(d[i], 0, 1, s[i]));
      CU_CHECK(cuLaunchHostFunc(s[i], set_after_pause, &probes[i]));
      CU_CHECK(cuMemcpyHtoDAsync(d[i], &pinned[i], sizeof(uint32_t), s[i]));
    }
    for (int i = 0; i < 2; ++i) {
      CU_CHECK(cuStreamSynchronize(s[i]));
      EXPECT(read_word(d[i]) == 100 * round + static_cast<uint32_t>(i));
    }
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT(probes[i].runs.load() == 3);
    EXPECT(probes[i].thread != std::this_thread::get_id());  // the process's host-function thread
    CU_CHECK(cuStreamDestroy(s[i]));
    CU_CHECK(cuMemFree(d[i]));
  }
  CU_CHECK(cuMemFreeHost(pinned));
  std::printf("host functions on streams ok\n");
}

struct CallbackSeen {
  CUstream stream = nullptr;
  CUresult status = CUDA_ERROR_UNKNOWN;
  int runs = 0;
};

void CUDA_CB callback(CUstream stream, CUresult status, void* p) {
  auto* seen = static_cast<CallbackSeen*>(p);
  seen->stream = stream;
  seen->status = status;
  ++seen->runs;
}

std::atomic<CUresult> g_inside{CUDA_SUCCESS};
void CUDA_CB calls_cuda(void*) {
  CUdeviceptr p = 0;
  g_inside = cuMemAlloc(&p, 16);
}

void callbacks_legacy_stream_and_refusals() {
  CUstream s;
  CU_CHECK(cuStreamCreate(&s, 0));
  CallbackSeen seen;
  CU_CHECK(cuStreamAddCallback(s, callback, &seen, 0));
  CU_CHECK(cuStreamSynchronize(s));
  EXPECT(seen.runs == 1 && seen.stream == s && seen.status == CUDA_SUCCESS);
  EXPECT(cuStreamAddCallback(s, callback, &seen, 1) == CUDA_ERROR_INVALID_VALUE);
  EXPECT(cuLaunchHostFunc(s, nullptr, nullptr) == CUDA_ERROR_INVALID_VALUE);

  uint32_t* pinned = nullptr;
  CU_CHECK(cuMemAllocHost(reinterpret_cast<void**>(&pinned), sizeof(uint32_t)));
  Probe probe;
  probe.pinned = pinned;
  probe.value = 77;
  CU_CHECK(cuLaunchHostFunc(CU_STREAM_LEGACY, set_after_pause, &probe));
  CU_CHECK(cuCtxSynchronize());
  EXPECT(probe.runs.load() == 1 && *pinned == 77);

  CU_CHECK(cuLaunchHostFunc(s, calls_cuda, nullptr));
  CU_CHECK(cuStreamSynchronize(s));
  EXPECT(g_inside.load() == CUDA_ERROR_NOT_PERMITTED);
  CU_CHECK(cuMemFreeHost(pinned));
  CU_CHECK(cuStreamDestroy(s));
  std::printf("stream callbacks, the legacy stream and calls inside ok\n");
}

// kernel-less graphs: memset -> host function -> copy of what it wrote, replayed.
void graphs_run_their_host_functions() {
  CUstream s;
  CU_CHECK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
  CUdeviceptr d;
  CU_CHECK(cuMemAlloc(&d, sizeof(uint32_t)));
  uint32_t* pinned = nullptr;
  CU_CHECK(cuMemAllocHost(reinterpret_cast<void**>(&pinned), sizeof(uint32_t)));
  Probe probe;
  probe.pinned = pinned;

  CU_CHECK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
  CU_CHECK(cuMemsetD32Async(d, 0, 1, s));
  CU_CHECK(cuLaunchHostFunc(s, set_after_pause, &probe));
  CU_CHECK(cuMemcpyHtoDAsync(d, pinned, sizeof(uint32_t), s));
  CUgraph captured;
  CU_CHECK(cuStreamEndCapture(s, &captured));
  EXPECT(probe.runs.load() == 0);  // captured, not run
  CUgraphExec exec;
  CU_CHECK(cuGraphInstantiateWithFlags(&exec, captured, 0));
  CU_CHECK(cuGraphDestroy(captured));  // the executable graph keeps its function
  for (uint32_t i = 1; i <= 3; ++i) {
    probe.value = 1000 + i;
    CU_CHECK(cuGraphLaunch(exec, s));
    CU_CHECK(cuStreamSynchronize(s));
    EXPECT(read_word(d) == 1000 + i);
  }
  EXPECT(probe.runs.load() == 3);
  CU_CHECK(cuGraphExecDestroy(exec));

  // By hand: the host node is added first and made to wait for the memset through its
  // dependencies; a second host node waits for the first.
  CUgraph graph;
  CU_CHECK(cuGraphCreate(&graph, 0));
  CUDA_MEMSET_NODE_PARAMS m{};
  m.dst = d;
  m.value = 5;
  m.elementSize = 4;
  m.width = 1;
  m.height = 1;
  CUgraphNode memset_node, first, second;
  CU_CHECK(cuGraphAddMemsetNode(&memset_node, graph, nullptr, 0, &m, nullptr));
  Probe later;
  later.pinned = pinned;
  CUDA_HOST_NODE_PARAMS h{set_after_pause, &later};
  CU_CHECK(cuGraphAddHostNode(&first, graph, &memset_node, 1, &h));
  CallbackSeen order;
  CUDA_HOST_NODE_PARAMS h2{[](void* p) { static_cast<CallbackSeen*>(p)->runs += 10; }, &order};
  CU_CHECK(cuGraphAddHostNode(&second, graph, &first, 1, &h2));
  CUgraphNodeType type;
  CU_CHECK(cuGraphNodeGetType(first, &type));
  EXPECT(type == CU_GRAPH_NODE_TYPE_HOST);
  EXPECT(cuGraphAddHostNode(&second, graph, nullptr, 0, nullptr) == CUDA_ERROR_INVALID_VALUE);
  CU_CHECK(cuGraphInstantiateWithFlags(&exec, graph, 0));
  for (uint32_t i = 1; i <= 2; ++i) {
    later.value = 2000 + i;
    CU_CHECK(cuGraphLaunch(exec, s));
    CU_CHECK(cuStreamSynchronize(s));
    EXPECT(*pinned == 2000 + i && read_word(d) == 5);
  }
  EXPECT(later.runs.load() == 2 && order.runs == 20);
  CU_CHECK(cuGraphExecDestroy(exec));
  CU_CHECK(cuGraphDestroy(graph));
  CU_CHECK(cuMemFreeHost(pinned));
  CU_CHECK(cuMemFree(d));
  CU_CHECK(cuStreamDestroy(s));
  std::printf("host functions in graphs ok\n");
}

// Pageable memory in graphs: captured copies (small ones that travel inline, large ones that
// go through the staging ring) and memcpy nodes of pitched rows, read and written at each launch.
void pageable_memory_in_graphs() {
  CUstream s;
  CU_CHECK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
  // Small, staged, and larger than the staging block (in pieces).
  for (size_t bytes : {size_t{64}, size_t{96} << 10, size_t{9} << 20}) {
    const size_t n = bytes / 4;
    CUdeviceptr d;
    CU_CHECK(cuMemAlloc(&d, bytes));
    std::vector<uint32_t> in(n), out(n);
    CU_CHECK(cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
    CU_CHECK(cuMemcpyHtoDAsync(d, in.data(), bytes, s));
    CU_CHECK(cuMemcpyDtoHAsync(out.data(), d, bytes, s));
    CUgraph g;
    CU_CHECK(cuStreamEndCapture(s, &g));
    // Two copies, as the program made them, however they were staged.
    size_t count = 0;
    CU_CHECK(cuGraphGetNodes(g, nullptr, &count));
    EXPECT(count == 2);
    CUgraphExec exec;
    CU_CHECK(cuGraphInstantiateWithFlags(&exec, g, 0));
    CU_CHECK(cuGraphDestroy(g));
    for (uint32_t launch = 1; launch <= 3; ++launch) {
      for (size_t i = 0; i < n; ++i) in[i] = launch * 100000 + static_cast<uint32_t>(i);
      CU_CHECK(cuGraphLaunch(exec, s));
      CU_CHECK(cuStreamSynchronize(s));
      EXPECT(out == in);
      EXPECT(read_word(d) == launch * 100000);
    }
    CU_CHECK(cuGraphExecDestroy(exec));
    CU_CHECK(cuMemFree(d));
  }

  // Nodes: 4 rows of 16 bytes from a pageable buffer of 32-byte rows into device memory, then
  // back into another pageable buffer of 24-byte rows, after it.
  CUdeviceptr d;
  CU_CHECK(cuMemAlloc(&d, 64));
  std::vector<uint8_t> src(4 * 32), dst(4 * 24, 0xee);
  CUgraph graph;
  CU_CHECK(cuGraphCreate(&graph, 0));
  CUDA_MEMCPY3D up{};
  up.srcMemoryType = CU_MEMORYTYPE_HOST;
  up.srcHost = src.data();
  up.srcPitch = 32;
  up.dstMemoryType = CU_MEMORYTYPE_DEVICE;
  up.dstDevice = d;
  up.dstPitch = 16;
  up.WidthInBytes = 16;
  up.Height = 4;
  up.Depth = 1;
  CUDA_MEMCPY3D down{};
  down.srcMemoryType = CU_MEMORYTYPE_DEVICE;
  down.srcDevice = d;
  down.srcPitch = 16;
  down.dstMemoryType = CU_MEMORYTYPE_HOST;
  down.dstHost = dst.data();
  down.dstPitch = 24;
  down.WidthInBytes = 16;
  down.Height = 4;
  down.Depth = 1;
  CUgraphNode first, second;
  CU_CHECK(cuGraphAddMemcpyNode(&first, graph, nullptr, 0, &up, nullptr));
  CU_CHECK(cuGraphAddMemcpyNode(&second, graph, &first, 1, &down, nullptr));
  size_t nodes = 0;
  CU_CHECK(cuGraphGetNodes(graph, nullptr, &nodes));
  EXPECT(nodes == 2);  // each copy one node, as the program made it
  CUgraphExec exec;
  CU_CHECK(cuGraphInstantiateWithFlags(&exec, graph, 0));
  for (uint8_t launch = 1; launch <= 2; ++launch) {
    for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(launch * 50 + i);
    CU_CHECK(cuGraphLaunch(exec, s));
    CU_CHECK(cuStreamSynchronize(s));
    bool rows = true;
    for (size_t y = 0; y < 4; ++y)
      for (size_t x = 0; x < 24; ++x)
        rows = rows && dst[y * 24 + x] == (x < 16 ? src[y * 32 + x] : 0xee);
    EXPECT(rows);
  }
  CU_CHECK(cuGraphExecDestroy(exec));
  CU_CHECK(cuGraphDestroy(graph));
  CU_CHECK(cuMemFree(d));

  // Rows larger than the staging block (a piece per row), into pitched device memory and back.
  constexpr size_t kRow = size_t{3} << 20, kRows = 3;
  CU_CHECK(cuMemAlloc(&d, kRows * (kRow + 512)));
  std::vector<uint8_t> big(kRows * kRow), back(kRows * kRow);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7 + 3);
  CU_CHECK(cuGraphCreate(&graph, 0));
  up.srcHost = big.data();
  up.srcPitch = kRow;
  up.dstDevice = d;
  up.dstPitch = kRow + 512;
  up.WidthInBytes = kRow;
  up.Height = kRows;
  down.srcDevice = d;
  down.srcPitch = kRow + 512;
  down.dstHost = back.data();
  down.dstPitch = kRow;
  down.WidthInBytes = kRow;
  down.Height = kRows;
  CU_CHECK(cuGraphAddMemcpyNode(&first, graph, nullptr, 0, &up, nullptr));
  CU_CHECK(cuGraphAddMemcpyNode(&second, graph, &first, 1, &down, nullptr));
  CU_CHECK(cuGraphInstantiateWithFlags(&exec, graph, 0));
  CU_CHECK(cuGraphLaunch(exec, s));
  CU_CHECK(cuStreamSynchronize(s));
  EXPECT(back == big);
  CU_CHECK(cuGraphExecDestroy(exec));
  CU_CHECK(cuGraphDestroy(graph));
  CU_CHECK(cuMemFree(d));
  CU_CHECK(cuStreamDestroy(s));
  std::printf("pageable memory in graphs ok\n");
}

// Child graphs: a child with a memset node and a host node, added twice to a parent and then
// destroyed (the parent keeps its copy and its function); each launch of the parent runs both
// copies in order; the parent's nodes are typed; a graph cannot be its own child.
void child_graphs() {
  CUstream s;
  CU_CHECK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
  CUdeviceptr d;
  CU_CHECK(cuMemAlloc(&d, 64));
  CUgraph child, parent;
  CU_CHECK(cuGraphCreate(&child, 0));
  CU_CHECK(cuGraphCreate(&parent, 0));
  CUDA_MEMSET_NODE_PARAMS m{};
  m.dst = d;
  m.value = 7;
  m.elementSize = 4;
  m.width = 16;
  m.height = 1;
  CUgraphNode memset_node, host_node, first, second;
  CU_CHECK(cuGraphAddMemsetNode(&memset_node, child, nullptr, 0, &m, nullptr));
  CallbackSeen seen;
  CUDA_HOST_NODE_PARAMS h{[](void* p) { static_cast<CallbackSeen*>(p)->runs += 1; }, &seen};
  CU_CHECK(cuGraphAddHostNode(&host_node, child, &memset_node, 1, &h));
  CU_CHECK(cuGraphAddChildGraphNode(&first, parent, nullptr, 0, child));
  CU_CHECK(cuGraphAddChildGraphNode(&second, parent, &first, 1, child));
  EXPECT(cuGraphAddChildGraphNode(&second, parent, nullptr, 0, parent) == CUDA_ERROR_INVALID_VALUE);
  CUgraphNodeType type;
  CU_CHECK(cuGraphNodeGetType(second, &type));
  EXPECT(type == CU_GRAPH_NODE_TYPE_GRAPH);
  CU_CHECK(cuGraphDestroy(child));  // the nodes hold copies
  CUgraphExec exec;
  CU_CHECK(cuGraphInstantiateWithFlags(&exec, parent, 0));
  CU_CHECK(cuGraphDestroy(parent));  // the executable graph holds what it needs
  for (int i = 0; i < 3; ++i) {
    CU_CHECK(cuMemsetD8(d, 0, 64));
    CU_CHECK(cuGraphLaunch(exec, s));
    CU_CHECK(cuStreamSynchronize(s));
    EXPECT(read_word(d) == 7);
  }
  EXPECT(seen.runs == 6);
  CU_CHECK(cuGraphExecDestroy(exec));
  CU_CHECK(cuMemFree(d));
  CU_CHECK(cuStreamDestroy(s));
  std::printf("child graphs ok\n");
}

}  // namespace

int main() {
  CU_CHECK(cuInit(0));
  CUcontext ctx;
  CU_CHECK(cuDevicePrimaryCtxRetain(&ctx, 0));
  CU_CHECK(cuCtxSetCurrent(ctx));
  streams_wait_for_their_functions();
  callbacks_legacy_stream_and_refusals();
  graphs_run_their_host_functions();
  pageable_memory_in_graphs();
  child_graphs();
  CU_CHECK(cuDevicePrimaryCtxRelease(0));
  std::printf("host_functions ok\n");
  return 0;
}
