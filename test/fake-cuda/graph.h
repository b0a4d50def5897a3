// fake-cuda: a host-memory TEST DOUBLE of the CUDA Driver API. It never ships and proves
// nothing about CUDA; it only lets vgpud run end to end on machines without a GPU.
//
// Stream capture and graphs, as the files of the library share them: the work a captured call
// records instead of running (a node), the capture a stream takes part in (capture.cpp), the
// graphs that hold nodes (graph.cpp), and what replays a node (launch.cpp, memory.cpp).
//
// Locks: captures live in a context's streams, so the context's lock guards them. graph.cpp's
// registry mutex is a leaf: taken under a Context::mu and the region index's, nothing under it.
#pragma once

#include <thread>
#include <variant>

#include "internal.h"

namespace vgpu::fake {

// ---- nodes: a stream operation recorded by a capture, replayed by cuGraphLaunch ----

// A kernel launch, validated at capture. The function and its arguments are copied, as the
// driver copies them: the caller may change its buffers, or unload the module, afterwards.
struct KernelNode {
  Function fn;
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  unsigned smem = 0;
  std::vector<unsigned char> args;  // laid out as fn.params says
};

// A copy. Host pointers are kept by address and read or written at each replay, as the driver
// does; device ranges are checked again at replay (the memory may have been freed since).
struct CopyNode {
  CUdeviceptr dst = 0;
  CUdeviceptr src = 0;
  std::size_t bytes = 0;  // > 0
  bool dst_device = true;
  bool src_device = true;
};

// A memset of `height` rows of `width` elements of `elem` bytes (1, 2, 4 or 8), `pitch` apart;
// also what a captured cuStreamWriteValue* records (one element).
struct MemsetNode {
  CUdeviceptr dst = 0;
  std::size_t pitch = 0;
  std::size_t width = 0;   // > 0
  std::size_t height = 1;  // > 0
  std::size_t elem = 1;
  std::array<unsigned char, 8> value{};  // the element's bytes, in its first `elem`
};

// cuEventRecord: replayed as the fake's record (a timestamp); an event destroyed since is skipped.
struct EventRecordNode {
  CUevent event = nullptr;
};

using NodeOp = std::variant<KernelNode, CopyNode, MemsetNode, EventRecordNode>;

struct Node {
  CUgraphNode handle = nullptr;  // opaque, for cuGraphGetNodes
  NodeOp op;
};

// ---- captures (capture.cpp) ----

// A capture sequence: begun on `origin`, joined by the streams that waited on an event recorded
// in it; every stream taking part holds it (Stream::capture). The fake does not track the
// dependencies between nodes: work reaches it in an order that respects them, and a graph
// replays its nodes in that order.
struct Capture {
  std::uint64_t id = 0;  // unique in the process, from 1
  CUstream origin = nullptr;
  int mode = CU_STREAM_CAPTURE_MODE_GLOBAL;
  std::thread::id thread;  // that began it: a capture not RELAXED must end on it
  CUgraph graph = nullptr;  // being captured into (graph.cpp)
  bool invalidated = false;
};

// What a stream operation, its arguments validated, does next (caller holds ctx.mu):
// CUDA_SUCCESS with `into` null: run now; CUDA_SUCCESS with `into` set: record a node into that
// capture instead; an error to return: CUDA_ERROR_STREAM_CAPTURE_INVALIDATED on a stream whose
// capture was invalidated, CUDA_ERROR_STREAM_CAPTURE_IMPLICIT on the legacy stream while a
// blocking stream of the context is capturing (whose captures it invalidates).
CUresult capture_gate(Context& ctx, CUstream s, std::shared_ptr<Capture>& into);
// cuStreamSynchronize / cuStreamQuery: CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED on a capturing
// stream (its capture is invalidated), the legacy stream's rule as above, else CUDA_SUCCESS.
CUresult capture_sync_check(Context& ctx, CUstream s);
// cuCtxSynchronize: CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED while any stream of the context is
// capturing (every capture of the context is invalidated), else CUDA_SUCCESS.
CUresult capture_ctx_sync_check(Context& ctx);
// cuStreamWaitEvent on a valid stream and event: joins the stream to the capture the event was
// recorded in, refuses what would merge captures or cross their boundary.
CUresult capture_wait_event(Context& ctx, CUstream s, Event& e);
// A stream being destroyed: the capture it began ends and its graph goes (then true); one it
// joined is invalidated. Before the stream leaves ctx.streams.
bool capture_forget_stream(Context& ctx, CUstream s);
// A context being destroyed: every capture begun in it ends, its graph destroyed.
void capture_forget_context(Context& ctx);

// ---- graphs (graph.cpp) ----

// These update the count of graphs but leave the state file to the caller, who holds locks.
CUgraph graph_open(CUcontext ctx);  // a new graph, marked as being captured into in ctx
void graph_add(CUgraph g, NodeOp op);
// The capture into g ended: keep it as an ordinary graph, or destroy it (an invalidated capture).
void graph_close(CUgraph g, bool keep);

// ---- replay ----

// launch.cpp: logs an accepted launch and runs its built-in behaviour. A sleeping kernel
// releases l.lock while it sleeps, and returns with it released.
void run_kernel(Locked& l, const Function& fn, const unsigned grid[3], const unsigned block[3], unsigned smem,
                const std::vector<unsigned char>& args);
// memory.cpp: writes a memset node's rows (the span checked by the caller).
void fill_rows(const MemsetNode& m);

}  // namespace vgpu::fake
