// fake-cuda (test double, never ships): graph memory. An allocation node (cuGraphAddMemAllocNode,
// or cuMemAllocAsync on a capturing stream) gets its memory when it is made: a region of the
// context flagged `graph`, charged to the device and counted as an allocation, which stays until
// the context goes, so its address is fixed and usable for the node's whole life. Running an
// allocation or free node does nothing, and cuMemFree of graph memory leaves it in place
// (memory.cpp): the fake checks that vgpud passes the right addresses, not the lifetimes the
// driver enforces. Outside a capture, cuMemAllocAsync and cuMemFreeAsync allocate and free at
// once, as all of the fake's work runs at once.
#include "graph.h"

using namespace vgpu::fake;

namespace {

// A graph region of `bytes` on the context's device, or 0 when the device is out of memory
// (caller holds ctx.mu).
CUdeviceptr graph_region(Context& ctx, std::size_t bytes, bool graph) {
  if (!reserve_device_memory(ctx.device, bytes)) return 0;
  void* p = device_alloc(bytes);
  if (p == nullptr) {
    release_device_memory(ctx.device, bytes);
    return 0;
  }
  Region region;
  region.size = bytes;
  region.graph = graph;
  const auto base = reinterpret_cast<CUdeviceptr>(p);
  add_region(ctx, base, region);
  count_allocation(bytes);
  return base;
}

void drop_graph_region(Context& ctx, CUdeviceptr base) {
  auto it = ctx.regions.find(base);
  if (it == ctx.regions.end()) return;
  release_device_memory(ctx.device, it->second.size);
  count_free(it->second.size);
  drop_region(ctx, base);
}

// The per-device high watermarks of graph memory, which cuDeviceSetGraphMemAttribute resets.
std::mutex g_high_mu;
std::uint64_t g_high[kMaxDevices] = {};

// The graph memory of device `dev` now, over every live context.
std::uint64_t graph_bytes(CUdevice dev) {
  std::uint64_t total = 0;
  for (const auto& ctx : live_contexts()) {
    std::lock_guard<std::mutex> lock(ctx->mu);
    if (ctx->destroyed || ctx->device != dev) continue;
    for (const auto& [base, region] : ctx->regions)
      if (region.graph) total += region.size;
  }
  std::lock_guard<std::mutex> g(g_high_mu);
  g_high[dev] = std::max(g_high[dev], total);
  return total;
}

bool device_ok(CUdevice dev) { return dev >= 0 && dev < config().device_count; }

}  // namespace

// An allocation node: pinned device memory of the current context's device (the pool's
// location must say so), at least one byte; access descriptors are accepted and not modelled.
FAKE_CUDA_API CUresult CUDAAPI cuGraphAddMemAllocNode(CUgraphNode* phGraphNode, CUgraph hGraph,
                                                      const CUgraphNode* dependencies, size_t numDependencies,
                                                      CUDA_MEM_ALLOC_NODE_PARAMS* nodeParams) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (phGraphNode == nullptr || hGraph == nullptr || nodeParams == nullptr || nodeParams->bytesize == 0 ||
      (numDependencies != 0 && dependencies == nullptr))
    return CUDA_ERROR_INVALID_VALUE;
  const CUmemPoolProps& pool = nodeParams->poolProps;
  if (pool.allocType != CU_MEM_ALLOCATION_TYPE_PINNED || pool.location.type != CU_MEM_LOCATION_TYPE_DEVICE ||
      pool.location.id != l->device)
    return CUDA_ERROR_INVALID_VALUE;
  // As the driver does, an allocation that runs right after a free node of graph memory at least
  // as large takes its address (the region stays the fake's until the context goes).
  CUdeviceptr base = 0;
  for (std::size_t i = 0; i < numDependencies && base == 0; ++i) {
    NodeOp dep;
    if (!graph_node_info(dependencies[i], nullptr, &dep)) continue;
    const auto* f = std::get_if<MemFreeNode>(&dep);
    const auto region = f != nullptr ? l->regions.find(f->dptr) : l->regions.end();
    if (region != l->regions.end() && region->second.graph && region->second.size >= nodeParams->bytesize)
      base = f->dptr;
  }
  const bool reused = base != 0;
  if (!reused) base = graph_region(*l.ctx, nodeParams->bytesize, true);
  if (base == 0) return CUDA_ERROR_OUT_OF_MEMORY;
  const CUresult r = graph_insert(hGraph, l->handle, MemAllocNode{base, nodeParams->bytesize, l->device},
                                  dependencies, numDependencies, phGraphNode);
  if (r != CUDA_SUCCESS) {
    if (!reused) drop_graph_region(*l.ctx, base);
    return r;
  }
  nodeParams->dptr = base;
  l.lock.unlock();
  write_state_file();
  return CUDA_SUCCESS;
}

// A free node: the address must start graph memory of the current context.
FAKE_CUDA_API CUresult CUDAAPI cuGraphAddMemFreeNode(CUgraphNode* phGraphNode, CUgraph hGraph,
                                                     const CUgraphNode* dependencies, size_t numDependencies,
                                                     CUdeviceptr dptr) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (phGraphNode == nullptr || hGraph == nullptr || (numDependencies != 0 && dependencies == nullptr))
    return CUDA_ERROR_INVALID_VALUE;
  auto it = l->regions.find(dptr);
  if (it == l->regions.end() || !it->second.graph) return CUDA_ERROR_INVALID_VALUE;
  return graph_insert(hGraph, l->handle, MemFreeNode{dptr}, dependencies, numDependencies, phGraphNode);
}

