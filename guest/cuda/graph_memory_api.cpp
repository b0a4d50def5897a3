// Graph memory nodes (graph_memory.h, docs/design.md §19): allocation and free nodes added by
// hand or captured from cuMemAllocAsync and cuMemFreeAsync, made by vgpud's driver, which fixes
// each allocation's address for its node's life; their parameters read back; frees of graph
// memory outside a graph; a device's graph memory attributes and trim. vgpud charges an
// allocation to the tenant when its node is made and checks every address named here.
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <span>
#include <vector>

#include "guest/client/log.h"
#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/device_memory.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/graph_build.h"
#include "guest/cuda/graph_memory.h"
#include "guest/cuda/graph_view.h"
#include "guest/cuda/handles.h"
#include "guest/cuda/streams.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace {

struct Allocation {
  uint64_t size = 0;
  uint32_t device = 0;
};

// Every graph memory address the process was given, with the largest size a node gave it. Kept
// for the process's life: the driver hands an address out again to later nodes.
std::mutex g_mutex;
std::map<uint64_t, Allocation> g_allocations;  // guarded by g_mutex

void remember(CUdeviceptr address, uint64_t size, uint32_t device, Context* owner) {
  {
    std::lock_guard lock(g_mutex);
    Allocation& a = g_allocations[address];
    a.device = device;
    if (size <= a.size) return;
    a.size = size;
  }
  note_graph_memory(address, size, device, owner);
}

bool allocation(CUdeviceptr address, Allocation* out) {
  std::lock_guard lock(g_mutex);
  auto it = g_allocations.find(address);
  if (it == g_allocations.end()) return false;
  *out = it->second;
  return true;
}

CUresult not_supported(const char* what) {
  static std::atomic<bool> said{false};
  if (!said.exchange(true)) guest::log(guest::LogLevel::Warn, "cuGraphAddMemAllocNode: %s is not supported by vgpu", what);
  return CUDA_ERROR_NOT_SUPPORTED;
}

// The node's address, read from vgpud for a node the driver made (captured, cloned).
CUresult address_of(GraphNodeObject& n, uint64_t* out) {
  if (n.address == 0) {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    std::lock_guard lock(n.graph->mutex);
    GraphView view;
    if (CUresult r = read_graph(*ch, *n.graph, &view); r != CUDA_SUCCESS) return r;
  }
  *out = n.address;
  return n.address != 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult device_graph_mem(CUdevice device, uint32_t op, CUgraphMem_attribute attribute, void* value) {
  if (CUresult r = init_status(); r != CUDA_SUCCESS) return r;
  if (device < 0 || static_cast<uint32_t>(device) >= device_count()) return CUDA_ERROR_INVALID_DEVICE;
  if (op != 0 && (value == nullptr || attribute < CU_GRAPH_MEM_ATTR_USED_MEM_CURRENT ||
                  attribute > CU_GRAPH_MEM_ATTR_RESERVED_MEM_HIGH))
    return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    proto::DeviceGraphMemRequest request{static_cast<uint32_t>(device), op, static_cast<uint32_t>(attribute), 0, 0};
    if (op == 2) std::memcpy(&request.value, value, sizeof request.value);
    proto::DeviceGraphMemReply reply{};
    const guest::CallResult r = guest::call<proto::CallId::DeviceGraphMem>(*ch, request, &reply);
    if (r.status != 0) return to_cu_result(r.status);
    if (op == 1) std::memcpy(value, &reply.value, sizeof reply.value);
    return CUDA_SUCCESS;
  });
}

}  // namespace

namespace vgpu::cuda {

bool is_graph_memory(CUdeviceptr ptr) noexcept {
  std::lock_guard lock(g_mutex);
  return g_allocations.count(ptr) != 0;
}

CUresult free_graph_memory(CUdeviceptr ptr, const CUstream* stream, bool* handled) {
  Allocation a;
  *handled = allocation(ptr, &a);
  if (!*handled) return CUDA_SUCCESS;
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  proto::GraphMemFreeRequest request{0, stream != nullptr ? 1u : 2u, ptr, 0};
  if (stream != nullptr && !wire_stream(*stream, &request.stream)) return CUDA_ERROR_INVALID_HANDLE;
  if (stream == nullptr) guest::Channel::set_thread_device(a.device);
  return to_cu_result(guest::call<proto::CallId::GraphMemFree>(*ch, request, nullptr).status);
}

CUresult capture_graph_memory(Context* c, uint32_t device, uint64_t stream, size_t size, CUdeviceptr* out) {
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  proto::GraphMemAllocReply reply{};
  const guest::CallResult r =
      guest::call<proto::CallId::GraphMemAlloc>(*ch, proto::GraphMemAllocRequest{0, device, size, stream, 0, 0},
                                                std::span<const uint8_t>{}, &reply);
  if (r.status != 0) return to_cu_result(r.status);
  remember(reply.address, size, device, c);
  *out = reply.address;
  return CUDA_SUCCESS;
}

}  // namespace vgpu::cuda

