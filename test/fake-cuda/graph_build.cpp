// fake-cuda (test double, never ships): graphs built node by node (cuGraphAddKernelNode_v2,
// cuGraphAddMemsetNode, cuGraphAddMemcpyNode, cuGraphAddEmptyNode, cuGraphAddHostNode, cuGraphAddChildGraphNode,
// cuGraphAddEventRecordNode, cuGraphAddEventWaitNode, cuGraphAddDependencies_v2 and their older
// names).
//
// Each node is checked as the stream call it stands for is checked (a kernel node as a launch,
// a memset node as a memset, a memcpy node as a copy, an event node's event as a live one) and
// keeps what the driver keeps: a kernel's function and argument bytes are copied now, so the
// caller may reuse its buffers or unload the module afterwards; a memcpy node's host memory is
// kept by address, and read or written each time the graph runs; an event node keeps the handle;
// a host node its function and user data.
// graph.cpp then checks the node's place in the graph (its dependencies, its context) and keeps
// it; the edges decide the order the nodes run in (graph_dag.h).
#include "graph.h"

#include <climits>

using namespace vgpu::fake;

namespace {

// What every cuGraphAdd*Node checks first: somewhere to put the node, a graph, and dependencies
// to read when there are any.
bool add_args_ok(const CUgraphNode* out, CUgraph g, const CUgraphNode* deps, size_t n) {
  return out != nullptr && g != nullptr && (n == 0 || deps != nullptr);
}

// The element's bytes, as cuMemsetD8/D16/D32 would write them: the low `elem` bytes of value.
std::array<unsigned char, 8> element_bytes(unsigned value, unsigned elem) {
  std::array<unsigned char, 8> out{};
  if (elem == 1) {
    out[0] = static_cast<unsigned char>(value);
  } else if (elem == 2) {
    const auto v = static_cast<std::uint16_t>(value);
    std::memcpy(out.data(), &v, sizeof v);
  } else {
    std::memcpy(out.data(), &value, sizeof value);
  }
  return out;
}

CUresult add_kernel_node(CUgraphNode* out, CUgraph g, const CUgraphNode* deps, size_t n,
                         const CUDA_KERNEL_NODE_PARAMS* p) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (!add_args_ok(out, g, deps, n) || p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  KernelNode node;
  if (CUresult r = kernel_node_from(*l.ctx, *p, node); r != CUDA_SUCCESS) return r;
  // g_mu is a leaf under the context's lock.
  return graph_insert(g, l->handle, std::move(node), deps, n, out);
}

}  // namespace

namespace vgpu::fake {

CUresult enter_node_context(CUcontext ctx, Locked& out) {
  const CUcontext run_in = ctx != nullptr ? ctx : current_handle();
  std::shared_ptr<Context> owner = run_in != nullptr ? find_context(run_in) : nullptr;
  if (!owner) return CUDA_ERROR_INVALID_CONTEXT;
  std::unique_lock<std::mutex> lock(owner->mu);
  if (owner->destroyed) return CUDA_ERROR_INVALID_CONTEXT;
  if (owner->sticky != CUDA_SUCCESS) return owner->sticky;
  if (process_poison() != CUDA_SUCCESS) return process_poison();
  out.ctx = std::move(owner);
  out.lock = std::move(lock);
  return CUDA_SUCCESS;
}

CUresult kernel_node_from(const Context& ctx, const CUDA_KERNEL_NODE_PARAMS& p, KernelNode& out) {
  // The fake has no library kernels (cuLibrary*), so a CUkernel in `kern` names nothing; `ctx`
  // only goes with `kern`.
  if (p.func == nullptr) return p.kern != nullptr ? CUDA_ERROR_INVALID_HANDLE : CUDA_ERROR_INVALID_VALUE;
  auto fit = ctx.functions.find(p.func);  // a function of the context, as for a launch
  if (fit == ctx.functions.end()) return CUDA_ERROR_INVALID_HANDLE;
  const Function& fn = fit->second;
  KernelNode node{fn, {p.gridDimX, p.gridDimY, p.gridDimZ}, {p.blockDimX, p.blockDimY, p.blockDimZ},
                  p.sharedMemBytes, {}};
  if (CUresult r = launch_dims_check(fn, node.grid, node.block, node.smem); r != CUDA_SUCCESS) return r;
  if (CUresult r = gather_args(fn, p.kernelParams, p.extra, node.args); r != CUDA_SUCCESS) return r;
  node.func = p.func;
  out = std::move(node);
  return CUDA_SUCCESS;
}

CUresult memset_node_from(const CUDA_MEMSET_NODE_PARAMS& p, MemsetNode& out) {
  if ((p.elementSize != 1 && p.elementSize != 2 && p.elementSize != 4) || p.width == 0 || p.height == 0) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  std::size_t span = 0;
  if (CUresult r = memset_span(p.dst, p.pitch, p.elementSize, p.width, p.height, span); r != CUDA_SUCCESS) return r;
  {
    const RegionReader held = read_regions();  // checked now; a replay checks again
    if (!region_owner(held, p.dst, span)) return CUDA_ERROR_INVALID_VALUE;
  }
  MemsetNode node;
  node.dst = p.dst;
  node.pitch = p.height > 1 ? p.pitch : 0;
  node.width = p.width;
  node.height = p.height;
  node.elem = p.elementSize;
  node.value = element_bytes(p.value, p.elementSize);
  out = node;
  return CUDA_SUCCESS;
}

}  // namespace vgpu::fake

