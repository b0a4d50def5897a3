// Stream capture (docs/design.md §19): begun and ended through vgpud, which captures the
// stream's work on the host; queries answered locally while no capture is open; the capture
// modes applied to the program's threads here (capture.h).
#include <atomic>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "guest/client/log.h"
#include "guest/cuda/api.h"
#include "guest/cuda/capture.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/handles.h"
#include "guest/cuda/streams.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace {

// A capture this process began and has not ended, by vgpud's stream id.
struct OpenCapture {
  CUstreamCaptureMode mode;
  std::thread::id thread;  // the one that began it
};

std::mutex g_mutex;
std::unordered_map<uint64_t, OpenCapture> g_open;  // guarded by g_mutex
// Host functions launched into a capture, by the driver's capture id: the graph the capture
// ends in holds them (host_functions.h). Guarded by g_mutex.
std::unordered_map<uint64_t, std::vector<std::pair<uint64_t, bool>>> g_capture_functions;  // (id, runs)

// The driver's status and capture id of vgpud's stream `stream`.
CUresult ask_capture_info(guest::Channel& ch, uint64_t stream, proto::StreamCaptureInfoReply* reply) {
  const proto::StreamRequest request{stream};
  const guest::CallResult result = ch.call(proto::CallId::StreamCaptureInfo, {{&request, sizeof request}},
                                           std::span(reinterpret_cast<uint8_t*>(reply), sizeof *reply));
  return to_cu_result(result.status);
}
std::atomic<int> g_open_count{0};

thread_local CUstreamCaptureMode t_mode = CU_STREAM_CAPTURE_MODE_GLOBAL;  // cuThreadExchangeStreamCaptureMode's

CUresult begin_capture(CUstream stream, CUstreamCaptureMode mode) {
  if (mode != CU_STREAM_CAPTURE_MODE_GLOBAL && mode != CU_STREAM_CAPTURE_MODE_THREAD_LOCAL &&
      mode != CU_STREAM_CAPTURE_MODE_RELAXED)
    return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    proto::StreamRequest request{};
    if (!wire_stream(stream, &request.stream)) return CUDA_ERROR_INVALID_HANDLE;
    const CUresult r = to_cu_result(ch->call(proto::CallId::StreamBeginCapture, {{&request, sizeof request}}, {}).status);
    if (r != CUDA_SUCCESS) return r;
    capture_begun(request.stream, mode);
    return CUDA_SUCCESS;
  });
}

CUresult end_capture(CUstream stream, CUgraph* out) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    *out = nullptr;
    guest::Channel* ch = nullptr;
    Context* c = nullptr;
    if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
    proto::StreamRequest request{};
    if (!wire_stream(stream, &request.stream)) return CUDA_ERROR_INVALID_HANDLE;
    // Host functions launched into the capture go to its graph, and a graph the program was
    // handed while capturing is the one it ends in: which capture is the driver's to say.
    bool has_functions = false;
    {
      std::lock_guard lock(g_mutex);
      has_functions = !g_capture_functions.empty();
    }
    proto::StreamCaptureInfoReply info{};
    if (has_functions || any_capture_graph()) (void)ask_capture_info(*ch, request.stream, &info);
    proto::StreamEndCaptureReply reply{};
    const guest::CallResult result =
        ch->call(proto::CallId::StreamEndCapture, {{&request, sizeof request}},
                 std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
    std::vector<std::pair<uint64_t, bool>> functions;
    {
      // Ended whatever the answer: the driver ends a capture that failed, too.
      std::lock_guard lock(g_mutex);
      g_open.erase(request.stream);
      g_open_count.store(static_cast<int>(g_open.size()), std::memory_order_release);
      if (auto it = g_capture_functions.find(info.capture_id); info.capture_id != 0 && it != g_capture_functions.end()) {
        functions = std::move(it->second);
        g_capture_functions.erase(it);
      }
    }
    // The graph the program already holds (cuStreamGetCaptureInfo's, or the one the capture was
    // begun into), or a new one.
    const CaptureGraph named = take_capture_graph(info.capture_id);
    std::unique_ptr<GraphObject> graph;
    if (named.graph != nullptr && named.owned) graph.reset(named.graph);
    if (graph == nullptr) graph = std::make_unique<GraphObject>(reply.graph, c->device, /*was_captured=*/true);
    GraphObject* ended = named.graph != nullptr && !named.owned ? named.graph : graph.get();
    {
      std::lock_guard lock(ended->mutex);
      for (const auto& [f, runs] : functions) ended->host_functions.adopt(f, runs);  // let go of with it, if the capture failed
    }
    if (result.status != 0) {
      // The capture's graph went with it. One the program was handed stays allocated, dead, so
      // that its handle and its nodes' read as stale rather than as freed memory.
      if (named.graph != nullptr && named.owned) {
        for (auto& n : graph->nodes) n->kind = HandleKind::Dead;
        graph->kind = HandleKind::Dead;
        graph.release();
      }
      return to_cu_result(result.status);
    }
    if (graph.get() == ended) graph.release();
    *out = reinterpret_cast<CUgraph>(ended);
    return CUDA_SUCCESS;
  });
}

