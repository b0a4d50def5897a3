// fake-cuda (test double, never ships): self-check of event nodes added by hand
// (cuGraphAddEventRecordNode, cuGraphAddEventWaitNode). The fake, like the driver, answers
// cuEventQuery and cuEventSynchronize with success for an event never recorded, so what a record
// node does is seen through cuEventElapsedTime, which needs a record: timed from a host record
// taken before the launch, across a kernel node that sleeps before the record node. See
// selftest.cpp.
#include "fake_module.h"
#include "selftest.h"

namespace vgpu::fake::selftest {
namespace {

constexpr int kSleepMs = 2;

CUgraphNodeType type_of(CUgraphNode n) {
  CUgraphNodeType t = CU_GRAPH_NODE_TYPE_HOST;  // no node here is a host node
  OK(api.cuGraphNodeGetType(n, &t));
  return t;
}

size_t node_count(CUgraph g) {
  size_t n = 12345;
  OK(api.cuGraphGetNodes(g, nullptr, &n));
  return n;
}

// The time from `mark` to `e`, or -1 when they cannot be timed (one of them never recorded).
float elapsed(CUevent mark, CUevent e) {
  float ms = -1.0f;
  return api.cuEventElapsedTime_v2(&ms, mark, e) == CUDA_SUCCESS ? ms : -1.0f;
}

}  // namespace

void graph_event_checks() {
  CUcontext before = nullptr, ctx = nullptr;
  OK(api.cuCtxGetCurrent(&before));
  OK(api.cuCtxCreate_v2(&ctx, 0, 0));
  CUmodule mod = nullptr;
  OK(api.cuModuleLoadData(&mod, module_image({"kernel fake_sleep_ms 4"}).c_str()));
  CUfunction sleep_fn = nullptr;
  OK(api.cuModuleGetFunction(&sleep_fn, mod, "fake_sleep_ms"));
  CUstream s = nullptr, s2 = nullptr;
  OK(api.cuStreamCreateWithPriority(&s, CU_STREAM_NON_BLOCKING, 0));
  OK(api.cuStreamCreateWithPriority(&s2, CU_STREAM_NON_BLOCKING, 0));
  CUevent ev = nullptr, mark = nullptr, late = nullptr, gone = nullptr;
  for (CUevent* e : {&ev, &mark, &late, &gone}) OK(api.cuEventCreate(e, 0));

  // ---- K (sleeps) -> R (records ev) -> W (waits on ev) ----
  CUgraph graph = nullptr;
  OK(api.cuGraphCreate(&graph, 0));
  int ms = kSleepMs;
  void* params[] = {&ms};
  CUDA_KERNEL_NODE_PARAMS kp{};
  kp.func = sleep_fn;
  kp.gridDimX = kp.gridDimY = kp.gridDimZ = 1;
  kp.blockDimX = kp.blockDimY = kp.blockDimZ = 1;
  kp.kernelParams = params;
  CUgraphNode k = nullptr, r = nullptr, w = nullptr, z = nullptr;
  OK(api.cuGraphAddKernelNode_v2(&k, graph, nullptr, 0, &kp));
  OK(api.cuGraphAddEventRecordNode(&r, graph, &k, 1, ev));
  OK(api.cuGraphAddEventWaitNode(&w, graph, &r, 1, ev));
  CHECK(node_count(graph) == 3);
  CHECK(type_of(r) == CU_GRAPH_NODE_TYPE_EVENT_RECORD && type_of(w) == CU_GRAPH_NODE_TYPE_WAIT_EVENT);
  CHECK(type_of(k) == CU_GRAPH_NODE_TYPE_KERNEL);
  // The nodes order nodes added after them, as any node does: K -> R and R -> W exist.
  EXPECT_RC(api.cuGraphAddDependencies(graph, &k, &r, 1), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddDependencies(graph, &r, &w, 1), CUDA_ERROR_INVALID_VALUE);

  // ---- before a launch, ev is not recorded: complete, as the driver says, but not timed ----
  OK(api.cuEventQuery(ev));
  OK(api.cuEventSynchronize(ev));
  OK(api.cuEventRecord(mark, s));
  CHECK(elapsed(mark, ev) < 0.0f);

  // ---- each launch records ev after K slept, so after a mark taken before it ----
  CUgraphExec exec = nullptr;
  OK(api.cuGraphInstantiateWithFlags(&exec, graph, 0));
  // Added after instantiation: not part of exec, so `late` stays unrecorded.
  OK(api.cuGraphAddEventRecordNode(&z, graph, &w, 1, late));
  for (int round = 0; round < 2; ++round) {
    OK(api.cuEventRecord(mark, s));
    OK(api.cuGraphLaunch(exec, s));
    OK(api.cuEventQuery(ev));
    OK(api.cuEventSynchronize(ev));
    CHECK(elapsed(mark, ev) >= static_cast<float>(kSleepMs));
    CHECK(elapsed(mark, late) < 0.0f);
  }
  CUgraphExec exec2 = nullptr;
  OK(api.cuGraphInstantiateWithFlags(&exec2, graph, 0));
  OK(api.cuGraphLaunch(exec2, s));
  CHECK(elapsed(mark, late) >= static_cast<float>(kSleepMs));
  OK(api.cuGraphExecDestroy(exec2));

  // ---- ev last recorded in a capture: the host may not query it until a record node runs ----
  OK(api.cuStreamBeginCapture_v2(s2, CU_STREAM_CAPTURE_MODE_RELAXED));
  OK(api.cuEventRecord(ev, s2));
  CUstreamCaptureStatus st = CU_STREAM_CAPTURE_STATUS_NONE;
  CUgraph capturing = nullptr;
  OK(api.cuStreamGetCaptureInfo_v3(s2, &st, nullptr, &capturing, nullptr, nullptr, nullptr));
  // Nodes may be added to the graph a capture records into, as the driver documents; a record
  // node added so is not the capture's record of ev.
  OK(api.cuGraphAddEventRecordNode(&z, capturing, nullptr, 0, ev));
  OK(api.cuGraphAddEventWaitNode(&z, capturing, nullptr, 0, ev));
  CUgraph captured = nullptr;
  OK(api.cuStreamEndCapture(s2, &captured));
  OK(api.cuGraphDestroy(captured));
  EXPECT_RC(api.cuEventQuery(ev), CUDA_ERROR_CAPTURED_EVENT);
  OK(api.cuGraphLaunch(exec, s));
  OK(api.cuEventQuery(ev));

  // ---- events destroyed before a launch: the record is skipped, the wait ignored ----
  CUgraph lone = nullptr;
  OK(api.cuGraphCreate(&lone, 0));
  CUgraphNode lr = nullptr, lw = nullptr;
  OK(api.cuGraphAddEventRecordNode(&lr, lone, nullptr, 0, gone));
  OK(api.cuGraphAddEventWaitNode(&lw, lone, &lr, 1, gone));
  CUgraphExec lone_exec = nullptr;
  OK(api.cuGraphInstantiateWithFlags(&lone_exec, lone, 0));
  OK(api.cuEventDestroy_v2(gone));
  OK(api.cuGraphLaunch(lone_exec, s));
  OK(api.cuCtxSynchronize());  // no fault
  EXPECT_RC(api.cuEventQuery(gone), CUDA_ERROR_INVALID_HANDLE);  // not brought back
  OK(api.cuGraphExecDestroy(lone_exec));

  // ---- refusals, none of which adds anything ----
  const CUgraphNode lone_nodes[] = {lr};
  EXPECT_RC(api.cuGraphAddEventRecordNode(&z, graph, nullptr, 0, nullptr), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddEventWaitNode(&z, graph, nullptr, 0, nullptr), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddEventRecordNode(&z, graph, nullptr, 0, reinterpret_cast<CUevent>(0x5678)),
            CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddEventRecordNode(&z, graph, nullptr, 0, gone), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddEventWaitNode(&z, graph, nullptr, 0, gone), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddEventRecordNode(nullptr, graph, nullptr, 0, ev), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddEventWaitNode(nullptr, graph, nullptr, 0, ev), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddEventRecordNode(&z, nullptr, nullptr, 0, ev), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddEventWaitNode(&z, reinterpret_cast<CUgraph>(0x5678), nullptr, 0, ev),
            CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddEventRecordNode(&z, graph, nullptr, 1, ev), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddEventWaitNode(&z, graph, lone_nodes, 1, ev), CUDA_ERROR_INVALID_VALUE);  // lone's
  const CUgraphNode twice[] = {r, r};
  EXPECT_RC(api.cuGraphAddEventWaitNode(&z, graph, twice, 2, ev), CUDA_ERROR_INVALID_VALUE);
  CHECK(node_count(graph) == 4 && node_count(lone) == 2);

  // ---- an event node is its event's context's, whichever context is current ----
  CUcontext ctx2 = nullptr;
  OK(api.cuCtxCreate_v2(&ctx2, 0, 0));  // now current
  CUevent ev2 = nullptr;
  OK(api.cuEventCreate(&ev2, 0));
  // graph's nodes are ctx's: an event of ctx2 is not one of its context.
  EXPECT_RC(api.cuGraphAddEventRecordNode(&z, graph, &w, 1, ev2), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuGraphAddEventWaitNode(&z, graph, nullptr, 0, ev2), CUDA_ERROR_INVALID_VALUE);
  CHECK(node_count(graph) == 4);
  OK(api.cuGraphAddEventWaitNode(&z, graph, &w, 1, ev));  // ctx's event, with ctx2 current
  // A graph of ctx2's event alone runs in ctx2, and records ev2 there.
  CUgraph other = nullptr;
  OK(api.cuGraphCreate(&other, 0));
  OK(api.cuGraphAddEventRecordNode(&z, other, nullptr, 0, ev2));
  EXPECT_RC(api.cuGraphAddEventRecordNode(&z, other, nullptr, 0, ev), CUDA_ERROR_INVALID_VALUE);
  CUgraphExec other_exec = nullptr;
  OK(api.cuGraphInstantiateWithFlags(&other_exec, other, 0));
  CUevent mark2 = nullptr;
  OK(api.cuEventCreate(&mark2, 0));
  OK(api.cuEventRecord(mark2, nullptr));
  CHECK(elapsed(mark2, ev2) < 0.0f);
  OK(api.cuGraphLaunch(other_exec, nullptr));
  CHECK(elapsed(mark2, ev2) >= 0.0f);
  OK(api.cuCtxSetCurrent(ctx));
  EXPECT_RC(api.cuGraphInstantiateWithFlags(&exec2, other, 0), CUDA_ERROR_INVALID_CONTEXT);
  EXPECT_RC(api.cuGraphLaunch(other_exec, s), CUDA_ERROR_INVALID_CONTEXT);
  OK(api.cuGraphExecDestroy(other_exec));
  OK(api.cuCtxDestroy_v2(ctx2));  // its events go with it
  EXPECT_RC(api.cuGraphAddEventRecordNode(&z, other, nullptr, 0, ev2), CUDA_ERROR_INVALID_VALUE);
  OK(api.cuGraphDestroy(other));

  OK(api.cuGraphExecDestroy(exec));
  OK(api.cuGraphDestroy(lone));
  OK(api.cuGraphDestroy(graph));
  CUgraphNodeType t = CU_GRAPH_NODE_TYPE_HOST;
  EXPECT_RC(api.cuGraphNodeGetType(r, &t), CUDA_ERROR_INVALID_VALUE);  // its graph is gone
  EXPECT_RC(api.cuGraphNodeGetType(w, &t), CUDA_ERROR_INVALID_VALUE);
  for (CUevent e : {ev, mark, late}) OK(api.cuEventDestroy_v2(e));
  OK(api.cuStreamDestroy_v2(s));
  OK(api.cuStreamDestroy_v2(s2));
  OK(api.cuModuleUnload(mod));
  OK(api.cuCtxDestroy_v2(ctx));
  OK(api.cuCtxSetCurrent(before));
}

}  // namespace vgpu::fake::selftest