FAKE_CUDA_API CUresult CUDAAPI cuGraphAddKernelNode_v2(CUgraphNode* phGraphNode, CUgraph hGraph,
                                                       const CUgraphNode* dependencies, size_t numDependencies,
                                                       const CUDA_KERNEL_NODE_PARAMS* nodeParams) {
  return add_kernel_node(phGraphNode, hGraph, dependencies, numDependencies, nodeParams);
}

// The first version's parameters lack `kern` and `ctx`: the same node without them.
FAKE_CUDA_API CUresult CUDAAPI cuGraphAddKernelNode(CUgraphNode* phGraphNode, CUgraph hGraph,
                                                    const CUgraphNode* dependencies, size_t numDependencies,
                                                    const CUDA_KERNEL_NODE_PARAMS_v1* nodeParams) {
  if (nodeParams == nullptr) {
    return add_kernel_node(phGraphNode, hGraph, dependencies, numDependencies, nullptr);
  }
  const CUDA_KERNEL_NODE_PARAMS p{nodeParams->func,      nodeParams->gridDimX,       nodeParams->gridDimY,
                                  nodeParams->gridDimZ,  nodeParams->blockDimX,      nodeParams->blockDimY,
                                  nodeParams->blockDimZ, nodeParams->sharedMemBytes, nodeParams->kernelParams,
                                  nodeParams->extra,     nullptr,                    nullptr};
  return add_kernel_node(phGraphNode, hGraph, dependencies, numDependencies, &p);
}

// `ctx` is the context the memset runs in (null: the current one); like the fake's memsets,
// dst may be device memory of any live context. Elements of 1, 2 or 4 bytes; a pitch that
// keeps rows apart when there are several (ignored for one); a node that writes nothing
// (width or height 0) is refused.
FAKE_CUDA_API CUresult CUDAAPI cuGraphAddMemsetNode(CUgraphNode* phGraphNode, CUgraph hGraph,
                                                    const CUgraphNode* dependencies, size_t numDependencies,
                                                    const CUDA_MEMSET_NODE_PARAMS* memsetParams, CUcontext ctx) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (!add_args_ok(phGraphNode, hGraph, dependencies, numDependencies) || memsetParams == nullptr) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  Locked l;
  if (CUresult r = enter_node_context(ctx, l); r != CUDA_SUCCESS) return r;
  MemsetNode node;
  if (CUresult r = memset_node_from(*memsetParams, node); r != CUDA_SUCCESS) return r;
  return graph_insert(hGraph, l->handle, std::move(node), dependencies, numDependencies, phGraphNode);
}

