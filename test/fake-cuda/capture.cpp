// fake-cuda (test double, never ships): stream capture. While a stream captures, the work pushed
// into it is recorded as graph nodes instead of running (every capturable call asks
// capture_gate), and cuStreamEndCapture hands the graph over. The rules the driver enforces
// around a capture are kept: the legacy stream may not depend on a capturing blocking stream,
// a capturing stream cannot be synchronized with, and an invalidated capture refuses more work
// until it is ended.
//
// Captures are kept in the streams of a context, under its lock (graph.h). A stream joins
// another's capture by waiting on an event recorded in it (a fork). Each node depends on its
// stream's previous one and on the records its stream waited for since (Capture::tails), which
// become the graph's edges; the fake does not check that every fork joined back.
#include "graph.h"

#include <algorithm>
#include <atomic>

using namespace vgpu::fake;

namespace {

std::atomic<std::uint64_t> g_next_capture_id{1};

// cuThreadExchangeStreamCaptureMode's per-thread mode. The fake does not enforce the modes'
// prohibition of "unsafe" calls; it only keeps the value.
thread_local int t_capture_mode = CU_STREAM_CAPTURE_MODE_GLOBAL;

bool is_legacy(CUstream s) { return s == nullptr || s == CU_STREAM_LEGACY; }

bool valid_mode(int m) { return m >= CU_STREAM_CAPTURE_MODE_GLOBAL && m <= CU_STREAM_CAPTURE_MODE_RELAXED; }

// A stream made by cuStreamCreate*: the NULL, legacy and per-thread streams have no entry.
Stream* find_stream(Context& ctx, CUstream s) {
  auto it = ctx.streams.find(s);
  return it == ctx.streams.end() ? nullptr : &it->second;
}

// The legacy stream synchronizes with every blocking stream of its context, so while one of them
// captures, work on it would wait for work that does not run: the driver refuses such work
// (CUDA_ERROR_STREAM_CAPTURE_IMPLICIT) and invalidates those captures. Streams created with
// CU_STREAM_NON_BLOCKING do not synchronize with it.
bool blocking_capture_open(Context& ctx, bool invalidate) {
  bool open = false;
  for (auto& [handle, st] : ctx.streams) {
    if (!st.capture || (st.flags & CU_STREAM_NON_BLOCKING) != 0) continue;
    open = true;
    if (invalidate) st.capture->invalidated = true;
  }
  return open;
}

// Every stream taking part leaves the capture; its graph becomes an ordinary one or goes (a
// graph the capture was begun into stays the program's).
void end_capture(Context& ctx, std::shared_ptr<Capture> cap, bool keep_graph) {
  for (auto& [handle, st] : ctx.streams) {
    if (st.capture == cap) st.capture.reset();
  }
  graph_close(cap->graph, keep_graph || cap->into_existing);
}

CUstreamCaptureStatus status_of(const Capture* cap) {
  if (cap == nullptr) return CU_STREAM_CAPTURE_STATUS_NONE;
  return cap->invalidated ? CU_STREAM_CAPTURE_STATUS_INVALIDATED : CU_STREAM_CAPTURE_STATUS_ACTIVE;
}

// cuStreamGetCaptureInfo_v2/_v3: with the nodes the stream's next node will depend on
// (Capture::tails), valid until the stream's next captured call; no edge data (every edge is a
// plain one, which the driver reports as null).
CUresult capture_info(CUstream hStream, CUstreamCaptureStatus* status, cuuint64_t* id, CUgraph* graph,
                      const CUgraphNode** deps, const CUgraphEdgeData** edges, size_t* count) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (status == nullptr || (edges != nullptr && deps == nullptr)) return CUDA_ERROR_INVALID_VALUE;
  if (!stream_ok(*l.ctx, hStream)) return CUDA_ERROR_INVALID_HANDLE;
  // As cuStreamIsCapturing: the legacy stream's state is unusable, but nothing is invalidated.
  if (is_legacy(hStream) && blocking_capture_open(*l.ctx, false)) return CUDA_ERROR_STREAM_CAPTURE_IMPLICIT;
  const Stream* st = find_stream(*l.ctx, hStream);
  const Capture* cap = st != nullptr ? st->capture.get() : nullptr;
  *status = status_of(cap);
  // The driver promises the rest only for an active capture; the fake gives the id of an
  // invalidated one too, and zeroes what it does not give.
  if (id != nullptr) *id = cap != nullptr ? cap->id : 0;
  if (graph != nullptr) *graph = cap != nullptr && !cap->invalidated ? cap->graph : nullptr;
  const bool active = cap != nullptr && !cap->invalidated;
  const std::vector<CUgraphNode>* tail = nullptr;
  if (active) {
    auto it = cap->tails.find(hStream);
    if (it != cap->tails.end() && !it->second.empty()) tail = &it->second;
  }
  if (deps != nullptr) *deps = tail != nullptr ? tail->data() : nullptr;
  if (edges != nullptr) *edges = nullptr;
  if (count != nullptr) *count = tail != nullptr ? tail->size() : 0;
  return CUDA_SUCCESS;
}

}  // namespace

