// fake-cuda (test double, never ships): self-check of host functions: cuLaunchHostFunc (called
// at once on the calling thread, after the stream's earlier work; recorded as a host node by a
// capture) and cuGraphAddHostNode (called at its place in the graph's order on the launching
// thread, once per launch), refusals, the fault that stops them, and functions that block while
// another thread makes CUDA calls in the same context, which would deadlock, or time out here,
// if the fake held a lock around them. The fake's device memory is host memory, so a function
// reads the word it watches directly (a host function on a real GPU could not). See selftest.cpp.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "fake_module.h"
#include "selftest.h"

namespace vgpu::fake::selftest {
namespace {

const auto kBogusStream = reinterpret_cast<CUstream>(0x1234);
const auto kBogusGraph = reinterpret_cast<CUgraph>(0x5678);

// What one call of `record` saw.
struct Seen {
  int id = 0;
  uint32_t word = 0;
  std::thread::id thread;
};

// `record`'s user data: the calls of every probe of a log go into it, in order.
struct Probe {
  std::vector<Seen>* log = nullptr;
  int id = 0;
  CUdeviceptr watch = 0;  // a device word read at each call
};

void CUDA_CB record(void* data) {
  const auto* p = static_cast<const Probe*>(data);
  uint32_t w = 0;
  std::memcpy(&w, reinterpret_cast<const void*>(p->watch), sizeof w);
  p->log->push_back({p->id, w, std::this_thread::get_id()});
}

// Whether log[from..] is exactly the calls (id, word) listed, made on `thread`.
bool saw(const std::vector<Seen>& log, size_t from, std::initializer_list<std::pair<int, uint32_t>> want,
         std::thread::id thread = std::this_thread::get_id()) {
  if (log.size() != from + want.size()) return false;
  size_t i = from;
  for (const auto& [id, word] : want) {
    const Seen& s = log[i++];
    if (s.id != id || s.word != word || s.thread != thread) return false;
  }
  return true;
}

uint32_t read_word(CUdeviceptr p) {
  uint32_t w = 0;
  OK(api.cuMemcpyDtoHAsync_v2(&w, p, sizeof w, nullptr));
  return w;
}

CUgraphNodeType type_of(CUgraphNode n) {
  CUgraphNodeType t = CU_GRAPH_NODE_TYPE_EMPTY;  // no node here is an empty node
  OK(api.cuGraphNodeGetType(n, &t));
  return t;
}

size_t node_count(CUgraph g) {
  size_t n = 12345;
  OK(api.cuGraphGetNodes(g, nullptr, &n));
  return n;
}

void fill(CUfunction f, CUdeviceptr p, unsigned value, CUstream s) {
  unsigned long long n = 1;
  void* params[] = {&p, &value, &n};
  OK(api.cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, s, params, nullptr));
}

CUDA_KERNEL_NODE_PARAMS kernel_node(CUfunction f, void** params) {
  CUDA_KERNEL_NODE_PARAMS p{};
  p.func = f;
  p.gridDimX = p.gridDimY = p.gridDimZ = 1;
  p.blockDimX = p.blockDimY = p.blockDimZ = 1;
  p.kernelParams = params;
  return p;
}

// ---- a host function that blocks until another thread lets it go ----

struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;   // the function is running
  bool released = false;  // the other thread let it go
  bool helper_done = false;  // ... after all its CUDA calls had returned
  bool timed_out = false;    // the function gave up waiting (the other thread was stuck)
  std::thread::id thread;
};

constexpr auto kGateTimeout = std::chrono::seconds(10);

void CUDA_CB block(void* data) {
  auto* g = static_cast<Gate*>(data);
  std::unique_lock<std::mutex> lock(g->mu);
  g->entered = true;
  g->thread = std::this_thread::get_id();
  g->cv.notify_all();
  if (!g->cv.wait_for(lock, kGateTimeout, [g] { return g->released; })) g->timed_out = true;
}

// `block` for a node added once and launched with a new gate: its user data is where the gate of
// the current launch is put.
void CUDA_CB block_slot(void* data) { block(*static_cast<Gate**>(data)); }

