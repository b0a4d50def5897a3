// Graphs built node by node (docs/design.md §19). Each node is made in vgpud's graph and held
// here by a tagged object that knows its type and graph, so dependencies are checked before
// anything is sent and a graph's nodes can be listed without a round trip. A node's
// dependencies travel as edges right after it (GRAPH_ADD_DEPENDENCIES).
#include <atomic>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "guest/client/log.h"
#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/graph_build.h"
#include "guest/cuda/graph_params.h"
#include "guest/cuda/device_memory.h"
#include "guest/cuda/handles.h"
#include "guest/cuda/host_memory.h"
#include "guest/cuda/modules.h"
#include "guest/cuda/pageable_stage.h"
#include "guest/cuda/param_pack.h"
#include "vgpu/protocol/graph_edge.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace vgpu::cuda {

static_assert(proto::kEdgeTypeDefault == CU_GRAPH_DEPENDENCY_TYPE_DEFAULT &&
              proto::kEdgeTypeProgrammatic == CU_GRAPH_DEPENDENCY_TYPE_PROGRAMMATIC);
static_assert(proto::kEdgePortDefault == CU_GRAPH_KERNEL_NODE_PORT_DEFAULT &&
              proto::kEdgePortProgrammatic == CU_GRAPH_KERNEL_NODE_PORT_PROGRAMMATIC &&
              proto::kEdgePortLaunchOrder == CU_GRAPH_KERNEL_NODE_PORT_LAUNCH_ORDER);

proto::GraphEdge wire_edge(uint32_t from, uint32_t to, const CUgraphEdgeData* data, size_t i) noexcept {
  proto::GraphEdge e = proto::plain_edge(from, to);
  if (data != nullptr) {
    e.type = data[i].type;
    e.from_port = data[i].from_port;
    e.to_port = data[i].to_port;
    std::memcpy(e.reserved, data[i].reserved, sizeof e.reserved);
  }
  return e;
}

bool edge_data_known(const CUgraphEdgeData* data, size_t count) noexcept {
  for (size_t i = 0; data != nullptr && i < count; ++i)
    if (!proto::edge_data_known(wire_edge(0, 0, data, i))) return false;
  return true;
}

CUgraphEdgeData edge_data_of(const proto::GraphEdge& e) noexcept {
  CUgraphEdgeData data{};
  data.type = e.type;
  data.from_port = e.from_port;
  data.to_port = e.to_port;
  return data;
}

bool is_default_edge(const CUgraphEdgeData& data) noexcept {
  return data.type == 0 && data.from_port == 0 && data.to_port == 0;
}

bool edge_data_set(const CUgraphEdgeData* data, size_t count) noexcept {
  for (size_t i = 0; data != nullptr && i < count; ++i)
    if (!is_default_edge(data[i])) return true;
  return false;
}

bool accept_capture_edge_data(const CUgraphEdgeData* data, size_t count) noexcept {
  if (!edge_data_known(data, count)) return false;
  static std::atomic<bool> said{false};
  if (edge_data_set(data, count) && !said.exchange(true))
    guest::log(guest::LogLevel::Info,
               "edge data given to a stream capture is kept as full dependencies: a dependent kernel starts "
               "when its producer has finished");
  return true;
}

namespace {

// `edges` in as many messages of call `Id` as they take, each `request` with its byte count.
template <proto::CallId Id, typename Request>
CUresult send_in_chunks(guest::Channel& ch, Request request, const std::vector<proto::GraphEdge>& edges) {
  for (size_t first = 0; first < edges.size();) {
    const size_t n = std::min(edges.size() - first, size_t{vgpu::limits::kMaxGraphEdgesPerCall});
    const std::span<const uint8_t> tail(reinterpret_cast<const uint8_t*>(edges.data() + first), n * sizeof(proto::GraphEdge));
    request.edge_bytes = static_cast<uint32_t>(tail.size());
    const guest::CallResult r = guest::call<Id>(ch, request, tail, nullptr);
    if (r.status != 0) return to_cu_result(r.status);
    first += n;
  }
  return CUDA_SUCCESS;
}

}  // namespace