namespace vgpu::fake {

CUresult capture_gate(Context& ctx, CUstream s, std::shared_ptr<Capture>& into) {
  into.reset();
  if (is_legacy(s)) return blocking_capture_open(ctx, true) ? CUDA_ERROR_STREAM_CAPTURE_IMPLICIT : CUDA_SUCCESS;
  const Stream* st = find_stream(ctx, s);
  if (st == nullptr || !st->capture) return CUDA_SUCCESS;  // the per-thread stream, or not capturing
  if (st->capture->invalidated) return CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
  into = st->capture;
  return CUDA_SUCCESS;
}

CUgraphNode capture_record(Capture& cap, CUstream s, NodeOp op, bool programmatic) {
  std::vector<CUgraphNode>& tail = cap.tails[s];
  const CUgraphNode node = graph_add(cap.graph, std::move(op), tail, programmatic);
  tail.assign(1, node);  // the stream's next node follows this one, which follows the rest
  return node;
}

CUresult capture_sync_check(Context& ctx, CUstream s) {
  if (is_legacy(s)) return blocking_capture_open(ctx, true) ? CUDA_ERROR_STREAM_CAPTURE_IMPLICIT : CUDA_SUCCESS;
  Stream* st = find_stream(ctx, s);
  if (st == nullptr || !st->capture) return CUDA_SUCCESS;
  // Its captured work never runs: waiting for it is a violation that ends the capture's use.
  st->capture->invalidated = true;
  return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
}

CUresult capture_ctx_sync_check(Context& ctx) {
  bool any = false;
  for (auto& [handle, st] : ctx.streams) {
    if (!st.capture) continue;
    st.capture->invalidated = true;
    any = true;
  }
  return any ? CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED : CUDA_SUCCESS;
}

CUresult capture_wait_event(Context& ctx, CUstream s, Event& e) {
  // The capture the event was last recorded in, while it is open.
  const std::shared_ptr<Capture> from = e.captured ? e.capture.lock() : nullptr;
  if (is_legacy(s) && blocking_capture_open(ctx, true)) return CUDA_ERROR_STREAM_CAPTURE_IMPLICIT;
  Stream* st = find_stream(ctx, s);
  if (st == nullptr) {
    // The legacy or per-thread stream cannot take part in a capture in the fake.
    return from ? CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED : CUDA_SUCCESS;
  }
  if (!st->capture) {
    if (!from) return CUDA_SUCCESS;  // all recorded work has run
    if (from->invalidated) return CUDA_ERROR_INVALID_VALUE;  // what the driver answers
    st->capture = from;  // a fork: from now on this stream's work is captured too, after the record
    from->tails[s].assign(1, e.capture_node);
    return CUDA_SUCCESS;
  }
  if (st->capture->invalidated) return CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
  if (from == st->capture) {  // a join: the stream's next node follows the record too
    std::vector<CUgraphNode>& tail = from->tails[s];
    if (std::find(tail.begin(), tail.end(), e.capture_node) == tail.end()) tail.push_back(e.capture_node);
    return CUDA_SUCCESS;
  }
  if (from) {
    st->capture->invalidated = true;
    from->invalidated = true;
    return CUDA_ERROR_STREAM_CAPTURE_MERGE;
  }
  // An event recorded outside any open capture: a dependency on work outside the capture.
  // One never recorded completes at once, so waiting on it depends on nothing.
  if (!e.recorded && !e.captured) return CUDA_SUCCESS;
  st->capture->invalidated = true;
  return CUDA_ERROR_STREAM_CAPTURE_ISOLATION;
}

bool capture_forget_stream(Context& ctx, CUstream s) {
  Stream* st = find_stream(ctx, s);
  if (st == nullptr || !st->capture) return false;
  const std::shared_ptr<Capture> cap = st->capture;
  if (cap->origin == s) {
    end_capture(ctx, cap, false);  // nobody can end it any more
    return true;
  }
  cap->invalidated = true;  // a fork that can no longer join back
  st->capture.reset();
  return false;
}

void capture_forget_context(Context& ctx) {
  std::vector<std::shared_ptr<Capture>> begun;
  for (const auto& [handle, st] : ctx.streams) {
    if (st.capture && st.capture->origin == handle) begun.push_back(st.capture);
  }
  for (const auto& cap : begun) end_capture(ctx, cap, false);
}

}  // namespace vgpu::fake