// Runs `launch` (which calls `block` with `gate` once, on this thread) while another thread, once
// the function is running, waits 50 ms and then makes CUDA calls in ctx: a memset and a
// synchronization on `other`, a copy back, a host function of its own on `other`, and, given a
// graph, a look at its nodes (the graph registry's lock) and an instantiation; then it lets the
// function go. Had the fake kept a lock around the function, those calls would wait for it and
// the function would give up after kGateTimeout.
template <class Launch>
void blocking_check(CUcontext ctx, CUstream other, CUdeviceptr mem, CUgraph graph, Launch launch) {
  Gate gate;
  std::vector<Seen> helper_log;
  std::thread::id helper_id;
  std::thread helper([&] {
    helper_id = std::this_thread::get_id();
    OK(api.cuCtxSetCurrent(ctx));
    {
      std::unique_lock<std::mutex> lock(gate.mu);
      CHECK(gate.cv.wait_for(lock, kGateTimeout, [&] { return gate.entered; }));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    OK(api.cuMemsetD8Async(mem, 0x5a, 64, other));
    OK(api.cuStreamSynchronize(other));
    CHECK(read_word(mem) == 0x5a5a5a5au);
    Probe probe{&helper_log, 7, mem};
    OK(api.cuLaunchHostFunc(other, record, &probe));
    if (graph != nullptr) {
      CHECK(node_count(graph) > 0);
      CUgraphExec exec = nullptr;
      OK(api.cuGraphInstantiateWithFlags(&exec, graph, 0));
      OK(api.cuGraphExecDestroy(exec));
    }
    std::lock_guard<std::mutex> lock(gate.mu);
    gate.helper_done = true;
    gate.released = true;
    gate.cv.notify_all();
  });
  const auto t0 = std::chrono::steady_clock::now();
  launch(&gate);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  helper.join();
  CHECK(gate.entered && gate.thread == std::this_thread::get_id());
  CHECK(!gate.timed_out && gate.helper_done);
  CHECK(ms >= 45.0);  // it waited for the other thread
  CHECK(saw(helper_log, 0, {{7, 0x5a5a5a5au}}, helper_id));
}

}  // namespace