namespace {

// One side of a CUDA_MEMCPY3D, as the caller gave it.
struct CopySide {
  int type = 0;  // a CUmemorytype, read without an enum-typed load
  const void* host = nullptr;
  CUdeviceptr device = 0;
  std::size_t x = 0, y = 0, z = 0;
  std::size_t pitch = 0, height = 0;
  const void* reserved = nullptr;  // must be null
};

// Where a side's copy lies: its first byte, its rows and slices, and the span from its first
// byte to its last.
struct Placed {
  CUdeviceptr start = 0;
  bool device = true;
  std::size_t pitch = 0, slice = 0, span = 0;
};

// Places a side as cuMemcpy3D reads it: the first byte at base + (z * height + y) * pitch + x.
// The pitch matters once there are several rows or a row offset and must then hold x + the width
// (at most the device's MAX_PITCH, INT_MAX); the height matters once there are several slices or
// a slice offset and must then hold y + the rows copied. Else they are ignored, as the driver's
// "may be 0 if Depth==1" allows. Arithmetic that overflows is CUDA_ERROR_INVALID_VALUE.
// UNIFIED addresses are device addresses, as for the fake's other copies (whose pointers may be
// device memory of any context but nothing else); host memory is only named as HOST.
CUresult place(const CopySide& s, const CUDA_MEMCPY3D& p, Placed& out) {
  if (s.reserved != nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (s.type == CU_MEMORYTYPE_HOST) {
    if (s.host == nullptr) return CUDA_ERROR_INVALID_VALUE;
    out.start = reinterpret_cast<CUdeviceptr>(s.host);
    out.device = false;
  } else if (s.type == CU_MEMORYTYPE_DEVICE || s.type == CU_MEMORYTYPE_UNIFIED) {
    out.start = s.device;
    out.device = true;
  } else {
    return CUDA_ERROR_INVALID_VALUE;  // arrays were refused before
  }
  const bool rows = p.Height > 1 || p.Depth > 1 || s.y > 0 || s.z > 0;
  const bool slices = p.Depth > 1 || s.z > 0;
  std::size_t row_end = 0;
  if (__builtin_add_overflow(s.x, p.WidthInBytes, &row_end)) return CUDA_ERROR_INVALID_VALUE;
  if (rows) {
    if (s.pitch < row_end || s.pitch > static_cast<std::size_t>(INT_MAX)) return CUDA_ERROR_INVALID_VALUE;
    out.pitch = s.pitch;
  }
  if (slices) {
    std::size_t rows_end = 0;
    if (__builtin_add_overflow(s.y, p.Height, &rows_end) || s.height < rows_end ||
        __builtin_mul_overflow(out.pitch, s.height, &out.slice)) {
      return CUDA_ERROR_INVALID_VALUE;
    }
  }
  // offset = z * slice + y * pitch + x; span = (Depth - 1) * slice + (Height - 1) * pitch + width.
  std::size_t a = 0, b = 0, offset = 0, c = 0, d = 0;
  const bool overflow =
      __builtin_mul_overflow(s.z, out.slice, &a) || __builtin_mul_overflow(s.y, out.pitch, &b) ||
      __builtin_add_overflow(a, b, &offset) || __builtin_add_overflow(offset, s.x, &offset) ||
      __builtin_mul_overflow(p.Depth - 1, out.slice, &c) || __builtin_mul_overflow(p.Height - 1, out.pitch, &d) ||
      __builtin_add_overflow(c, d, &out.span) || __builtin_add_overflow(out.span, p.WidthInBytes, &out.span) ||
      __builtin_add_overflow(out.start, offset, &out.start) || __builtin_add_overflow(out.start, out.span, &a);
  return overflow ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
}

}  // namespace

// `ctx` is the context the copy runs in (null: the current one). Sides are HOST (kept by
// address: read or written when the graph runs, as the driver does for pinned memory), DEVICE or
// UNIFIED (device memory of any live context, the whole span of the side in one allocation or
// module global, checked now and again when the graph runs); ARRAY is
// CUDA_ERROR_NOT_SUPPORTED (the fake has no arrays). A copy of nothing (a width, height or
// depth of 0) is refused, as memset nodes are.
FAKE_CUDA_API CUresult CUDAAPI cuGraphAddMemcpyNode(CUgraphNode* phGraphNode, CUgraph hGraph,
                                                    const CUgraphNode* dependencies, size_t numDependencies,
                                                    const CUDA_MEMCPY3D* copyParams, CUcontext ctx) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (!add_args_ok(phGraphNode, hGraph, dependencies, numDependencies) || copyParams == nullptr) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  Locked l;
  if (CUresult r = enter_node_context(ctx, l); r != CUDA_SUCCESS) return r;
  CopyNode node;
  if (CUresult r = copy_node_from(*copyParams, node); r != CUDA_SUCCESS) return r;
  return graph_insert(hGraph, l->handle, std::move(node), dependencies, numDependencies, phGraphNode);
}