FAKE_CUDA_API CUresult CUDAAPI cuStreamBeginCapture_v2(CUstream hStream, CUstreamCaptureMode mode) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  const int m = raw_enum(&mode);
  if (!valid_mode(m)) return CUDA_ERROR_INVALID_VALUE;
  if (!stream_ok(*l.ctx, hStream)) return CUDA_ERROR_INVALID_HANDLE;
  Stream* st = find_stream(*l.ctx, hStream);
  // The driver refuses the legacy stream; the fake refuses the per-thread one too.
  if (st == nullptr) return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
  if (st->capture) return CUDA_ERROR_ILLEGAL_STATE;  // capturing, or joined to a capture
  auto cap = std::make_shared<Capture>();
  cap->id = g_next_capture_id.fetch_add(1);
  cap->origin = hStream;
  cap->mode = m;
  cap->thread = std::this_thread::get_id();
  cap->graph = graph_open(l->handle);
  st->capture = std::move(cap);
  l.lock.unlock();
  write_state_file();
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuStreamEndCapture(CUstream hStream, CUgraph* phGraph) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (phGraph == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (!stream_ok(*l.ctx, hStream)) return CUDA_ERROR_INVALID_HANDLE;
  Stream* st = find_stream(*l.ctx, hStream);
  if (st == nullptr || !st->capture) return CUDA_ERROR_ILLEGAL_STATE;
  const std::shared_ptr<Capture> cap = st->capture;
  if (cap->origin != hStream) return CUDA_ERROR_STREAM_CAPTURE_UNMATCHED;  // a stream that joined it
  if (cap->mode != CU_STREAM_CAPTURE_MODE_RELAXED && cap->thread != std::this_thread::get_id()) {
    return CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD;
  }
  const bool keep = !cap->invalidated;
  end_capture(*l.ctx, cap, keep);
  l.lock.unlock();
  *phGraph = keep ? cap->graph : nullptr;
  if (keep) return CUDA_SUCCESS;
  write_state_file();  // its graph went
  return CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
}

FAKE_CUDA_API CUresult CUDAAPI cuStreamIsCapturing(CUstream hStream, CUstreamCaptureStatus* captureStatus) {
  return capture_info(hStream, captureStatus, nullptr, nullptr, nullptr, nullptr, nullptr);
}

FAKE_CUDA_API CUresult CUDAAPI cuStreamGetCaptureInfo_v2(CUstream hStream, CUstreamCaptureStatus* captureStatus_out,
                                                         cuuint64_t* id_out, CUgraph* graph_out,
                                                         const CUgraphNode** dependencies_out,
                                                         size_t* numDependencies_out) {
  return capture_info(hStream, captureStatus_out, id_out, graph_out, dependencies_out, nullptr, numDependencies_out);
}

FAKE_CUDA_API CUresult CUDAAPI cuStreamGetCaptureInfo_v3(CUstream hStream, CUstreamCaptureStatus* captureStatus_out,
                                                         cuuint64_t* id_out, CUgraph* graph_out,
                                                         const CUgraphNode** dependencies_out,
                                                         const CUgraphEdgeData** edgeData_out,
                                                         size_t* numDependencies_out) {
  return capture_info(hStream, captureStatus_out, id_out, graph_out, dependencies_out, edgeData_out,
                      numDependencies_out);
}

