// Graph nodes' parameters as the program set them (graph_params.h).
#include "guest/cuda/graph_params.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>

#include "guest/client/host_heap.h"
#include "guest/client/log.h"
#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/host_functions.h"
#include "guest/cuda/modules.h"
#include "guest/cuda/pageable_stage.h"
#include "guest/cuda/param_pack.h"

namespace vgpu::cuda {
namespace {

namespace proto = vgpu::proto;

// Stores what was set on the node, keeping the attributes it had (the caller does not hold its
// graph's mutex). Without memory nothing is stored, and the getters ask vgpud.
void store(CUgraphNode node, NodeRecord record) noexcept {
  try {
    GraphNodeObject* n = object_of<GraphNodeObject>(node, HandleKind::GraphNode);
    if (n == nullptr || n->graph == nullptr) return;
    record.has_params = true;
    auto shared = std::make_shared<NodeRecord>(std::move(record));
    std::lock_guard lock(n->graph->mutex);
    if (n->record) shared->access_policy = n->record->access_policy;
    n->record = std::move(shared);
  } catch (...) {
  }
}

CUresult unsupported(const char* what) {
  static std::atomic<bool> said{false};
  if (!said.exchange(true))
    guest::log(guest::LogLevel::Warn, "graph node parameters: %s is not supported by vgpu", what);
  return CUDA_ERROR_NOT_SUPPORTED;
}

// The CUkernel whose function on its device `f` is (the runtime names kernels by them).
CUkernel kernel_of(FunctionObject& f) {
  ModuleObject* m = f.module;
  if (m == nullptr || m->library == nullptr || f.device >= limits::kMaxDevices) return nullptr;
  std::lock_guard lock(m->library->mutex);
  for (const auto& k : m->library->kernels) {
    std::lock_guard kernel_lock(k->mutex);
    if (k->functions[f.device] == &f) return reinterpret_cast<CUkernel>(k.get());
  }
  return nullptr;
}

// vgpud's answer for a node whose parameters only its driver holds, as the program's values.
CUresult record_from(const proto::GraphNodeGetParamsReply& reply, std::span<const uint8_t> params, NodeRecord* r) {
  switch (static_cast<CUgraphNodeType>(reply.type)) {
    case CU_GRAPH_NODE_TYPE_KERNEL: {
      FunctionObject* f = function_by_wire(reply.function);
      if (f == nullptr) return unsupported("a kernel node whose function the program holds no handle for");
      if (params.size() != f->param_buffer_size) return CUDA_ERROR_UNKNOWN;
      r->func = reinterpret_cast<CUfunction>(f);
      r->kern = kernel_of(*f);
      for (int i = 0; i < 3; ++i) r->grid[i] = reply.grid[i], r->block[i] = reply.block[i];
      r->shared_mem = reply.shared_mem_bytes;
      r->args.assign(params.begin(), params.end());
      r->arg_pointers.clear();
      for (const auto& p : f->params) r->arg_pointers.push_back(r->args.data() + p.offset);
      return CUDA_SUCCESS;
    }
    case CU_GRAPH_NODE_TYPE_MEMSET:
      r->memset = CUDA_MEMSET_NODE_PARAMS{reply.dst,          reply.dst_pitch, reply.value,
                                          reply.element_size, reply.width,     reply.height};
      return CUDA_SUCCESS;
    case CU_GRAPH_NODE_TYPE_MEMCPY: {
      // Host ends are the heap's, which the program sees at the same offsets.
      guest::HostHeap* heap = guest::process_host_heap();
      const uint8_t* base = heap != nullptr ? heap->range().base : nullptr;
      if (((reply.heap & 1) != 0 && is_staging_block(reply.src)) ||
          ((reply.heap & 2) != 0 && is_staging_block(reply.dst)))
        return unsupported("reading back a captured copy of pageable memory");
      if (reply.heap != 0 && base == nullptr) return CUDA_ERROR_UNKNOWN;
      CUDA_MEMCPY3D& c = r->copy;
      c = CUDA_MEMCPY3D{};
      if ((reply.heap & 1) != 0) {
        c.srcMemoryType = CU_MEMORYTYPE_HOST;
        c.srcHost = base + reply.src;
      } else {
        c.srcMemoryType = CU_MEMORYTYPE_DEVICE;
        c.srcDevice = reply.src;
      }
      if ((reply.heap & 2) != 0) {
        c.dstMemoryType = CU_MEMORYTYPE_HOST;
        c.dstHost = const_cast<uint8_t*>(base) + reply.dst;
      } else {
        c.dstMemoryType = CU_MEMORYTYPE_DEVICE;
        c.dstDevice = reply.dst;
      }
      c.srcPitch = reply.src_pitch;
      c.dstPitch = reply.dst_pitch;
      c.WidthInBytes = reply.width;
      c.Height = reply.height;
      c.Depth = 1;
      return CUDA_SUCCESS;
    }
    case CU_GRAPH_NODE_TYPE_HOST:
      r->function_id = reply.host_function;
      if (!host_function_of(reply.host_function, &r->fn, &r->data))
        return unsupported("a host node whose function is not the program's");
      return CUDA_SUCCESS;
    case CU_GRAPH_NODE_TYPE_EVENT_RECORD:
    case CU_GRAPH_NODE_TYPE_WAIT_EVENT: {
      EventObject* e = event_by_wire(reply.event);
      if (e == nullptr) return unsupported("an event node whose event the program holds no handle for");
      r->event = reinterpret_cast<CUevent>(e);
      return CUDA_SUCCESS;
    }
    default:
      return CUDA_SUCCESS;  // nothing but the type
  }
}

}  // namespace

NodeRecord::NodeRecord(const NodeRecord& other) { *this = other; }

NodeRecord& NodeRecord::operator=(const NodeRecord& other) {
  if (this == &other) return *this;
  const uint8_t* base = other.args.data();
  has_params = other.has_params;
  func = other.func;
  kern = other.kern;
  std::copy(std::begin(other.grid), std::end(other.grid), grid);
  std::copy(std::begin(other.block), std::end(other.block), block);
  shared_mem = other.shared_mem;
  args = other.args;
  arg_pointers.clear();
  for (void* p : other.arg_pointers) arg_pointers.push_back(args.data() + (static_cast<const uint8_t*>(p) - base));
  access_policy = other.access_policy;
  copy = other.copy;
  staged = other.staged;
  memset = other.memset;
  fn = other.fn;
  data = other.data;
  function_id = other.function_id;
  event = other.event;
  return *this;
}

CUresult pack_kernel_record(const FunctionObject& f, void** params, void** extra, NodeRecord* record) {
  record->args.assign(f.param_buffer_size, 0);
  if (CUresult r = pack_arguments(f.params, f.param_buffer_size, params, extra, record->args); r != CUDA_SUCCESS)
    return r;
  record->arg_pointers.clear();
  for (const auto& p : f.params) record->arg_pointers.push_back(record->args.data() + p.offset);
  return CUDA_SUCCESS;
}

void remember_kernel_node(CUgraphNode node, const CUDA_KERNEL_NODE_PARAMS& p) noexcept {
  try {
    GraphNodeObject* n = object_of<GraphNodeObject>(node, HandleKind::GraphNode);
    guest::Channel* ch = channel();
    if (n == nullptr || ch == nullptr) return;
    // Resolved already by the add: this finds the same function without a round trip.
    FunctionObject* f = nullptr;
    const CUfunction handle = p.func != nullptr ? p.func : reinterpret_cast<CUfunction>(p.kern);
    if (function_on(*ch, handle, n->graph->device, &f) != CUDA_SUCCESS) return;
    NodeRecord r;
    r.func = p.func;
    r.kern = p.kern;
    r.grid[0] = p.gridDimX, r.grid[1] = p.gridDimY, r.grid[2] = p.gridDimZ;
    r.block[0] = p.blockDimX, r.block[1] = p.blockDimY, r.block[2] = p.blockDimZ;
    r.shared_mem = p.sharedMemBytes;
    if (pack_kernel_record(*f, p.kernelParams, p.extra, &r) != CUDA_SUCCESS) return;
    store(node, std::move(r));
  } catch (...) {
  }
}

void remember_memset_node(CUgraphNode node, const CUDA_MEMSET_NODE_PARAMS& p) noexcept {
  NodeRecord r;
  r.memset = p;
  store(node, std::move(r));
}

void remember_memcpy_node(CUgraphNode node, const CUDA_MEMCPY3D& p) noexcept {
  const GraphNodeObject* n = object_of<GraphNodeObject>(node, HandleKind::GraphNode);
  if (n == nullptr) return;
  NodeRecord r;
  r.copy = p;
  r.staged = n->second != 0;  // a copy and the host functions that move its pageable end
  store(node, std::move(r));
}

void remember_host_node(CUgraphNode node, CUhostFn fn, void* data, uint64_t function_id) noexcept {
  NodeRecord r;
  r.fn = fn;
  r.data = data;
  r.function_id = function_id;
  store(node, std::move(r));
}

void remember_event_node(CUgraphNode node, CUevent event) noexcept {
  NodeRecord r;
  r.event = event;
  store(node, std::move(r));
}

CUresult node_params(guest::Channel& ch, GraphNodeObject& node, const NodeRecord** out) {
  if (node.record && node.record->has_params) {
    *out = node.record.get();
    return CUDA_SUCCESS;
  }
  proto::GraphNodeGetParamsReply reply{};
  std::vector<uint8_t> params(limits::kMaxKernelParamBytes);
  const guest::CallResult result = guest::call<proto::CallId::GraphNodeGetParams>(
      ch, proto::GraphNodeGetParamsRequest{node.wire, 0}, {}, &reply, params);
  if (result.status != 0) return to_cu_result(result.status);
  if (result.payload_size < sizeof reply || result.payload_size - sizeof reply != reply.param_bytes ||
      reply.type != static_cast<uint32_t>(node.type))
    return CUDA_ERROR_UNKNOWN;
  auto record = std::make_shared<NodeRecord>();
  if (CUresult r = record_from(reply, std::span(params.data(), reply.param_bytes), record.get()); r != CUDA_SUCCESS)
    return r;
  record->has_params = true;
  if (node.record) record->access_policy = node.record->access_policy;
  node.record = std::move(record);
  *out = node.record.get();
  return CUDA_SUCCESS;
}

}  // namespace vgpu::cuda
