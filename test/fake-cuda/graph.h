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

#include <functional>
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
  CUfunction func = nullptr;         // the handle it was made with (cuGraphKernelNodeGetParams)
  // Launch attributes set on the node (cuGraphKernelNodeSetAttribute, graph_update.cpp): kept and
  // read back; the fake runs every kernel the same way.
  int cooperative = 0;
  int priority = 0;
  unsigned cluster[3] = {0, 0, 0};
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
// keeps a copy); replayed in place, whole, when the node runs. Once cuGraphChildGraphNodeGetGraph
// has handed out the node's own graph (`body`, made then from those nodes), that graph is what
// an instantiation copies, so that nodes added to it reach the node (graph_structure.cpp).
struct ChildNode {
  std::shared_ptr<const std::vector<Node>> nodes;
  CUgraph body = nullptr;
};

// cuGraphAddMemAllocNode, or cuMemAllocAsync captured: the fake allocates the memory when the
// node is made and keeps it until the context goes (or cuMemFree), so the address is fixed and
// usable for the node's life; running the node does nothing (graph_memory.cpp).
struct MemAllocNode {
  CUdeviceptr dptr = 0;
  std::size_t bytes = 0;
  CUdevice device = 0;
};

// cuGraphAddMemFreeNode, or cuMemFreeAsync captured: nothing to do when it runs in the fake.
struct MemFreeNode {
  CUdeviceptr dptr = 0;
};

// A conditional node (cuGraphAddNode_v2): its body graphs are graphs of the registry that the
// node owns; an instantiation copies their nodes into `snapshots`, and a replay runs them as
// the handle's value says (graph_conditional.cpp).
struct ConditionalNode {
  CUgraphConditionalHandle handle = 0;
  int type = CU_GRAPH_COND_TYPE_IF;
  std::shared_ptr<std::vector<CUgraph>> bodies;  // the array phGraph_out points at
  std::vector<std::shared_ptr<const std::vector<Node>>> snapshots;
};

using NodeOp = std::variant<KernelNode, CopyNode, MemsetNode, EventRecordNode, EventWaitNode, EmptyNode, HostNode,
                            ChildNode, MemAllocNode, MemFreeNode, ConditionalNode>;