FAKE_CUDA_API CUresult CUDAAPI cuThreadExchangeStreamCaptureMode(CUstreamCaptureMode* mode) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (mode == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const int wanted = raw_enum(mode);
  if (!valid_mode(wanted)) return CUDA_ERROR_INVALID_VALUE;
  *mode = static_cast<CUstreamCaptureMode>(t_capture_mode);
  t_capture_mode = wanted;
  return CUDA_SUCCESS;
}

// As cuStreamBeginCapture_v2, into an existing graph (a graph made by hand, or a conditional
// node's body), the first captured node depending on deps[0..n) of it. Edge data other than
// none is not modelled.
FAKE_CUDA_API CUresult CUDAAPI cuStreamBeginCaptureToGraph(CUstream hStream, CUgraph hGraph,
                                                           const CUgraphNode* dependencies,
                                                           const CUgraphEdgeData* dependencyData,
                                                           size_t numDependencies, CUstreamCaptureMode mode) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  const int m = raw_enum(&mode);
  if (!valid_mode(m) || dependencyData != nullptr || (numDependencies != 0 && dependencies == nullptr))
    return CUDA_ERROR_INVALID_VALUE;
  if (!stream_ok(*l.ctx, hStream)) return CUDA_ERROR_INVALID_HANDLE;
  Stream* st = find_stream(*l.ctx, hStream);
  if (st == nullptr) return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
  if (st->capture) return CUDA_ERROR_ILLEGAL_STATE;
  for (size_t i = 0; i < numDependencies; ++i) {
    CUgraph owner = nullptr;
    if (!graph_node_info(dependencies[i], &owner, nullptr) || owner != hGraph) return CUDA_ERROR_INVALID_VALUE;
  }
  if (CUresult r = graph_capture_into(hGraph, l->handle); r != CUDA_SUCCESS) return r;
  auto cap = std::make_shared<Capture>();
  cap->id = g_next_capture_id.fetch_add(1);
  cap->origin = hStream;
  cap->mode = m;
  cap->thread = std::this_thread::get_id();
  cap->graph = hGraph;
  cap->into_existing = true;
  if (numDependencies != 0) cap->tails[hStream].assign(dependencies, dependencies + numDependencies);
  st->capture = std::move(cap);
  return CUDA_SUCCESS;
}

// The nodes the stream's next captured node depends on: deps[0..n) added to them
// (CU_STREAM_ADD_CAPTURE_DEPENDENCIES) or in their place (CU_STREAM_SET_CAPTURE_DEPENDENCIES).
// Each must be a node of the capture's graph (nodes added to it by hand included).
FAKE_CUDA_API CUresult CUDAAPI cuStreamUpdateCaptureDependencies_v2(CUstream hStream, CUgraphNode* dependencies,
                                                                    const CUgraphEdgeData* dependencyData,
                                                                    size_t numDependencies, unsigned int flags) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (dependencyData != nullptr || (numDependencies != 0 && dependencies == nullptr) ||
      (flags != CU_STREAM_ADD_CAPTURE_DEPENDENCIES && flags != CU_STREAM_SET_CAPTURE_DEPENDENCIES))
    return CUDA_ERROR_INVALID_VALUE;
  if (!stream_ok(*l.ctx, hStream)) return CUDA_ERROR_INVALID_HANDLE;
  Stream* st = find_stream(*l.ctx, hStream);
  if (st == nullptr || !st->capture) return CUDA_ERROR_ILLEGAL_STATE;
  if (st->capture->invalidated) return CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
  for (size_t i = 0; i < numDependencies; ++i) {
    CUgraph owner = nullptr;
    if (!graph_node_info(dependencies[i], &owner, nullptr) || owner != st->capture->graph)
      return CUDA_ERROR_INVALID_VALUE;
  }
  std::vector<CUgraphNode>& tail = st->capture->tails[hStream];
  if (flags == CU_STREAM_SET_CAPTURE_DEPENDENCIES) tail.clear();
  for (size_t i = 0; i < numDependencies; ++i)
    if (std::find(tail.begin(), tail.end(), dependencies[i]) == tail.end()) tail.push_back(dependencies[i]);
  return CUDA_SUCCESS;
}