CUresult send_edges(guest::Channel& ch, const GraphObject& graph, const std::vector<proto::GraphEdge>& edges) {
  return send_in_chunks<proto::CallId::GraphAddDependencies>(ch, proto::GraphAddDependenciesRequest{graph.wire, 0},
                                                             edges);
}

CUresult send_edge_removal(guest::Channel& ch, const GraphObject& graph, const std::vector<proto::GraphEdge>& edges,
                           uint32_t flags) {
  return send_in_chunks<proto::CallId::GraphRemoveDependencies>(
      ch, proto::GraphRemoveDependenciesRequest{graph.wire, 0, flags, 0}, edges);
}

}  // namespace vgpu::cuda

namespace {

CUresult add_kernel_node(CUgraphNode* out, CUgraph graph, const CUgraphNode* deps, size_t count, CUfunction function,
                         const unsigned grid[3], const unsigned block[3], unsigned shared_mem, void** params,
                         void** extra) {
  return add_graph_node(out, graph, deps, count, CU_GRAPH_NODE_TYPE_KERNEL,
                  [&](guest::Channel& ch, const GraphObject& g, proto::GraphNodeReply* reply) {
                    FunctionObject* f = nullptr;
                    if (CUresult r = function_on(ch, function, g.device, &f); r != CUDA_SUCCESS) return r;
                    std::vector<uint8_t> packed(f->param_buffer_size);
                    if (CUresult r = pack_arguments(f->params, f->param_buffer_size, params, extra, packed);
                        r != CUDA_SUCCESS)
                      return r;
                    proto::GraphAddKernelNodeRequest request{};
                    request.graph = g.wire;
                    request.function = f->wire;
                    for (int i = 0; i < 3; ++i) {
                      request.grid[i] = grid[i];
                      request.block[i] = block[i];
                    }
                    request.shared_mem_bytes = shared_mem;
                    return to_cu_result(
                        guest::call<proto::CallId::GraphAddKernelNode>(ch, request, packed, reply).status);
                  });
}

}  // namespace