struct Node {
  CUgraphNode handle = nullptr;  // opaque, never reused; graph.cpp's registry resolves it
  NodeOp op;
  // An executable graph's node turned off (cuGraphNodeSetEnabled): skipped when it runs.
  bool disabled = false;
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
  bool into_existing = false;  // cuStreamBeginCaptureToGraph's: the graph outlives a failed capture
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
CUgraphNode capture_record(Capture& cap, CUstream s, NodeOp op, bool programmatic = false);
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
// A captured node, after `deps` (nodes of g); returns its handle. A kernel launched with
// programmatic stream serialization (`programmatic`) follows the kernels among them through
// programmatic edges.
CUgraphNode graph_add(CUgraph g, NodeOp op, const std::vector<CUgraphNode>& deps, bool programmatic = false);
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
// Edges from[i] -> to[i] with data[i] (null: default edges), all or none:
// CUDA_ERROR_INVALID_VALUE for an unknown graph, an end that is not a node of g, an edge that
// exists already (or twice in the list), or data the ends cannot have (a port on a node that is
// no kernel, a programmatic edge to one, the programmatic port on a default edge).
CUresult graph_connect(CUgraph g, const CUgraphNode* from, const CUgraphNode* to, std::size_t n,
                       const CUgraphEdgeData* data = nullptr);

// The rest of the structure calls (graph_structure.cpp, graph_memory.cpp, graph_conditional.cpp,
// user_objects.cpp) reach the registry through these (graph.cpp).
// cuStreamBeginCaptureToGraph: an existing graph of no other context, not captured into yet,
// is captured into from now on (CUDA_ERROR_INVALID_VALUE, _ILLEGAL_STATE, _INVALID_CONTEXT).
CUresult graph_capture_into(CUgraph g, CUcontext ctx);
// A new empty graph of context `ctx` (null: none yet), owned by the caller (a node's body).
CUgraph graph_make(CUcontext ctx);
// Destroys a graph the registry holds, capturing or not (a node's body, with the node).
void graph_drop(CUgraph g);
// The graph node `node` belongs to, and a copy of its operation: false for an unknown node.
bool graph_node_info(CUgraphNode node, CUgraph* graph, NodeOp* op);
// Runs fn(op) on the node's operation under the registry lock: false for an unknown node.
bool graph_node_update(CUgraphNode node, const std::function<void(NodeOp&)>& fn);
// Removes edges (all or none), whatever their data: CUDA_ERROR_INVALID_VALUE for an unknown graph
// or an edge that is not there; CUDA_ERROR_ILLEGAL_STATE while a capture records into the graph.
CUresult graph_disconnect(CUgraph g, const CUgraphNode* from, const CUgraphNode* to, std::size_t n);
// Removes a node and its edges; its operation is handed back (what it owned goes with it).
CUresult graph_remove_node(CUgraphNode node, NodeOp* removed);
// The node of `clone` (a cuGraphClone of the node's graph) copied from `original`.
CUresult graph_find_in_clone(CUgraphNode original, CUgraph clone, CUgraphNode* out);
// Whether a capture records into g, and its context: false for an unknown graph.
bool graph_state(CUgraph g, bool* capturing, CUcontext* ctx);
// Runs an executable graph's nodes in order (graph_replay.cpp): a launch's, a child graph's,
// a conditional node's body.
CUresult graph_replay(Locked& l, const std::vector<Node>& nodes);
// A conditional node's replay (graph_conditional.cpp); the caller holds l.lock.
CUresult replay_conditional(Locked& l, const ConditionalNode& c);
// A launch of these nodes begins: handles made with CU_GRAPH_COND_ASSIGN_DEFAULT that their
// conditional nodes use are set to their defaults (graph_conditional.cpp).
void conditional_launch_begins(const std::vector<Node>& nodes);
// What cudaGraphSetConditional does, for the built-in kernels (launch.cpp); an unknown handle is
// ignored.
void conditional_set(CUgraphConditionalHandle handle, unsigned value);
// User objects' references held by graphs and executable graphs (user_objects.cpp); called with
// no lock of the fake held, since a destructor may run.
void user_objects_graph_gone(CUgraph g);
void user_objects_graph_cloned(CUgraph from, CUgraph to);
void user_objects_exec_made(CUgraph from, CUgraphExec exec);
void user_objects_exec_gone(CUgraphExec exec);

// Executable graphs' nodes, for the per-node setters and cuGraphExecUpdate (graph_update.cpp).
// Positions: indices into the nodes in the order they run; an edge (a, b): b waits for a.
using Positions = std::vector<std::pair<std::size_t, std::size_t>>;
// A graph's nodes in the order an instantiation would run them, its edges as positions in that
// order, and its context: CUDA_ERROR_INVALID_VALUE for an unknown graph, ILLEGAL_STATE while a
// capture records into it.
CUresult graph_topology(CUgraph g, CUcontext* ctx, std::vector<Node>* nodes, Positions* edges);
// The same of an executable graph, as instantiated: false for an unknown one.
bool exec_topology(CUgraphExec e, CUcontext* ctx, std::vector<Node>* nodes, Positions* edges);
// Runs fn on a copy of the executable graph's nodes under the registry lock (fn takes no other
// lock); the copy replaces them when fn returns CUDA_SUCCESS, so a launch under way keeps the
// nodes it started with. CUDA_ERROR_INVALID_VALUE for an unknown executable graph.
CUresult exec_edit(CUgraphExec e, const std::function<CUresult(std::vector<Node>&)>& fn);

// ---- what a node shares with the stream call it stands for ----

// graph_build.cpp: a node's operation from what cuGraphAdd*Node takes, checked as it checks it,
// so that the setters (graph_update.cpp) accept exactly what adding accepts. A kernel's function
// must be one of `ctx` (held locked by the caller); memset and memcpy ends are checked against
// every live context's memory, as the fake's copies are.
CUresult kernel_node_from(const Context& ctx, const CUDA_KERNEL_NODE_PARAMS& p, KernelNode& out);
CUresult memset_node_from(const CUDA_MEMSET_NODE_PARAMS& p, MemsetNode& out);
CUresult copy_node_from(const CUDA_MEMCPY3D& p, CopyNode& out);
// The context a memset or memcpy node runs in: `ctx`, or the current one when null. Checked as
// enter() checks the current context, and locked into `out`.
CUresult enter_node_context(CUcontext ctx, Locked& out);

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