// Pinned memory of a device of the process's; access from other devices (the descriptors) is not
// offered beyond the device's own.
VGPU_DRIVER_API CUresult cuGraphAddMemAllocNode(CUgraphNode* out, CUgraph graph, const CUgraphNode* deps, size_t count,
                                                CUDA_MEM_ALLOC_NODE_PARAMS* params) {
  if (params == nullptr || params->bytesize == 0) return CUDA_ERROR_INVALID_VALUE;
  const CUmemPoolProps& pool = params->poolProps;
  if (pool.allocType == CU_MEM_ALLOCATION_TYPE_MANAGED || pool.location.type == CU_MEM_LOCATION_TYPE_HOST ||
      pool.location.type == CU_MEM_LOCATION_TYPE_HOST_NUMA)
    return not_supported("graph memory of host or managed memory");
  if (pool.allocType != CU_MEM_ALLOCATION_TYPE_PINNED || pool.location.type != CU_MEM_LOCATION_TYPE_DEVICE ||
      pool.location.id < 0 || (params->accessDescCount != 0 && params->accessDescs == nullptr))
    return CUDA_ERROR_INVALID_VALUE;
  if (pool.handleTypes != CU_MEM_HANDLE_TYPE_NONE) return not_supported("graph memory shared with other processes");
  for (size_t i = 0; i < params->accessDescCount; ++i)
    if (params->accessDescs[i].location.type != CU_MEM_LOCATION_TYPE_DEVICE ||
        params->accessDescs[i].location.id != pool.location.id)
      return not_supported("graph memory other devices access");
  const auto device = static_cast<uint32_t>(pool.location.id);
  uint64_t address = 0;
  Context* owner = nullptr;
  if (count > vgpu::limits::kMaxGraphEdgeBytes / sizeof(uint32_t)) return CUDA_ERROR_INVALID_VALUE;
  const auto send = [&](guest::Channel& ch, const GraphObject& g, proto::GraphNodeReply* reply) {
    if (g.device != device) return CUDA_ERROR_INVALID_VALUE;
    guest::Channel* entered = nullptr;  // the context, for its pointer queries
    if (CUresult e = enter_context(&entered, &owner); e != CUDA_SUCCESS) return e;
    // The dependencies go with the request: the driver chooses the address when it makes the
    // node, and may reuse one that a free node among them gives back.
    std::vector<uint32_t> wire_deps(count);
    for (size_t i = 0; i < count; ++i) wire_deps[i] = node_of(deps[i], &g)->last();
    const std::span<const uint8_t> tail(reinterpret_cast<const uint8_t*>(wire_deps.data()),
                                        wire_deps.size() * sizeof(uint32_t));
    proto::GraphMemAllocReply made{};
    const guest::CallResult res = guest::call<proto::CallId::GraphMemAlloc>(
        ch, proto::GraphMemAllocRequest{g.wire, device, params->bytesize, 0, 0, 0}, tail, &made);
    if (res.status != 0) return to_cu_result(res.status);
    *reply = proto::GraphNodeReply{made.node, 0};
    address = made.address;
    return CUDA_SUCCESS;
  };
  const CUresult r = add_graph_node<Edges::InRequest>(out, graph, deps, count, CU_GRAPH_NODE_TYPE_MEM_ALLOC, send);
  if (r != CUDA_SUCCESS) return r;
  object_of<GraphNodeObject>(*out, HandleKind::GraphNode)->address = address;
  remember(address, params->bytesize, device, owner);
  params->dptr = address;
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuGraphAddMemFreeNode(CUgraphNode* out, CUgraph graph, const CUgraphNode* deps, size_t count,
                                               CUdeviceptr address) {
  if (!is_graph_memory(address)) return CUDA_ERROR_INVALID_VALUE;
  const CUresult r = add_graph_node(out, graph, deps, count, CU_GRAPH_NODE_TYPE_MEM_FREE,
                                    [&](guest::Channel& ch, const GraphObject& g, proto::GraphNodeReply* reply) {
                                      return to_cu_result(guest::call<proto::CallId::GraphMemFree>(
                                                              ch, proto::GraphMemFreeRequest{g.wire, 0, address, 0}, reply)
                                                              .status);
                                    });
  if (r == CUDA_SUCCESS) object_of<GraphNodeObject>(*out, HandleKind::GraphNode)->address = address;
  return r;
}

VGPU_DRIVER_API CUresult cuGraphMemAllocNodeGetParams(CUgraphNode node, CUDA_MEM_ALLOC_NODE_PARAMS* params) {
  GraphNodeObject* n = object_of<GraphNodeObject>(node, HandleKind::GraphNode);
  if (n == nullptr || params == nullptr || n->type != CU_GRAPH_NODE_TYPE_MEM_ALLOC) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    uint64_t address = 0;
    if (CUresult r = address_of(*n, &address); r != CUDA_SUCCESS) return r;
    Allocation a;
    if (!allocation(address, &a)) return CUDA_ERROR_INVALID_VALUE;
    *params = CUDA_MEM_ALLOC_NODE_PARAMS{};
    params->poolProps.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
    params->poolProps.location = {CU_MEM_LOCATION_TYPE_DEVICE, static_cast<int>(a.device)};
    params->bytesize = a.size;
    params->dptr = address;
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuGraphMemFreeNodeGetParams(CUgraphNode node, CUdeviceptr* address) {
  GraphNodeObject* n = object_of<GraphNodeObject>(node, HandleKind::GraphNode);
  if (n == nullptr || address == nullptr || n->type != CU_GRAPH_NODE_TYPE_MEM_FREE) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    uint64_t found = 0;
    if (CUresult r = address_of(*n, &found); r != CUDA_SUCCESS) return r;
    *address = found;
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuDeviceGraphMemTrim(CUdevice device) {
  return device_graph_mem(device, 0, CU_GRAPH_MEM_ATTR_USED_MEM_CURRENT, nullptr);
}
VGPU_DRIVER_API CUresult cuDeviceGetGraphMemAttribute(CUdevice device, CUgraphMem_attribute attr, void* value) {
  return device_graph_mem(device, 1, attr, value);
}
VGPU_DRIVER_API CUresult cuDeviceSetGraphMemAttribute(CUdevice device, CUgraphMem_attribute attr, void* value) {
  return device_graph_mem(device, 2, attr, value);
}