void host_func_checks() {
  CUcontext before = nullptr, ctx = nullptr;
  OK(api.cuCtxGetCurrent(&before));
  OK(api.cuCtxCreate_v2(&ctx, 0, 0));
  CUmodule mod = nullptr;
  OK(api.cuModuleLoadData(&mod, module_image({"kernel fake_fill_u32 8,4,8"}).c_str()));
  CUfunction fill_fn = nullptr;
  OK(api.cuModuleGetFunction(&fill_fn, mod, "fake_fill_u32"));
  CUdeviceptr p = 0, q = 0;
  OK(api.cuMemAlloc_v2(&p, 256));
  OK(api.cuMemAlloc_v2(&q, 256));
  CUstream s = nullptr, s2 = nullptr, blocking = nullptr;
  OK(api.cuStreamCreateWithPriority(&s, CU_STREAM_NON_BLOCKING, 0));
  OK(api.cuStreamCreateWithPriority(&s2, CU_STREAM_NON_BLOCKING, 0));
  OK(api.cuStreamCreateWithPriority(&blocking, 0, 0));
  std::vector<Seen> log;
  Probe pa{&log, 1, p}, pb{&log, 2, p};

  // ---- in stream order, at the call, on the calling thread ----
  OK(api.cuMemsetD8Async(p, 0x11, 4, s));
  OK(api.cuLaunchHostFunc(s, record, &pa));
  CHECK(saw(log, 0, {{1, 0x11111111u}}));  // called before the call returned, after the memset
  fill(fill_fn, p, 0xC0FFEEu, s);
  OK(api.cuLaunchHostFunc(s, record, &pb));
  CHECK(saw(log, 0, {{1, 0x11111111u}, {2, 0xC0FFEEu}}));
  OK(api.cuMemsetD8Async(p, 0x22, 4, s));
  OK(api.cuStreamSynchronize(s));
  CHECK(log.size() == 2);  // once each
  for (CUstream st : {static_cast<CUstream>(nullptr), CU_STREAM_LEGACY, CU_STREAM_PER_THREAD}) {
    OK(api.cuLaunchHostFunc(st, record, &pa));
  }
  CHECK(saw(log, 2, {{1, 0x22222222u}, {1, 0x22222222u}, {1, 0x22222222u}}));

  // ---- refusals: the function is not called ----
  log.clear();
  EXPECT_RC(api.cuLaunchHostFunc(s, nullptr, &pa), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuLaunchHostFunc(kBogusStream, record, &pa), CUDA_ERROR_INVALID_HANDLE);
  CUstream gone = nullptr;
  OK(api.cuStreamCreateWithPriority(&gone, 0, 0));
  OK(api.cuStreamDestroy_v2(gone));
  EXPECT_RC(api.cuLaunchHostFunc(gone, record, &pa), CUDA_ERROR_INVALID_HANDLE);
  CUcontext ctx2 = nullptr;
  OK(api.cuCtxCreate_v2(&ctx2, 0, 0));  // now current
  CUstream s_other = nullptr;
  OK(api.cuStreamCreateWithPriority(&s_other, CU_STREAM_NON_BLOCKING, 0));
  OK(api.cuCtxSetCurrent(ctx));
  EXPECT_RC(api.cuLaunchHostFunc(s_other, record, &pa), CUDA_ERROR_INVALID_HANDLE);  // ctx2's stream
  OK(api.cuCtxSetCurrent(nullptr));
  EXPECT_RC(api.cuLaunchHostFunc(nullptr, record, &pa), CUDA_ERROR_INVALID_CONTEXT);
  OK(api.cuCtxSetCurrent(ctx));
  CHECK(log.empty());

  // ---- captured: a host node, called once per launch of the graph, at its place ----
  OK(api.cuMemsetD8Async(p, 0xff, 4, s));
  OK(api.cuStreamBeginCapture_v2(s, CU_STREAM_CAPTURE_MODE_GLOBAL));
  OK(api.cuMemsetD8Async(p, 0x11, 4, s));
  OK(api.cuLaunchHostFunc(s, record, &pa));
  fill(fill_fn, p, 0xC0FFEEu, s);
  OK(api.cuLaunchHostFunc(s, record, &pb));
  EXPECT_RC(api.cuLaunchHostFunc(s, nullptr, &pa), CUDA_ERROR_INVALID_VALUE);  // still checked
  CHECK(log.empty());  // recorded, not called
  CUgraph captured = nullptr;
  OK(api.cuStreamEndCapture(s, &captured));
  CHECK(read_word(p) == 0xffffffffu);  // nothing ran
  CUgraphNode nodes[4] = {};
  size_t n = 4;
  OK(api.cuGraphGetNodes(captured, nodes, &n));
  CHECK(n == 4);
  CHECK(type_of(nodes[0]) == CU_GRAPH_NODE_TYPE_MEMSET && type_of(nodes[1]) == CU_GRAPH_NODE_TYPE_HOST &&
        type_of(nodes[2]) == CU_GRAPH_NODE_TYPE_KERNEL && type_of(nodes[3]) == CU_GRAPH_NODE_TYPE_HOST);
  size_t edges = 0;
  OK(api.cuGraphGetEdges_v2(captured, nullptr, nullptr, nullptr, &edges));
  CHECK(edges == 3);  // a chain, in capture order
  CUgraphExec exec = nullptr;
  OK(api.cuGraphInstantiateWithFlags(&exec, captured, 0));
  CHECK(log.empty());
  for (int round = 0; round < 3; ++round) {
    OK(api.cuMemsetD8Async(p, 0xff, 4, s));
    OK(api.cuGraphLaunch(exec, s));
    CHECK(saw(log, 2 * static_cast<size_t>(round), {{1, 0x11111111u}, {2, 0xC0FFEEu}}));
  }
  CHECK(log.size() == 6);  // 3 launches, each host node called once in each
  // On the thread that launches the graph.
  std::thread::id launcher;
  std::thread other_thread([&] {
    launcher = std::this_thread::get_id();
    OK(api.cuCtxSetCurrent(ctx));
    OK(api.cuGraphLaunch(exec, s2));
  });
  other_thread.join();
  CHECK(saw(log, 6, {{1, 0x11111111u}, {2, 0xC0FFEEu}}, launcher));
  OK(api.cuGraphExecDestroy(exec));

  // ---- captures that refuse it ----
  log.clear();
  OK(api.cuStreamBeginCapture_v2(blocking, CU_STREAM_CAPTURE_MODE_GLOBAL));
  // The legacy stream would wait for the capturing blocking stream; that ends the capture's use.
  EXPECT_RC(api.cuLaunchHostFunc(nullptr, record, &pa), CUDA_ERROR_STREAM_CAPTURE_IMPLICIT);
  EXPECT_RC(api.cuLaunchHostFunc(blocking, record, &pa), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
  CUgraph none = kBogusGraph;
  EXPECT_RC(api.cuStreamEndCapture(blocking, &none), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
  CHECK(none == nullptr);
  CHECK(log.empty());

  // ---- added by hand: after its dependencies, whatever the order of addition ----
  CUgraph graph = nullptr;
  OK(api.cuGraphCreate(&graph, 0));
  Probe p10{&log, 10, p}, p11{&log, 11, p};
  const CUDA_HOST_NODE_PARAMS hp10{record, &p10}, hp11{record, &p11};
  CUgraphNode h0 = nullptr, m = nullptr, k = nullptr, h1 = nullptr, z = nullptr;
  OK(api.cuGraphAddHostNode(&h0, graph, nullptr, 0, &hp10));  // added first, runs after m
  CUDA_MEMSET_NODE_PARAMS mp{};
  mp.dst = p;
  mp.value = 0x33;
  mp.elementSize = 1;
  mp.width = 4;
  mp.height = 1;
  OK(api.cuGraphAddMemsetNode(&m, graph, nullptr, 0, &mp, nullptr));
  OK(api.cuGraphAddDependencies(graph, &m, &h0, 1));
  CUdeviceptr kp_dst = p;
  unsigned kp_value = 0x0BADF00Du;
  unsigned long long kp_n = 1;
  void* kparams[] = {&kp_dst, &kp_value, &kp_n};
  const CUDA_KERNEL_NODE_PARAMS kp = kernel_node(fill_fn, kparams);
  OK(api.cuGraphAddKernelNode_v2(&k, graph, &h0, 1, &kp));
  const CUgraphNode after[] = {k, m};
  OK(api.cuGraphAddHostNode(&h1, graph, after, 2, &hp11));
  CHECK(type_of(h0) == CU_GRAPH_NODE_TYPE_HOST && type_of(h1) == CU_GRAPH_NODE_TYPE_HOST);
  CHECK(node_count(graph) == 4);
  CHECK(log.empty());
  OK(api.cuGraphInstantiateWithFlags(&exec, graph, 0));
  OK(api.cuMemsetD8Async(p, 0xff, 4, s));
  OK(api.cuGraphLaunch(exec, s));
  CHECK(saw(log, 0, {{10, 0x33333333u}, {11, 0x0BADF00Du}}));
  OK(api.cuGraphLaunch(exec, s));
  CHECK(log.size() == 4);
  OK(api.cuGraphExecDestroy(exec));

  // A graph of host nodes alone is of no context: it runs in whichever it is instantiated in.
  log.clear();
  CUgraph lone = nullptr;
  OK(api.cuGraphCreate(&lone, 0));
  OK(api.cuGraphAddHostNode(&z, lone, nullptr, 0, &hp10));
  OK(api.cuCtxSetCurrent(ctx2));
  OK(api.cuGraphInstantiateWithFlags(&exec, lone, 0));
  OK(api.cuGraphLaunch(exec, nullptr));
  CHECK(log.size() == 1 && log[0].id == 10);
  OK(api.cuGraphExecDestroy(exec));
  OK(api.cuCtxSetCurrent(ctx));

  // ---- refusals, none of which adds anything ----
  const CUDA_HOST_NODE_PARAMS no_fn{nullptr, &p10};
  EXPECT_RC(api.cuGraphAddHostNode(&z, graph, nullptr, 0, nullptr), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddHostNode(&z, graph, nullptr, 0, &no_fn), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddHostNode(nullptr, graph, nullptr, 0, &hp10), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddHostNode(&z, nullptr, nullptr, 0, &hp10), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddHostNode(&z, kBogusGraph, nullptr, 0, &hp10), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddHostNode(&z, graph, nullptr, 1, &hp10), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddHostNode(&z, graph, &nodes[1], 1, &hp10), CUDA_ERROR_INVALID_VALUE);  // captured's
  const CUgraphNode twice[] = {h0, h0};
  EXPECT_RC(api.cuGraphAddHostNode(&z, graph, twice, 2, &hp10), CUDA_ERROR_INVALID_VALUE);
  OK(api.cuStreamBeginCapture_v2(s2, CU_STREAM_CAPTURE_MODE_GLOBAL));
  CUstreamCaptureStatus st = CU_STREAM_CAPTURE_STATUS_NONE;
  CUgraph capturing = nullptr;
  OK(api.cuStreamGetCaptureInfo_v3(s2, &st, nullptr, &capturing, nullptr, nullptr, nullptr));
  // Nodes may be added to the graph a capture records into, as the driver documents.
  OK(api.cuGraphAddHostNode(&z, capturing, nullptr, 0, &hp10));
  CUgraph empty_capture = nullptr;
  OK(api.cuStreamEndCapture(s2, &empty_capture));
  CHECK(node_count(empty_capture) == 1);
  OK(api.cuGraphDestroy(empty_capture));
  CHECK(node_count(graph) == 4 && node_count(lone) == 1);
  CHECK(log.size() == 1);  // none called

  // ---- a function that blocks: no lock of the fake is held while it runs ----
  blocking_check(ctx, s2, q, captured, [&](Gate* gate) { OK(api.cuLaunchHostFunc(s, block, gate)); });
  CUgraph gated = nullptr;
  OK(api.cuGraphCreate(&gated, 0));
  Probe p20{&log, 20, p};
  const CUDA_HOST_NODE_PARAMS hp20{record, &p20};
  Gate* gate_slot = nullptr;  // the node's user data: the gate of the current check
  const CUDA_HOST_NODE_PARAMS hp_block{block_slot, &gate_slot};
  mp.value = 0x44;
  CUgraphNode gm = nullptr, gb = nullptr, gr = nullptr;
  OK(api.cuGraphAddMemsetNode(&gm, gated, nullptr, 0, &mp, nullptr));
  OK(api.cuGraphAddHostNode(&gb, gated, &gm, 1, &hp_block));
  OK(api.cuGraphAddHostNode(&gr, gated, &gb, 1, &hp20));
  OK(api.cuGraphInstantiateWithFlags(&exec, gated, 0));
  log.clear();
  blocking_check(ctx, s2, q, gated, [&](Gate* gate) {
    gate_slot = gate;
    OK(api.cuGraphLaunch(exec, s));
  });
  CHECK(saw(log, 0, {{20, 0x44444444u}}));  // the node after it ran, once it returned
  OK(api.cuGraphExecDestroy(exec));

  OK(api.cuGraphDestroy(gated));
  OK(api.cuGraphDestroy(lone));
  OK(api.cuGraphDestroy(graph));
  OK(api.cuGraphDestroy(captured));
  CUgraphNodeType t = CU_GRAPH_NODE_TYPE_EMPTY;
  EXPECT_RC(api.cuGraphNodeGetType(h0, &t), CUDA_ERROR_INVALID_VALUE);  // its graph is gone
  OK(api.cuCtxDestroy_v2(ctx2));
  OK(api.cuStreamDestroy_v2(s));
  OK(api.cuStreamDestroy_v2(s2));
  OK(api.cuStreamDestroy_v2(blocking));
  OK(api.cuMemFree_v2(p));
  OK(api.cuMemFree_v2(q));
  OK(api.cuModuleUnload(mod));
  OK(api.cuCtxDestroy_v2(ctx));
  OK(api.cuCtxSetCurrent(before));
}

void host_func_fault_checks() {
  CUcontext ctx = nullptr;
  OK(api.cuCtxCreate_v2(&ctx, 0, 0));
  CUmodule mod = nullptr;
  OK(api.cuModuleLoadData(&mod, module_image({"kernel fake_fault"}).c_str()));
  CUfunction fault = nullptr;
  OK(api.cuModuleGetFunction(&fault, mod, "fake_fault"));
  CUdeviceptr p = 0;
  OK(api.cuMemAlloc_v2(&p, 256));
  OK(api.cuMemsetD8Async(p, 0x11, 4, nullptr));
  CUstream s = nullptr;
  OK(api.cuStreamCreateWithPriority(&s, CU_STREAM_NON_BLOCKING, 0));
  std::vector<Seen> log;
  Probe pa{&log, 1, p}, pb{&log, 2, p};

  // host A -> fault -> host B: A is called, the fault stops the rest, the launch itself succeeds.
  CUgraph graph = nullptr;
  OK(api.cuGraphCreate(&graph, 0));
  const CUDA_HOST_NODE_PARAMS ha{record, &pa}, hb{record, &pb};
  CUgraphNode a = nullptr, k = nullptr, b = nullptr;
  OK(api.cuGraphAddHostNode(&a, graph, nullptr, 0, &ha));
  const CUDA_KERNEL_NODE_PARAMS kp = kernel_node(fault, nullptr);
  OK(api.cuGraphAddKernelNode_v2(&k, graph, &a, 1, &kp));
  OK(api.cuGraphAddHostNode(&b, graph, &k, 1, &hb));
  CUgraphExec exec = nullptr;
  OK(api.cuGraphInstantiateWithFlags(&exec, graph, 0));
  OK(api.cuGraphLaunch(exec, s));
  CHECK(saw(log, 0, {{1, 0x11111111u}}));

  // The context is broken: nothing more is called, and the calls say why.
  EXPECT_RC(api.cuLaunchHostFunc(s, record, &pa), CUDA_ERROR_ILLEGAL_ADDRESS);
  EXPECT_RC(api.cuLaunchHostFunc(nullptr, record, &pa), CUDA_ERROR_ILLEGAL_ADDRESS);
  EXPECT_RC(api.cuGraphLaunch(exec, s), CUDA_ERROR_ILLEGAL_ADDRESS);
  CHECK(log.size() == 1);
  OK(api.cuGraphExecDestroy(exec));
  OK(api.cuGraphDestroy(graph));
  OK(api.cuCtxDestroy_v2(ctx));
}

}  // namespace vgpu::fake::selftest