FAKE_CUDA_API CUresult CUDAAPI cuGraphMemAllocNodeGetParams(CUgraphNode hNode, CUDA_MEM_ALLOC_NODE_PARAMS* params_out) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  NodeOp op;
  if (params_out == nullptr || !graph_node_info(hNode, nullptr, &op)) return CUDA_ERROR_INVALID_VALUE;
  const auto* a = std::get_if<MemAllocNode>(&op);
  if (a == nullptr) return CUDA_ERROR_INVALID_VALUE;
  CUDA_MEM_ALLOC_NODE_PARAMS p{};
  p.poolProps.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
  p.poolProps.location = {CU_MEM_LOCATION_TYPE_DEVICE, a->device};
  p.bytesize = a->bytes;
  p.dptr = a->dptr;
  *params_out = p;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuGraphMemFreeNodeGetParams(CUgraphNode hNode, CUdeviceptr* dptr_out) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  NodeOp op;
  if (dptr_out == nullptr || !graph_node_info(hNode, nullptr, &op)) return CUDA_ERROR_INVALID_VALUE;
  const auto* f = std::get_if<MemFreeNode>(&op);
  if (f == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *dptr_out = f->dptr;
  return CUDA_SUCCESS;
}

// On a capturing stream, an allocation node of the capture; otherwise an allocation made now.
FAKE_CUDA_API CUresult CUDAAPI cuMemAllocAsync(CUdeviceptr* dptr, size_t bytesize, CUstream hStream) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (dptr == nullptr || bytesize == 0) return CUDA_ERROR_INVALID_VALUE;
  if (!stream_ok(*l.ctx, hStream)) return CUDA_ERROR_INVALID_HANDLE;
  std::shared_ptr<Capture> cap;
  if (CUresult r = capture_gate(*l.ctx, hStream, cap); r != CUDA_SUCCESS) return r;
  const CUdeviceptr base = graph_region(*l.ctx, bytesize, cap != nullptr);
  if (base == 0) return CUDA_ERROR_OUT_OF_MEMORY;
  if (cap) capture_record(*cap, hStream, MemAllocNode{base, bytesize, l->device});
  *dptr = base;
  l.lock.unlock();
  write_state_file();
  return CUDA_SUCCESS;
}

// On a capturing stream, a free node of the capture (of graph memory only, in the fake);
// otherwise a free made now (graph memory stays, as for cuMemFree).
FAKE_CUDA_API CUresult CUDAAPI cuMemFreeAsync(CUdeviceptr dptr, CUstream hStream) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (!stream_ok(*l.ctx, hStream)) return CUDA_ERROR_INVALID_HANDLE;
  auto it = l->regions.find(dptr);
  if (it == l->regions.end() || it->second.owner != nullptr || it->second.mapping) return CUDA_ERROR_INVALID_VALUE;
  std::shared_ptr<Capture> cap;
  if (CUresult r = capture_gate(*l.ctx, hStream, cap); r != CUDA_SUCCESS) return r;
  if (cap) {
    if (!it->second.graph) return CUDA_ERROR_NOT_SUPPORTED;
    capture_record(*cap, hStream, MemFreeNode{dptr});
    return CUDA_SUCCESS;
  }
  if (!it->second.graph) drop_graph_region(*l.ctx, dptr);
  l.lock.unlock();
  write_state_file();
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuDeviceGraphMemTrim(CUdevice device) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  return device_ok(device) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

// Used and reserved are the same in the fake: the graph memory the device's contexts hold.
FAKE_CUDA_API CUresult CUDAAPI cuDeviceGetGraphMemAttribute(CUdevice device, CUgraphMem_attribute attr, void* value) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (!device_ok(device)) return CUDA_ERROR_INVALID_DEVICE;
  if (value == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const std::uint64_t now = graph_bytes(device);
  std::uint64_t out = 0;
  switch (raw_enum(&attr)) {
    case CU_GRAPH_MEM_ATTR_USED_MEM_CURRENT:
    case CU_GRAPH_MEM_ATTR_RESERVED_MEM_CURRENT:
      out = now;
      break;
    case CU_GRAPH_MEM_ATTR_USED_MEM_HIGH:
    case CU_GRAPH_MEM_ATTR_RESERVED_MEM_HIGH: {
      std::lock_guard<std::mutex> g(g_high_mu);
      out = g_high[device];
      break;
    }
    default:
      return CUDA_ERROR_INVALID_VALUE;
  }
  std::memcpy(value, &out, sizeof out);
  return CUDA_SUCCESS;
}

// Only a high watermark may be set, and only to 0 (it then restarts from what is held now).
FAKE_CUDA_API CUresult CUDAAPI cuDeviceSetGraphMemAttribute(CUdevice device, CUgraphMem_attribute attr, void* value) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (!device_ok(device)) return CUDA_ERROR_INVALID_DEVICE;
  if (value == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const int a = raw_enum(&attr);
  std::uint64_t v = 0;
  std::memcpy(&v, value, sizeof v);
  if ((a != CU_GRAPH_MEM_ATTR_USED_MEM_HIGH && a != CU_GRAPH_MEM_ATTR_RESERVED_MEM_HIGH) || v != 0)
    return CUDA_ERROR_INVALID_VALUE;
  const std::uint64_t now = graph_bytes(device);
  std::lock_guard<std::mutex> g(g_high_mu);
  g_high[device] = now;
  return CUDA_SUCCESS;
}