CUresult vgpu::fake::copy_node_from(const CUDA_MEMCPY3D& p, CopyNode& out) {
  const CopySide src{raw_enum(&p.srcMemoryType), p.srcHost, p.srcDevice, p.srcXInBytes, p.srcY, p.srcZ,
                     p.srcPitch,                 p.srcHeight, p.reserved0};
  const CopySide dst{raw_enum(&p.dstMemoryType), p.dstHost, p.dstDevice, p.dstXInBytes, p.dstY, p.dstZ,
                     p.dstPitch,                 p.dstHeight, p.reserved1};
  if (src.type == CU_MEMORYTYPE_ARRAY || dst.type == CU_MEMORYTYPE_ARRAY) return CUDA_ERROR_NOT_SUPPORTED;
  if (p.WidthInBytes == 0 || p.Height == 0 || p.Depth == 0) return CUDA_ERROR_INVALID_VALUE;
  Placed from, to;
  if (CUresult r = place(src, p, from); r != CUDA_SUCCESS) return r;
  if (CUresult r = place(dst, p, to); r != CUDA_SUCCESS) return r;
  {
    const RegionReader held = read_regions();  // checked now; a replay checks again
    if ((from.device && !region_owner(held, from.start, from.span)) ||
        (to.device && !region_owner(held, to.start, to.span))) {
      return CUDA_ERROR_INVALID_VALUE;
    }
  }
  CopyNode node;
  node.dst = to.start;
  node.src = from.start;
  node.bytes = p.WidthInBytes;
  node.dst_device = to.device;
  node.src_device = from.device;
  node.height = p.Height;
  node.depth = p.Depth;
  node.dst_pitch = to.pitch;
  node.src_pitch = from.pitch;
  node.dst_slice = to.slice;
  node.src_slice = from.slice;
  out = node;
  return CUDA_SUCCESS;
}

// A node of no context: a graph of empty nodes alone may be instantiated in any.
FAKE_CUDA_API CUresult CUDAAPI cuGraphAddEmptyNode(CUgraphNode* phGraphNode, CUgraph hGraph,
                                                   const CUgraphNode* dependencies, size_t numDependencies) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (!add_args_ok(phGraphNode, hGraph, dependencies, numDependencies)) return CUDA_ERROR_INVALID_VALUE;
  return graph_insert(hGraph, nullptr, EmptyNode{}, dependencies, numDependencies, phGraphNode);
}

// A child graph node: a copy of the child as it is now (graph_snapshot), of the child's context.
FAKE_CUDA_API CUresult CUDAAPI cuGraphAddChildGraphNode(CUgraphNode* phGraphNode, CUgraph hGraph,
                                                        const CUgraphNode* dependencies, size_t numDependencies,
                                                        CUgraph childGraph) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (!add_args_ok(phGraphNode, hGraph, dependencies, numDependencies) || childGraph == hGraph)
    return CUDA_ERROR_INVALID_VALUE;
  CUcontext ctx = nullptr;
  std::shared_ptr<const std::vector<Node>> nodes;
  if (CUresult r = graph_snapshot(childGraph, &ctx, &nodes); r != CUDA_SUCCESS) return r;
  return graph_insert(hGraph, ctx, ChildNode{std::move(nodes)}, dependencies, numDependencies, phGraphNode);
}

// A host node, of no context as an empty node is: fn(userData) is called each time the graph
// runs, at the node's place in the order, on the thread that launches the graph and with no lock
// of the fake held. A null nodeParams or fn is CUDA_ERROR_INVALID_VALUE.
FAKE_CUDA_API CUresult CUDAAPI cuGraphAddHostNode(CUgraphNode* phGraphNode, CUgraph hGraph,
                                                  const CUgraphNode* dependencies, size_t numDependencies,
                                                  const CUDA_HOST_NODE_PARAMS* nodeParams) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (!add_args_ok(phGraphNode, hGraph, dependencies, numDependencies) || nodeParams == nullptr ||
      nodeParams->fn == nullptr) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  return graph_insert(hGraph, nullptr, HostNode{nodeParams->fn, nodeParams->userData}, dependencies, numDependencies,
                      phGraphNode);
}

