// Handlers for graph memory (docs/design.md §19): allocation nodes, added by hand or captured from
// cuMemAllocAsync, free nodes and frees of graph memory outside a graph, and a device's graph
// memory attributes.
//
// An allocation's address is the driver's and fixed for its node's life, so it joins the
// channel's device memory map when the node is made: copies, memsets and memcpy or memset nodes
// may then name it. Its bytes are charged to the tenant then too, and given back (sweep) once no
// graph or executable graph of the channel holds a node that allocates it and it cannot be live:
// an executable graph that did not free it, gone, may have left it live, until the program frees
// it at once outside a graph (cuMemFree), which vgpud does after the device has run all it was
// given. A free in stream order leaves the charge: vgpud cannot tell when it happens.
#include <cstring>
#include <set>
#include <vector>

#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/reply_payload.h"

namespace vgpud {
namespace {

using Graph = ChannelObjects::Graph;

// Child graphs nest; a graph deeper than this is not walked (its memory is then kept).
constexpr int kMaxGraphDepth = 16;

// The addresses graph `graph`'s allocation and free nodes name, child graphs included. False
// when the driver could not list them all: the caller then assumes everything is held.
bool collect(const CudaDriver& cu, CUgraph graph, std::set<uint64_t>* allocs, std::set<uint64_t>* frees, int depth = 0) {
  if (depth > kMaxGraphDepth) return false;
  size_t count = 0;
  if (cu.cuGraphGetNodes(graph, nullptr, &count) != CUDA_SUCCESS) return false;
  std::vector<CUgraphNode> nodes(count);
  if (count != 0 && cu.cuGraphGetNodes(graph, nodes.data(), &count) != CUDA_SUCCESS) return false;
  for (CUgraphNode node : nodes) {
    CUgraphNodeType type = CU_GRAPH_NODE_TYPE_EMPTY;
    if (cu.cuGraphNodeGetType(node, &type) != CUDA_SUCCESS) return false;
    if (type == CU_GRAPH_NODE_TYPE_MEM_ALLOC) {
      CUDA_MEM_ALLOC_NODE_PARAMS p{};
      if (cu.cuGraphMemAllocNodeGetParams(node, &p) != CUDA_SUCCESS) return false;
      allocs->insert(p.dptr);
    } else if (type == CU_GRAPH_NODE_TYPE_MEM_FREE) {
      CUdeviceptr p = 0;
      if (cu.cuGraphMemFreeNodeGetParams(node, &p) != CUDA_SUCCESS) return false;
      if (frees != nullptr) frees->insert(p);
    } else if (type == CU_GRAPH_NODE_TYPE_GRAPH) {
      CUgraph child = nullptr;
      if (cu.cuGraphChildGraphNodeGetGraph(node, &child) != CUDA_SUCCESS) return false;
      if (!collect(cu, child, allocs, frees, depth + 1)) return false;
    }
  }
  return true;
}

}  // namespace

void ChannelExecutor::note_graph_allocation(uint64_t address, uint64_t size, uint32_t device) {
  GraphAllocation& a = objects_.graph_memory[address];
  a.device = device;
  a.charged += size;
  if (size > a.size) {
    a.size = size;
    objects_.memory.add(address, size, DeviceMemoryMap::Kind::GraphAllocation, device);
  }
}

void ChannelExecutor::note_exec_graph_memory(uint32_t exec, CUgraph graph) {
  if (objects_.graph_memory.empty()) return;
  std::set<uint64_t> allocs, frees;
  GraphMemoryHold hold;
  if (!collect(cu_, graph, &allocs, &frees)) {
    // Unknown: it holds all of it, and may leave all of it live.
    for (const auto& [address, a] : objects_.graph_memory) hold.allocations.push_back(address);
    hold.leaves_live = hold.allocations;
  } else {
    for (uint64_t address : allocs) {
      if (objects_.graph_memory.count(address) == 0) continue;
      hold.allocations.push_back(address);
      if (frees.count(address) == 0) hold.leaves_live.push_back(address);
    }
  }
  if (!hold.allocations.empty()) objects_.exec_graph_memory[exec] = std::move(hold);
}

void ChannelExecutor::exec_graph_memory_gone(uint32_t exec) {
  auto it = objects_.exec_graph_memory.find(exec);
  if (it == objects_.exec_graph_memory.end()) return;
  // A launch may have left these allocated: the GPU holds them until the program frees them.
  for (uint64_t address : it->second.leaves_live)
    if (auto a = objects_.graph_memory.find(address); a != objects_.graph_memory.end()) a->second.may_be_live = true;
  objects_.exec_graph_memory.erase(it);
  sweep_graph_memory();
}

void ChannelExecutor::sweep_graph_memory() {
  if (objects_.graph_memory.empty()) return;
  std::set<uint64_t> held;
  bool listed = true;
  objects_.graphs.for_each([&](uint32_t, Graph& g) {
    // A graph a node holds is walked with its parent; a conditional body holds no memory nodes.
    if (g.owner_node == 0 && listed) listed = collect(cu_, g.handle, &held, nullptr);
  });
  // Graphs of open captures the channel has not named yet.
  for (uint64_t stream_id : capturing_) {
    CUstream s;
    CUgraph graph = nullptr;
    CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
    if (!listed || !objects_.resolve_stream(stream_id, &s)) continue;
    if (cu_.cuStreamGetCaptureInfo(s, &status, nullptr, &graph, nullptr, nullptr, nullptr) != CUDA_SUCCESS) {
      listed = false;
    } else if (graph != nullptr) {
      listed = collect(cu_, graph, &held, nullptr);
    }
  }
  if (!listed) return;  // keep everything rather than give back what may be in use
  for (const auto& [exec, hold] : objects_.exec_graph_memory) held.insert(hold.allocations.begin(), hold.allocations.end());
  for (auto it = objects_.graph_memory.begin(); it != objects_.graph_memory.end();) {
    if (held.count(it->first) != 0 || it->second.may_be_live) {
      ++it;
      continue;
    }
    objects_.memory.remove(it->first);
    device_budget().release(it->second.charged);
    it = objects_.graph_memory.erase(it);
  }
}

int32_t ChannelExecutor::handle(const GraphMemAllocCmd& cmd, Reply& reply) {
  if (cmd.device >= contexts_.device_count()) return CUDA_ERROR_INVALID_DEVICE;
  if (int32_t st = require_context()) return st;
  if (objects_.graph_memory.size() >= vgpu::limits::kMaxGraphAllocations ||
      objects_.memory.allocation_count() >= vgpu::limits::kMaxAllocations)
    return limit_exceeded();
  Graph* g = nullptr;
  CUstream s = nullptr;
  if (cmd.dependencies.size() % sizeof(uint32_t) != 0) return CUDA_ERROR_INVALID_VALUE;
  std::vector<CUgraphNode> deps(cmd.dependencies.size() / sizeof(uint32_t));
  if (cmd.graph != 0) {
    if (int32_t st = graph_for_new_node(cmd.graph, &g)) return st;
    if (g->device != cmd.device) return CUDA_ERROR_INVALID_VALUE;  // another GPU's memory: not offered
    // Given now, not as edges after: the driver picks the address when the node is made.
    for (size_t i = 0; i < deps.size(); ++i) {
      uint32_t id;
      std::memcpy(&id, cmd.dependencies.data() + i * sizeof id, sizeof id);
      const ChannelObjects::GraphNode* n = objects_.graph_nodes.find(id);
      if (n == nullptr || n->graph != cmd.graph) return CUDA_ERROR_INVALID_VALUE;
      deps[i] = n->handle;
    }
    if (deps.size() > vgpu::limits::kMaxGraphEdges - g->hand_edges) return limit_exceeded();
  } else {
    if (!deps.empty()) return CUDA_ERROR_INVALID_VALUE;  // a capture's node follows the stream
    // Captured from cuMemAllocAsync: outside a capture the guest's pools serve (design.md §21).
    if (!objects_.resolve_stream(cmd.stream, &s)) return CUDA_ERROR_INVALID_HANDLE;
    const ChannelObjects::Stream* stream = objects_.streams.find(cmd.stream);
    if ((stream != nullptr ? stream->device : contexts_.current()) != cmd.device) return CUDA_ERROR_INVALID_VALUE;
    CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
    if (CUresult r = cu_.cuStreamGetCaptureInfo(s, &status, nullptr, nullptr, nullptr, nullptr, nullptr)) return r;
    if (status != CU_STREAM_CAPTURE_STATUS_ACTIVE) return CUDA_ERROR_INVALID_VALUE;
  }
  // Charged when the node is made, before the driver sees it: nothing can use it earlier.
  TenantBudget budget = device_budget();
  if (!budget.reserve(cmd.size)) {
    HopCounters::bump(setup_.counters->rejected);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  CUgraphNode node = nullptr;
  CUdeviceptr address = 0;
  CUresult r;
  if (g != nullptr) {
    CUDA_MEM_ALLOC_NODE_PARAMS p{};
    p.poolProps.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
    p.poolProps.location = {CU_MEM_LOCATION_TYPE_DEVICE, contexts_.device(cmd.device)};
    p.bytesize = cmd.size;
    r = contexts_.in_context_of(g->device, [&] {
      return traced("cuGraphAddMemAllocNode", cu_.cuGraphAddMemAllocNode(&node, g->handle, deps.data(), deps.size(), &p));
    });
    address = p.dptr;
    if (r == CUDA_SUCCESS) g->hand_edges += static_cast<uint32_t>(deps.size());
  } else {
    r = traced("cuMemAllocAsync", cu_.cuMemAllocAsync(&address, cmd.size, s));
  }
  if (r != CUDA_SUCCESS) {
    budget.release(cmd.size);
    return r;
  }
  note_graph_allocation(address, cmd.size, cmd.device);
  const uint32_t id = node != nullptr ? objects_.graph_nodes.insert({node, cmd.graph}) : 0;
  put(reply.payload, proto::GraphMemAllocReply{id, 0, address});
  return 0;
}

int32_t ChannelExecutor::handle(const GraphMemFreeCmd& cmd, Reply& reply) {
  auto a = objects_.graph_memory.find(cmd.address);
  if (a == objects_.graph_memory.end()) return CUDA_ERROR_INVALID_VALUE;  // not graph memory of the channel
  if (int32_t st = require_context()) return st;
  if (cmd.mode == 0) {
    Graph* g = nullptr;
    if (int32_t st = graph_for_new_node(cmd.graph, &g)) return st;
    CUgraphNode node = nullptr;
    const CUresult r = contexts_.in_context_of(g->device, [&] {
      return traced("cuGraphAddMemFreeNode", cu_.cuGraphAddMemFreeNode(&node, g->handle, nullptr, 0, cmd.address));
    });
    return node_made(r, cmd.graph, node, reply);
  }
  if (cmd.mode == 1) {
    // In stream order (in a capture, a free node of its graph). vgpud cannot tell when the
    // stream gets there, nor whether a launch queued elsewhere allocates the memory again after
    // it, so the memory stays charged as it was (over-charged, never under).
    CUstream s;
    if (!objects_.resolve_stream(cmd.stream, &s)) return CUDA_ERROR_INVALID_HANDLE;
    if (CUresult r = traced("cuMemFreeAsync", cu_.cuMemFreeAsync(cmd.address, s))) return r;
    put(reply.payload, proto::GraphNodeReply{0, 0});
    return 0;
  }
  // At once, once every launch queued on the device has run: then nothing left it allocated
  // but what an executable graph still held may allocate it again (those hold it anyway).
  const CUresult r = contexts_.in_context_of(a->second.device, [&] {
    CUresult done = traced("cuCtxSynchronize", cu_.cuCtxSynchronize());
    if (done == CUDA_SUCCESS) done = traced("cuMemFree", cu_.cuMemFree(cmd.address));
    return done;
  });
  if (r != CUDA_SUCCESS) return r;
  a->second.may_be_live = false;
  sweep_graph_memory();
  put(reply.payload, proto::GraphNodeReply{0, 0});
  return 0;
}

int32_t ChannelExecutor::handle(const DeviceGraphMemCmd& cmd, Reply& reply) {
  if (cmd.device >= contexts_.device_count()) return CUDA_ERROR_INVALID_DEVICE;
  const CUdevice dev = contexts_.device(cmd.device);
  // A device the channel has no context on holds none of its graph memory: nothing to ask the
  // driver, and no context made for the question.
  if (contexts_.context_of(cmd.device) == nullptr) {
    if (cmd.op == 2 && cmd.value != 0) return CUDA_ERROR_INVALID_VALUE;
    put(reply.payload, proto::DeviceGraphMemReply{0});
    return 0;
  }
  uint64_t value = cmd.value;
  const CUresult r = contexts_.in_existing_context_of(cmd.device, [&] {
    switch (cmd.op) {
      case 0:
        return traced("cuDeviceGraphMemTrim", cu_.cuDeviceGraphMemTrim(dev));
      case 1:
        return traced("cuDeviceGetGraphMemAttribute",
                      cu_.cuDeviceGetGraphMemAttribute(dev, static_cast<CUgraphMem_attribute>(cmd.attribute), &value));
      default:
        return traced("cuDeviceSetGraphMemAttribute",
                      cu_.cuDeviceSetGraphMemAttribute(dev, static_cast<CUgraphMem_attribute>(cmd.attribute), &value));
    }
  });
  if (r != CUDA_SUCCESS) return r;
  put(reply.payload, proto::DeviceGraphMemReply{cmd.op == 1 ? value : 0});
  return 0;
}

}  // namespace vgpud