// The queries' common path. While no capture is open, no stream can be capturing: the answer
// is local. Otherwise vgpud asks the driver, which also knows streams that joined a capture.
CUresult capture_info(CUstream stream, CUstreamCaptureStatus* status, cuuint64_t* id, CUgraph* graph,
                      const CUgraphNode** dependencies, const CUgraphEdgeData** edges, size_t* count) {
  if (status == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (init_status() != CUDA_SUCCESS) return init_status();
  if (stream_object(stream) == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  // The other outputs are only defined while capturing; cleared so nothing stale is read.
  if (id != nullptr) *id = 0;
  if (graph != nullptr) *graph = nullptr;
  if (dependencies != nullptr) *dependencies = nullptr;
  if (edges != nullptr) *edges = nullptr;
  if (count != nullptr) *count = 0;
  *status = CU_STREAM_CAPTURE_STATUS_NONE;
  if (!any_capture_open()) return CUDA_SUCCESS;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    uint64_t wire = 0;
    if (!wire_stream(stream, &wire)) return CUDA_ERROR_INVALID_HANDLE;
    // The graph being captured and the nodes the next one will depend on (capture_graph_api.cpp).
    if (graph != nullptr || dependencies != nullptr || edges != nullptr || count != nullptr)
      return capture_graph_info(*ch, wire, status, id, graph, dependencies, edges, count);
    proto::StreamCaptureInfoReply reply{};
    if (CUresult r = ask_capture_info(*ch, wire, &reply); r != CUDA_SUCCESS) return r;
    *status = static_cast<CUstreamCaptureStatus>(reply.status);
    if (id != nullptr) *id = reply.capture_id;
    return CUDA_SUCCESS;
  });
}

}  // namespace

namespace vgpu::cuda {

bool any_capture_open() noexcept { return g_open_count.load(std::memory_order_acquire) != 0; }

CUresult capture_of_stream(uint64_t stream, uint64_t* capture) noexcept {
  *capture = 0;
  if (!any_capture_open()) return CUDA_SUCCESS;
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  proto::StreamCaptureInfoReply reply{};
  if (CUresult r = ask_capture_info(*ch, stream, &reply); r != CUDA_SUCCESS) return r;
  if (reply.status == CU_STREAM_CAPTURE_STATUS_ACTIVE) *capture = reply.capture_id;
  return CUDA_SUCCESS;
}

void capture_begun(uint64_t stream, CUstreamCaptureMode mode) {
  std::lock_guard lock(g_mutex);
  g_open[stream] = {mode, std::this_thread::get_id()};
  g_open_count.store(static_cast<int>(g_open.size()), std::memory_order_release);
}

void capture_keeps_host_function(uint64_t capture, uint64_t function, bool runs) {
  std::lock_guard lock(g_mutex);
  g_capture_functions[capture].emplace_back(function, runs);
}

CUresult check_unsafe_call_during_capture() noexcept {
  if (!any_capture_open() || t_mode == CU_STREAM_CAPTURE_MODE_RELAXED) return CUDA_SUCCESS;
  // The driver's rule: a thread in global mode may not while it has a capture of its own that
  // is not relaxed or another thread has a global one; in thread-local mode, only its own count.
  std::vector<uint64_t> forbidding;
  {
    std::lock_guard lock(g_mutex);
    const std::thread::id self = std::this_thread::get_id();
    for (const auto& [stream, capture] : g_open) {
      const bool own = capture.thread == self && capture.mode != CU_STREAM_CAPTURE_MODE_RELAXED;
      const bool others = t_mode == CU_STREAM_CAPTURE_MODE_GLOBAL && capture.thread != self &&
                          capture.mode == CU_STREAM_CAPTURE_MODE_GLOBAL;
      if (own || others) forbidding.push_back(stream);
    }
  }
  if (forbidding.empty()) return CUDA_SUCCESS;
  // The driver invalidates those captures. A synchronize of a capturing stream is refused and
  // invalidates its capture on the host too; its answer is known, and not the point.
  guest::Channel* ch = nullptr;
  if (enter_context(&ch, nullptr) == CUDA_SUCCESS)
    for (uint64_t stream : forbidding) {
      const proto::StreamRequest request{stream};
      (void)ch->call(proto::CallId::StreamSynchronize, {{&request, sizeof request}}, {});
    }
  return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
}

}  // namespace vgpu::cuda