namespace {

// An event node (Op: EventRecordNode or EventWaitNode). The calls name no context: the node is
// its event's context's, whichever is current, as the driver's events carry their context. So
// the event is looked for in every live context (handles are unique in the process), each locked
// in turn and none held while taking the next; the one that has it stays locked while the node
// is added, so that the event cannot go meanwhile. A null, unknown or destroyed event is
// CUDA_ERROR_INVALID_VALUE, the one error the driver documents here, and so is an event whose
// context is not the graph's (graph_insert's CUDA_ERROR_INVALID_CONTEXT for the other nodes).
template <class Op>
CUresult add_event_node(CUgraphNode* out, CUgraph g, const CUgraphNode* deps, size_t n, CUevent event) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (!add_args_ok(out, g, deps, n) || event == nullptr) return CUDA_ERROR_INVALID_VALUE;
  for (std::shared_ptr<Context>& ctx : live_contexts()) {
    std::unique_lock<std::mutex> lock(ctx->mu);
    if (ctx->destroyed || ctx->events.count(event) == 0) continue;
    // As enter_node_context: a broken context takes no more work.
    if (ctx->sticky != CUDA_SUCCESS) return ctx->sticky;
    if (process_poison() != CUDA_SUCCESS) return process_poison();
    // g_mu is a leaf under the context's lock.
    const CUresult r = graph_insert(g, ctx->handle, Op{event}, deps, n, out);
    return r == CUDA_ERROR_INVALID_CONTEXT ? CUDA_ERROR_INVALID_VALUE : r;
  }
  return CUDA_ERROR_INVALID_VALUE;
}

}  // namespace

// Records the event each time the graph runs, as cuEventRecord does (a timestamp; the event is
// then complete for cuEventQuery/Synchronize and may be timed).
FAKE_CUDA_API CUresult CUDAAPI cuGraphAddEventRecordNode(CUgraphNode* phGraphNode, CUgraph hGraph,
                                                         const CUgraphNode* dependencies, size_t numDependencies,
                                                         CUevent event) {
  return add_event_node<EventRecordNode>(phGraphNode, hGraph, dependencies, numDependencies, event);
}

// Waits for the event's last record when the graph runs: in effect nothing, as for the fake's
// cuStreamWaitEvent (graph.cpp). The nodes after it still wait for it, as for any node.
FAKE_CUDA_API CUresult CUDAAPI cuGraphAddEventWaitNode(CUgraphNode* phGraphNode, CUgraph hGraph,
                                                       const CUgraphNode* dependencies, size_t numDependencies,
                                                       CUevent event) {
  return add_event_node<EventWaitNode>(phGraphNode, hGraph, dependencies, numDependencies, event);
}

namespace {

// Edges from[i] -> to[i] with their data, all or none (graph_connect checks that the data suits
// the ends). The fake runs kernels one after the other, so a programmatic edge orders them as a
// default one does; it is kept as given, and listed so. An unknown type or port, an input port
// (no node type defines one) or non-zero reserved bytes is CUDA_ERROR_INVALID_VALUE.
CUresult add_dependencies(CUgraph hGraph, const CUgraphNode* from, const CUgraphNode* to,
                          const CUgraphEdgeData* edgeData, size_t numDependencies) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (hGraph == nullptr || (numDependencies > 0 && (from == nullptr || to == nullptr))) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  for (std::size_t i = 0; edgeData != nullptr && i < numDependencies; ++i) {
    const CUgraphEdgeData& e = edgeData[i];
    for (unsigned char r : e.reserved) {
      if (r != 0) return CUDA_ERROR_INVALID_VALUE;
    }
    if (e.to_port != 0 || e.type > CU_GRAPH_DEPENDENCY_TYPE_PROGRAMMATIC ||
        e.from_port > CU_GRAPH_KERNEL_NODE_PORT_LAUNCH_ORDER)
      return CUDA_ERROR_INVALID_VALUE;
  }
  return graph_connect(hGraph, from, to, numDependencies, edgeData);
}

}  // namespace

FAKE_CUDA_API CUresult CUDAAPI cuGraphAddDependencies_v2(CUgraph hGraph, const CUgraphNode* from,
                                                         const CUgraphNode* to, const CUgraphEdgeData* edgeData,
                                                         size_t numDependencies) {
  return add_dependencies(hGraph, from, to, edgeData, numDependencies);
}

FAKE_CUDA_API CUresult CUDAAPI cuGraphAddDependencies(CUgraph hGraph, const CUgraphNode* from, const CUgraphNode* to,
                                                      size_t numDependencies) {
  return add_dependencies(hGraph, from, to, nullptr, numDependencies);
}
