// fake-cuda: a host-memory TEST DOUBLE of the CUDA Driver API. It never ships and proves
// nothing about CUDA; it only lets vgpud run end to end on machines without a GPU.
//
// Stream capture and graphs, as the files of the library share them: the work a captured call
// records instead of running (a node), the capture a stream takes part in (capture.cpp), the
// graphs that hold nodes and their edges (graph.cpp, graph_dag.cpp), the nodes built one by one
// (graph_build.cpp), and what checks and replays a node (launch.cpp, memory.cpp).
//
// Locks: captures live in a context's streams, so the context's lock guards them. graph.cpp's
// registry mutex is a leaf: taken under a Context::mu and the region index's, nothing under it.
// A host function (cuLaunchHostFunc, a host node) is called with none of them held.
#pragma once

#include <thread>
#include <variant>

#include "internal.h"

namespace vgpu::fake {

// ---- nodes: a stream operation captured or added by hand, replayed by cuGraphLaunch ----

// A kernel launch, validated when captured or added. The function and its arguments are copied,
// as the driver copies them: the caller may change its buffers, or unload the module, afterwards.
struct KernelNode {
  Function fn;
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  unsigned smem = 0;
  std::vector<unsigned char> args;  // laid out as fn.params says
};

// A copy. Host pointers are kept by address and read or written at each replay, as the driver
// does; device ranges are checked again at replay (the memory may have been freed since).
// A captured copy is one row; a memcpy node added by hand (cuGraphAddMemcpyNode) may be `depth`
// slices of `height` rows, each side's rows `*_pitch` and slices `*_slice` bytes apart, dst and
// src then being the first byte copied on each side (the offsets already applied).
struct CopyNode {
  CUdeviceptr dst = 0;
  CUdeviceptr src = 0;
  std::size_t bytes = 0;  // > 0, of each row
  bool dst_device = true;
  bool src_device = true;
  std::size_t height = 1;  // > 0
  std::size_t depth = 1;   // > 0
  std::size_t dst_pitch = 0, src_pitch = 0;  // unused for one row
  std::size_t dst_slice = 0, src_slice = 0;  // unused for one slice
  // From the first byte to the last that each side touches (checked not to overflow when added).
  std::size_t dst_span() const { return (depth - 1) * dst_slice + (height - 1) * dst_pitch + bytes; }
  std::size_t src_span() const { return (depth - 1) * src_slice + (height - 1) * src_pitch + bytes; }
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
  // Recorded by cuStreamWriteValue*: the driver's node is a batch memory operation, which
  // cuGraphNodeGetType reports; it replays as the memset it amounts to.
  bool write_value = false;
};

// cuEventRecord, or cuGraphAddEventRecordNode: replayed as the fake's record (a timestamp); an
// event destroyed since is skipped.
struct EventRecordNode {
  CUevent event = nullptr;
};

// cuGraphAddEventWaitNode: what cuStreamWaitEvent does outside a capture, which is nothing, since
// all work runs at once and whatever recorded the event has run. The event is kept only for its
// node's sake; one destroyed since is ignored (graph.cpp).
struct EventWaitNode {
  CUevent event = nullptr;
};

// cuGraphAddEmptyNode: does nothing when it runs; it only orders the nodes around it.
struct EmptyNode {};

// cuLaunchHostFunc captured, or cuGraphAddHostNode: calls fn(data) on the launching thread, at
// its place in the order, with no lock of the fake held (run_host_fn).
struct HostNode {
  CUhostFn fn = nullptr;  // never null
  void* data = nullptr;
};

struct Node;

// cuGraphAddChildGraphNode: the child graph's nodes as they were when the node was added, in an
// order its edges allow (changing the child afterwards does not reach the node, as the driver
// keeps a copy); replayed in place, whole, when the node runs.
struct ChildNode {
  std::shared_ptr<const std::vector<Node>> nodes;
};

using NodeOp =
    std::variant<KernelNode, CopyNode, MemsetNode, EventRecordNode, EventWaitNode, EmptyNode, HostNode, ChildNode>;

struct Node {
  CUgraphNode handle = nullptr;  // opaque, never reused; graph.cpp's registry resolves it
  NodeOp op;
};

// ---- captures (capture.cpp) ----

// A capture sequence: begun on `origin`, joined by the streams that waited on an event recorded
// in it; every stream taking part holds it (Stream::capture). Each node depends on what came
// before it on its stream, and a stream that waits on an event recorded in the capture (a fork
// or a join) on that record's node too; those become the graph's edges, so that nodes added to
// the graph by hand later are ordered against the captured ones as the driver would order them.
// Work reaches the capture in an order that respects the edges, so a captured graph replays in
// capture order.
struct Capture {
  std::uint64_t id = 0;  // unique in the process, from 1
  CUstream origin = nullptr;
  int mode = CU_STREAM_CAPTURE_MODE_GLOBAL;
  std::thread::id thread;  // that began it: a capture not RELAXED must end on it
  CUgraph graph = nullptr;  // being captured into (graph.cpp)
  bool invalidated = false;
  // Per stream taking part: the nodes its next node will depend on (none before its first).
  std::unordered_map<CUstream, std::vector<CUgraphNode>> tails;
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
// Records a validated stream operation on `s` (taking part in `cap`) as a node of its graph,
// after the stream's previous node(s); returns the node.
CUgraphNode capture_record(Capture& cap, CUstream s, NodeOp op);
// cuStreamWaitEvent on a valid stream and event: joins the stream to the capture the event was
// recorded in (its next node depends on the record's), refuses what would merge captures or
// cross their boundary.
CUresult capture_wait_event(Context& ctx, CUstream s, Event& e);
// A stream being destroyed: the capture it began ends and its graph goes (then true); one it
// joined is invalidated. Before the stream leaves ctx.streams.
bool capture_forget_stream(Context& ctx, CUstream s);
// A context being destroyed: every capture begun in it ends, its graph destroyed.
void capture_forget_context(Context& ctx);

// ---- graphs (graph.cpp) ----

// These update the count of graphs but leave the state file to the caller, who holds locks.
CUgraph graph_open(CUcontext ctx);  // a new graph, marked as being captured into in ctx
// A captured node, after `deps` (nodes of g); returns its handle.
CUgraphNode graph_add(CUgraph g, NodeOp op, const std::vector<CUgraphNode>& deps);
// The capture into g ended: keep it as an ordinary graph, or destroy it (an invalidated capture).
void graph_close(CUgraph g, bool keep);

// Graphs built by hand (graph_build.cpp checks the node, these check its place in the graph).
// A node of context `ctx` (null: a node of no context, an empty one) depending on deps[0..n):
// CUDA_ERROR_INVALID_VALUE for an unknown graph, or a dependency that is not a node of g or is
// named twice; CUDA_ERROR_ILLEGAL_STATE while a capture records into g (as cuGraphDestroy);
// CUDA_ERROR_INVALID_CONTEXT when the graph's nodes are of another context (the fake runs a
// graph in one context). On success *out is the new node; on failure nothing is added.
CUresult graph_insert(CUgraph g, CUcontext ctx, NodeOp op, const CUgraphNode* deps, std::size_t n, CUgraphNode* out);
// A copy of graph g's nodes in an order its edges allow, and the context they run in (null when
// none has one): CUDA_ERROR_INVALID_VALUE for an unknown graph, CUDA_ERROR_ILLEGAL_STATE while a
// capture records into it.
CUresult graph_snapshot(CUgraph g, CUcontext* ctx, std::shared_ptr<const std::vector<Node>>* nodes);
// Edges from[i] -> to[i], all or none: CUDA_ERROR_INVALID_VALUE for an unknown graph, an end that
// is not a node of g, an edge that exists already (or twice in the list) or that closes a cycle;
// CUDA_ERROR_ILLEGAL_STATE while a capture records into g.
CUresult graph_connect(CUgraph g, const CUgraphNode* from, const CUgraphNode* to, std::size_t n);

// ---- what a node shares with the stream call it stands for ----

// launch.cpp: a launch's dimensions and dynamic shared memory, checked as cuLaunchKernel checks
// them (CUDA_ERROR_INVALID_VALUE), and its arguments gathered from kernelParams or `extra` into
// a buffer laid out as f.params says.
CUresult launch_dims_check(const Function& f, const unsigned grid[3], const unsigned block[3], unsigned smem);
CUresult gather_args(const Function& f, void** kernelParams, void** extra, std::vector<unsigned char>& args);
// memory.cpp: the span in bytes of `height` rows (> 0) of `width` elements (> 0) of `elem`
// bytes, `pitch` apart (ignored for one row), checked as the 2D memsets check it: dst and the
// pitch aligned to the element, rows that do not overlap, no overflow (else
// CUDA_ERROR_INVALID_VALUE). The caller checks that the span is device memory.
CUresult memset_span(CUdeviceptr dst, std::size_t pitch, std::size_t elem, std::size_t width, std::size_t height,
                     std::size_t& span);

// ---- replay ----

// launch.cpp: logs an accepted launch and runs its built-in behaviour. A sleeping kernel
// releases l.lock while it sleeps, and returns with it released.
void run_kernel(Locked& l, const Function& fn, const unsigned grid[3], const unsigned block[3], unsigned smem,
                const std::vector<unsigned char>& args);
// launch.cpp: calls a host function (cuLaunchHostFunc, a host node) on the calling thread. It
// releases l.lock first and returns with it released: the function may block for long (on
// another thread that makes CUDA calls meanwhile), so no lock of the fake may be held, g_mu and
// the region index's included.
void run_host_fn(Locked& l, const HostNode& h);
// memory.cpp: writes a memset node's rows (the span checked by the caller).
void fill_rows(const MemsetNode& m);
// memory.cpp: copies a copy node's rows, slice by slice (both spans checked by the caller).
void copy_rows(const CopyNode& c);

}  // namespace vgpu::fake