VGPU_DRIVER_API CUresult cuStreamBeginCapture_v2(CUstream s, CUstreamCaptureMode mode) { return begin_capture(s, mode); }
VGPU_DRIVER_API CUresult cuStreamBeginCapture_v2_ptsz(CUstream s, CUstreamCaptureMode mode) {
  return begin_capture(per_thread(s), mode);
}
// CUDA 10.0's entry point, before capture modes: global.
VGPU_DRIVER_API CUresult cuStreamBeginCapture(CUstream s) { return begin_capture(s, CU_STREAM_CAPTURE_MODE_GLOBAL); }
VGPU_DRIVER_API CUresult cuStreamBeginCapture_ptsz(CUstream s) {
  return begin_capture(per_thread(s), CU_STREAM_CAPTURE_MODE_GLOBAL);
}
VGPU_DRIVER_API CUresult cuStreamEndCapture(CUstream s, CUgraph* graph) { return end_capture(s, graph); }
VGPU_DRIVER_API CUresult cuStreamEndCapture_ptsz(CUstream s, CUgraph* graph) { return end_capture(per_thread(s), graph); }

VGPU_DRIVER_API CUresult cuStreamIsCapturing(CUstream s, CUstreamCaptureStatus* status) {
  return capture_info(s, status, nullptr, nullptr, nullptr, nullptr, nullptr);
}
VGPU_DRIVER_API CUresult cuStreamIsCapturing_ptsz(CUstream s, CUstreamCaptureStatus* status) {
  return cuStreamIsCapturing(per_thread(s), status);
}
VGPU_DRIVER_API CUresult cuStreamGetCaptureInfo(CUstream s, CUstreamCaptureStatus* status, cuuint64_t* id) {
  return capture_info(s, status, id, nullptr, nullptr, nullptr, nullptr);
}
VGPU_DRIVER_API CUresult cuStreamGetCaptureInfo_ptsz(CUstream s, CUstreamCaptureStatus* status, cuuint64_t* id) {
  return cuStreamGetCaptureInfo(per_thread(s), status, id);
}
VGPU_DRIVER_API CUresult cuStreamGetCaptureInfo_v2(CUstream s, CUstreamCaptureStatus* status, cuuint64_t* id,
                                                   CUgraph* graph, const CUgraphNode** dependencies, size_t* count) {
  return capture_info(s, status, id, graph, dependencies, nullptr, count);
}
VGPU_DRIVER_API CUresult cuStreamGetCaptureInfo_v2_ptsz(CUstream s, CUstreamCaptureStatus* status, cuuint64_t* id,
                                                        CUgraph* graph, const CUgraphNode** dependencies,
                                                        size_t* count) {
  return cuStreamGetCaptureInfo_v2(per_thread(s), status, id, graph, dependencies, count);
}
VGPU_DRIVER_API CUresult cuStreamGetCaptureInfo_v3(CUstream s, CUstreamCaptureStatus* status, cuuint64_t* id,
                                                   CUgraph* graph, const CUgraphNode** dependencies,
                                                   const CUgraphEdgeData** edges, size_t* count) {
  return capture_info(s, status, id, graph, dependencies, edges, count);
}
VGPU_DRIVER_API CUresult cuStreamGetCaptureInfo_v3_ptsz(CUstream s, CUstreamCaptureStatus* status, cuuint64_t* id,
                                                        CUgraph* graph, const CUgraphNode** dependencies,
                                                        const CUgraphEdgeData** edges, size_t* count) {
  return cuStreamGetCaptureInfo_v3(per_thread(s), status, id, graph, dependencies, edges, count);
}
VGPU_DRIVER_API CUresult cuThreadExchangeStreamCaptureMode(CUstreamCaptureMode* mode) {
  if (mode == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (*mode != CU_STREAM_CAPTURE_MODE_GLOBAL && *mode != CU_STREAM_CAPTURE_MODE_THREAD_LOCAL &&
      *mode != CU_STREAM_CAPTURE_MODE_RELAXED)
    return CUDA_ERROR_INVALID_VALUE;
  const CUstreamCaptureMode previous = t_mode;
  t_mode = *mode;
  *mode = previous;
  return CUDA_SUCCESS;
}