VGPU_DRIVER_API CUresult cuGraphCreate(CUgraph* out, unsigned int flags) {
  if (out == nullptr || flags != 0) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    Context* c = nullptr;
    if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
    proto::GraphCreateReply reply{};
    const guest::CallResult r = guest::call<proto::CallId::GraphCreate>(*ch, proto::GraphCreateRequest{0, 0}, &reply);
    if (r.status != 0) return to_cu_result(r.status);
    auto* graph = new GraphObject(reply.graph, c->device, /*was_captured=*/false);
    *out = reinterpret_cast<CUgraph>(graph);
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuGraphAddKernelNode_v2(CUgraphNode* out, CUgraph graph, const CUgraphNode* deps, size_t count,
                                                 const CUDA_KERNEL_NODE_PARAMS* p) {
  if (p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  // NVIDIA's runtime names kernels by their CUkernel; a CUkernel is accepted as a CUfunction.
  CUfunction function = p->func != nullptr ? p->func : reinterpret_cast<CUfunction>(p->kern);
  const unsigned grid[3] = {p->gridDimX, p->gridDimY, p->gridDimZ};
  const unsigned block[3] = {p->blockDimX, p->blockDimY, p->blockDimZ};
  const CUresult r =
      add_kernel_node(out, graph, deps, count, function, grid, block, p->sharedMemBytes, p->kernelParams, p->extra);
  if (r == CUDA_SUCCESS) remember_kernel_node(*out, *p);
  return r;
}
// CUDA 11's parameters, without a CUkernel or context.
VGPU_DRIVER_API CUresult cuGraphAddKernelNode(CUgraphNode* out, CUgraph graph, const CUgraphNode* deps, size_t count,
                                              const CUDA_KERNEL_NODE_PARAMS_v1* p) {
  if (p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const unsigned grid[3] = {p->gridDimX, p->gridDimY, p->gridDimZ};
  const unsigned block[3] = {p->blockDimX, p->blockDimY, p->blockDimZ};
  const CUresult r =
      add_kernel_node(out, graph, deps, count, p->func, grid, block, p->sharedMemBytes, p->kernelParams, p->extra);
  if (r == CUDA_SUCCESS)
    remember_kernel_node(*out, CUDA_KERNEL_NODE_PARAMS{p->func, p->gridDimX, p->gridDimY, p->gridDimZ, p->blockDimX,
                                                       p->blockDimY, p->blockDimZ, p->sharedMemBytes, p->kernelParams,
                                                       p->extra, nullptr, nullptr});
  return r;
}

VGPU_DRIVER_API CUresult cuGraphAddMemsetNode(CUgraphNode* out, CUgraph graph, const CUgraphNode* deps, size_t count,
                                              const CUDA_MEMSET_NODE_PARAMS* p, CUcontext) {
  if (p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const CUresult result = add_graph_node(out, graph, deps, count, CU_GRAPH_NODE_TYPE_MEMSET,
                  [&](guest::Channel& ch, const GraphObject& g, proto::GraphNodeReply* reply) {
                    proto::GraphAddMemsetNodeRequest request{};
                    request.graph = g.wire;
                    request.element_size = p->elementSize;
                    request.dst = p->dst;
                    request.pitch = p->pitch;
                    request.width = p->width;
                    request.height = p->height;
                    request.value = p->value;
                    if (p->elementSize != 1 && p->elementSize != 2 && p->elementSize != 4) return CUDA_ERROR_INVALID_VALUE;
                    return to_cu_result(guest::call<proto::CallId::GraphAddMemsetNode>(ch, request, reply).status);
                  });
  if (result == CUDA_SUCCESS) remember_memset_node(*out, *p);
  return result;
}

namespace {

// A memcpy node with one pageable end: for each piece (pageable_stage.h), the copy from or to
// the staging block and the host function that fills or empties it, in that order for a copy
// into host memory, the other way round out of it, each pair after the one before. `reply` gets
// the first node, `last` the last one; the graph keeps the functions.
CUresult add_staged_copy(guest::Channel& ch, GraphObject& g, const HostRows& rows, bool to_device,
                         const proto::GraphAddMemcpyNodeRequest& copy, proto::GraphNodeReply* reply, uint32_t* last) {
  std::vector<StagePiece> pieces;
  if (CUresult r = make_stages(ch, rows, to_device, &pieces); r != CUDA_SUCCESS) return r;
  for (const StagePiece& p : pieces) g.host_functions.adopt(p.function);  // freed with the graph
  std::vector<proto::GraphEdge> edges;
  uint32_t previous = 0;
  for (const StagePiece& p : pieces) {
    proto::GraphAddMemcpyNodeRequest piece = copy;
    (to_device ? piece.src : piece.dst) = p.heap_offset;
    (to_device ? piece.src_pitch : piece.dst_pitch) = p.width;
    (to_device ? piece.dst : piece.src) += p.device_offset;
    piece.width = p.width;
    piece.height = p.height;
    proto::GraphNodeReply host{}, copied{};
    guest::CallResult r = guest::call<proto::CallId::GraphAddHostNode>(ch, {g.wire, 0, p.function}, &host);
    if (r.status == 0) r = guest::call<proto::CallId::GraphAddMemcpyNode>(ch, piece, &copied);
    if (r.status != 0) return to_cu_result(r.status);
    const uint32_t first = to_device ? host.node : copied.node, second = to_device ? copied.node : host.node;
    if (previous == 0)
      *reply = proto::GraphNodeReply{first, 0};
    else
      edges.push_back(proto::plain_edge(previous, first));
    edges.push_back(proto::plain_edge(first, second));
    previous = second;
  }
  *last = previous;
  return send_edges(ch, g, edges);
}

// A graph whose nodes vgpud's driver made (captured, cloned): its nodes in the driver's order,
// each with an object here from the first time it is listed (`g.nodes` keeps them). A pageable
// copy's staging pieces show as the one copy the program made: their host functions are left
// out, and all but the first copy through each staging block.
CUresult list_driver_nodes(GraphObject& g, std::vector<GraphNodeObject*>* out) {
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  std::vector<proto::GraphNodeInfo> infos;
  std::vector<uint8_t> tail(vgpu::limits::kMaxGraphListNodes * sizeof(proto::GraphNodeInfo));
  for (;;) {
    proto::GraphListNodesReply reply{};
    const guest::CallResult r = guest::call<proto::CallId::GraphListNodes>(
        *ch, {g.wire, static_cast<uint32_t>(infos.size())}, {}, &reply, tail);
    if (r.status != 0) return to_cu_result(r.status);
    if (reply.returned > vgpu::limits::kMaxGraphListNodes ||
        r.payload_size < sizeof reply + reply.returned * sizeof(proto::GraphNodeInfo))
      return CUDA_ERROR_UNKNOWN;
    for (uint32_t i = 0; i < reply.returned; ++i) {
      proto::GraphNodeInfo info;
      std::memcpy(&info, tail.data() + i * sizeof info, sizeof info);
      infos.push_back(info);
    }
    if (infos.size() >= reply.total || reply.returned == 0) break;
  }
  std::unordered_map<uint32_t, GraphNodeObject*> known;
  for (const auto& n : g.nodes) known.emplace(n->wire, n.get());
  std::unordered_set<uint64_t> blocks_seen;
  for (const proto::GraphNodeInfo& info : infos) {
    const auto type = static_cast<CUgraphNodeType>(info.type);
    if (type == CU_GRAPH_NODE_TYPE_HOST && is_staging_function(info.detail)) continue;
    if (type == CU_GRAPH_NODE_TYPE_MEMCPY && info.detail != 0 && is_staging_block(info.detail - 1) &&
        !blocks_seen.insert(info.detail - 1).second)
      continue;
    GraphNodeObject*& n = known[info.node];
    if (n == nullptr) {
      g.nodes.push_back(std::make_unique<GraphNodeObject>(GraphNodeObject{HandleKind::GraphNode, info.node, type, &g}));
      n = g.nodes.back().get();
    }
    out->push_back(n);
  }
  return CUDA_SUCCESS;
}

// One end of a memcpy node on the wire: a device address, or an offset in the shared heap for
// host memory, which is all of host memory vgpud can reach. `x`, `y` place the first byte.
bool wire_end(CUmemorytype type, const void* host, CUdeviceptr device, size_t x, size_t y, size_t pitch,
              size_t width, size_t height, uint64_t* out, bool* heap) {
  if (type == CU_MEMORYTYPE_ARRAY) return false;
  const uint64_t row = height == 1 ? width : pitch;
  const uint64_t span = (height - 1) * row + width;
  const uint64_t offset = y * static_cast<uint64_t>(pitch) + x;
  // Host memory, or a unified address that is host memory: it must lie in the heap.
  const void* start = type == CU_MEMORYTYPE_HOST ? static_cast<const uint8_t*>(host) + offset
                                                 : reinterpret_cast<const void*>(device + offset);
  *heap = type != CU_MEMORYTYPE_DEVICE && heap_offset_of(start, span, out);
  if (*heap) return true;
  // Host memory outside the heap, or a unified address that is not device memory: pageable
  // (or not the process's at all).
  if (type == CU_MEMORYTYPE_HOST || (type == CU_MEMORYTYPE_UNIFIED && !is_device_pointer(device + offset)))
    return false;
  *out = device + offset;
  return true;
}

}  // namespace

namespace vgpu::cuda {

CUresult graph_nodes(GraphObject& g, std::vector<GraphNodeObject*>* out) {
  if (g.captured) return list_driver_nodes(g, out);
  for (const auto& n : g.nodes) out->push_back(n.get());
  return CUDA_SUCCESS;
}

CUresult memcpy_node_request(const CUDA_MEMCPY3D* p, const char* caller, proto::GraphAddMemcpyNodeRequest* request,
                             std::optional<HostRows>* pageable, bool* to_device) {
  if (p == nullptr || p->WidthInBytes == 0 || p->Height == 0 || p->Depth == 0) return CUDA_ERROR_INVALID_VALUE;
  if (p->Height > 1 && (p->srcPitch < p->srcXInBytes + p->WidthInBytes || p->dstPitch < p->dstXInBytes + p->WidthInBytes))
    return CUDA_ERROR_INVALID_VALUE;
  auto refuse = [caller](const char* what) {
    static std::atomic<bool> said{false};
    if (!said.exchange(true)) guest::log(guest::LogLevel::Warn, "%s: %s is not supported by vgpu", caller, what);
    return CUDA_ERROR_NOT_SUPPORTED;
  };
  if ((p->srcMemoryType == CU_MEMORYTYPE_HOST && p->srcHost == nullptr) ||
      (p->dstMemoryType == CU_MEMORYTYPE_HOST && p->dstHost == nullptr))
    return CUDA_ERROR_INVALID_VALUE;
  if (p->Depth != 1 || p->srcZ != 0 || p->dstZ != 0) return refuse("a copy of several slices");
  if (p->srcMemoryType == CU_MEMORYTYPE_ARRAY || p->dstMemoryType == CU_MEMORYTYPE_ARRAY) return refuse("an array");
  *request = proto::GraphAddMemcpyNodeRequest{};
  bool src_heap = false, dst_heap = false;
  const bool src_ok = wire_end(p->srcMemoryType, p->srcHost, p->srcDevice, p->srcXInBytes, p->srcY, p->srcPitch,
                               p->WidthInBytes, p->Height, &request->src, &src_heap);
  const bool dst_ok = wire_end(p->dstMemoryType, p->dstHost, p->dstDevice, p->dstXInBytes, p->dstY, p->dstPitch,
                               p->WidthInBytes, p->Height, &request->dst, &dst_heap);
  if (!src_ok && !dst_ok) return refuse("a copy between two pageable host ranges");
  request->src_pitch = p->srcPitch;
  request->dst_pitch = p->dstPitch;
  request->width = p->WidthInBytes;
  request->height = p->Height;
  // The pageable end, if one is: staged through the heap, whose rows are packed.
  pageable->reset();
  *to_device = !src_ok;
  // A unified address that is host memory is its own host pointer.
  auto host_base = [](CUmemorytype type, const void* host, CUdeviceptr device) {
    return static_cast<uint8_t*>(type == CU_MEMORYTYPE_HOST ? const_cast<void*>(host) : reinterpret_cast<void*>(device));
  };
  if (!src_ok) {
    *pageable = HostRows{host_base(p->srcMemoryType, p->srcHost, p->srcDevice) + p->srcY * p->srcPitch + p->srcXInBytes,
                         p->srcPitch, p->WidthInBytes, p->Height, p->dstPitch};
    src_heap = true;
    request->src_pitch = p->WidthInBytes;
  } else if (!dst_ok) {
    *pageable = HostRows{host_base(p->dstMemoryType, p->dstHost, p->dstDevice) + p->dstY * p->dstPitch + p->dstXInBytes,
                         p->dstPitch, p->WidthInBytes, p->Height, p->srcPitch};
    dst_heap = true;
    request->dst_pitch = p->WidthInBytes;
  }
  request->heap = (src_heap ? 1u : 0u) | (dst_heap ? 2u : 0u);
  return CUDA_SUCCESS;
}

}  // namespace vgpu::cuda

// A copy node of Height rows (one slice). The node reads and writes host memory each time the
// graph runs, which vgpud can do for the shared heap (page-locked memory) only: a pageable end
// is staged through the heap by a host function, the node becoming two of vgpud's
// (pageable_stage.h). Arrays and several slices are not offered yet.
VGPU_DRIVER_API CUresult cuGraphAddMemcpyNode(CUgraphNode* out, CUgraph graph, const CUgraphNode* deps, size_t count,
                                              const CUDA_MEMCPY3D* p, CUcontext) {
  proto::GraphAddMemcpyNodeRequest request{};
  std::optional<HostRows> pageable;
  bool to_device = false;
  if (CUresult r = memcpy_node_request(p, "cuGraphAddMemcpyNode", &request, &pageable, &to_device); r != CUDA_SUCCESS)
    return r;
  const CUresult r = add_graph_node(
      out, graph, deps, count, CU_GRAPH_NODE_TYPE_MEMCPY,
      [&](guest::Channel& ch, GraphObject& g, proto::GraphNodeReply* reply, uint32_t* second) {
        request.graph = g.wire;
        if (!pageable) return to_cu_result(guest::call<proto::CallId::GraphAddMemcpyNode>(ch, request, reply).status);
        return add_staged_copy(ch, g, *pageable, to_device, request, reply, second);
      });
  if (r == CUDA_SUCCESS) remember_memcpy_node(*out, *p);
  return r;
}

namespace {

CUresult add_event_node(CUgraphNode* out, CUgraph graph, const CUgraphNode* deps, size_t count, CUevent event,
                        bool wait) {
  const EventObject* e = object_of<EventObject>(event, HandleKind::Event);
  if (e == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const CUresult result =
      add_graph_node(out, graph, deps, count, wait ? CU_GRAPH_NODE_TYPE_WAIT_EVENT : CU_GRAPH_NODE_TYPE_EVENT_RECORD,
                  [&](guest::Channel& ch, const GraphObject& g, proto::GraphNodeReply* reply) {
                    const proto::GraphAddEventNodeRequest request{g.wire, e->wire, wait ? 1u : 0u, 0};
                    return to_cu_result(guest::call<proto::CallId::GraphAddEventNode>(ch, request, reply).status);
                  });
  if (result == CUDA_SUCCESS) remember_event_node(*out, event);
  return result;
}

}  // namespace

VGPU_DRIVER_API CUresult cuGraphAddEventRecordNode(CUgraphNode* out, CUgraph graph, const CUgraphNode* deps,
                                                   size_t count, CUevent event) {
  return add_event_node(out, graph, deps, count, event, false);
}
VGPU_DRIVER_API CUresult cuGraphAddEventWaitNode(CUgraphNode* out, CUgraph graph, const CUgraphNode* deps,
                                                 size_t count, CUevent event) {
  return add_event_node(out, graph, deps, count, event, true);
}

VGPU_DRIVER_API CUresult cuGraphAddEmptyNode(CUgraphNode* out, CUgraph graph, const CUgraphNode* deps, size_t count) {
  return add_graph_node(out, graph, deps, count, CU_GRAPH_NODE_TYPE_EMPTY,
                  [&](guest::Channel& ch, const GraphObject& g, proto::GraphNodeReply* reply) {
                    return to_cu_result(
                        guest::call<proto::CallId::GraphAddEmptyNode>(ch, proto::GraphRequest{g.wire, 0}, reply).status);
                  });
}

// A node that runs a copy of `child` as it is now. The parent keeps what the child's host nodes
// and staged copies need (their functions, staging blocks) for as long as it lives, as the copy
// in vgpud's node outlives the child.
VGPU_DRIVER_API CUresult cuGraphAddChildGraphNode(CUgraphNode* out, CUgraph graph, const CUgraphNode* deps,
                                                  size_t count, CUgraph child_graph) {
  GraphObject* child = object_of<GraphObject>(child_graph, HandleKind::Graph);
  if (child == nullptr || child_graph == graph) return CUDA_ERROR_INVALID_VALUE;
  return add_graph_node(out, graph, deps, count, CU_GRAPH_NODE_TYPE_GRAPH,
                        [&](guest::Channel& ch, GraphObject& g, proto::GraphNodeReply* reply) {
                          if (child->device != g.device) return CUDA_ERROR_INVALID_VALUE;
                          HostFunctionRefs held;
                          {
                            std::lock_guard lock(child->mutex);
                            held = child->host_functions;
                          }
                          const guest::CallResult r = guest::call<proto::CallId::GraphAddChildNode>(
                              ch, proto::GraphAddChildNodeRequest{g.wire, child->wire}, reply);
                          if (r.status != 0) return to_cu_result(r.status);
                          g.host_functions.take(std::move(held));
                          return CUDA_SUCCESS;
                        });
}

VGPU_DRIVER_API CUresult cuGraphAddDependencies_v2(CUgraph graph, const CUgraphNode* from, const CUgraphNode* to,
                                                   const CUgraphEdgeData* edge_data, size_t count) {
  GraphObject* g = object_of<GraphObject>(graph, HandleKind::Graph);
  if (g == nullptr || (count != 0 && (from == nullptr || to == nullptr))) return CUDA_ERROR_INVALID_VALUE;
  if (!edge_data_known(edge_data, count)) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    std::lock_guard lock(g->mutex);
    std::vector<proto::GraphEdge> edges;
    for (size_t i = 0; i < count; ++i) {
      const GraphNodeObject* a = node_of(from[i], g);
      const GraphNodeObject* b = node_of(to[i], g);
      if (a == nullptr || b == nullptr) return CUDA_ERROR_INVALID_VALUE;
      edges.push_back(wire_edge(a->last(), b->wire, edge_data, i));
    }
    return send_edges(*ch, *g, edges);
  });
}
VGPU_DRIVER_API CUresult cuGraphAddDependencies(CUgraph graph, const CUgraphNode* from, const CUgraphNode* to,
                                                size_t count) {
  return cuGraphAddDependencies_v2(graph, from, to, nullptr, count);
}

// A built graph's nodes, in the order they were added; a captured graph's nodes were made by the
// host driver and are not offered yet.
VGPU_DRIVER_API CUresult cuGraphGetNodes(CUgraph graph, CUgraphNode* nodes, size_t* count) {
  GraphObject* g = object_of<GraphObject>(graph, HandleKind::Graph);
  if (g == nullptr || count == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    std::lock_guard lock(g->mutex);
    std::vector<GraphNodeObject*> listed;
    if (g->captured) {
      if (CUresult r = list_driver_nodes(*g, &listed); r != CUDA_SUCCESS) return r;
    } else {
      for (const auto& n : g->nodes) listed.push_back(n.get());
    }
    if (nodes == nullptr) {
      *count = listed.size();
      return CUDA_SUCCESS;
    }
    // As the driver: up to *count of them, the rest of the array null, *count what was filled in.
    size_t filled = 0;
    for (; filled < *count && filled < listed.size(); ++filled) nodes[filled] = reinterpret_cast<CUgraphNode>(listed[filled]);
    for (size_t i = filled; i < *count; ++i) nodes[i] = nullptr;
    *count = filled;
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuGraphClone(CUgraph* out, CUgraph original) {
  GraphObject* g = object_of<GraphObject>(original, HandleKind::Graph);
  if (out == nullptr || g == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    std::lock_guard lock(g->mutex);
    proto::GraphCreateReply reply{};
    const guest::CallResult r = guest::call<proto::CallId::GraphClone>(*ch, proto::GraphRequest{g->wire, 0}, &reply);
    if (r.status != 0) return to_cu_result(r.status);
    // The driver made the clone's nodes: listed from vgpud when asked for, as a captured graph's.
    auto* clone = new GraphObject(reply.graph, g->device, /*was_captured=*/true);
    clone->host_functions = g->host_functions;
    *out = reinterpret_cast<CUgraph>(clone);
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuGraphNodeGetType(CUgraphNode node, CUgraphNodeType* type) {
  GraphNodeObject* n = object_of<GraphNodeObject>(node, HandleKind::GraphNode);
  if (n == nullptr || type == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *type = n->type;
  return CUDA_SUCCESS;
}
