// The per-node setters' messages (graph_params.h): a node's new parameters checked and put on the
// wire as adding that node puts them (the add's request fields, memcpy_node_request's checks),
// then GRAPH_*_NODE_SET, which vgpud checks as it checks the add.
#include <atomic>

#include "guest/client/log.h"
#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/graph_build.h"
#include "guest/cuda/graph_params.h"
#include "guest/cuda/host_functions.h"
#include "guest/cuda/modules.h"

namespace vgpu::cuda {
namespace {

namespace proto = vgpu::proto;

CUresult refuse_staged(const char* what) {
  static std::atomic<bool> said{false};
  if (!said.exchange(true))
    guest::log(guest::LogLevel::Warn, "graph node parameters: %s is not supported by vgpu", what);
  return CUDA_ERROR_NOT_SUPPORTED;
}

}  // namespace

CUresult set_kernel_node(guest::Channel& ch, uint32_t exec, GraphNodeObject& node, uint32_t device,
                         const CUDA_KERNEL_NODE_PARAMS& p, NodeRecord* record) {
  // NVIDIA's runtime names kernels by their CUkernel; a CUkernel is accepted as a CUfunction.
  const CUfunction handle = p.func != nullptr ? p.func : reinterpret_cast<CUfunction>(p.kern);
  FunctionObject* f = nullptr;
  if (CUresult r = function_on(ch, handle, device, &f); r != CUDA_SUCCESS) return r;
  NodeRecord set;
  if (CUresult r = pack_kernel_record(*f, p.kernelParams, p.extra, &set); r != CUDA_SUCCESS) return r;
  proto::GraphKernelNodeSetRequest request{};
  request.exec = exec;
  request.node = node.wire;
  request.function = f->wire;
  const unsigned grid[3] = {p.gridDimX, p.gridDimY, p.gridDimZ}, block[3] = {p.blockDimX, p.blockDimY, p.blockDimZ};
  for (int i = 0; i < 3; ++i) {
    request.grid[i] = set.grid[i] = grid[i];
    request.block[i] = set.block[i] = block[i];
  }
  request.shared_mem_bytes = set.shared_mem = p.sharedMemBytes;
  const guest::CallResult r = guest::call<proto::CallId::GraphKernelNodeSet>(ch, request, set.args, nullptr);
  if (r.status != 0) return to_cu_result(r.status);
  if (record != nullptr) {
    set.func = p.func;
    set.kern = p.kern;
    set.access_policy = record->access_policy;  // an attribute, not a parameter
    *record = std::move(set);
  }
  return CUDA_SUCCESS;
}

CUresult set_memset_node(guest::Channel& ch, uint32_t exec, GraphNodeObject& node, const CUDA_MEMSET_NODE_PARAMS& p,
                         NodeRecord* record) {
  if (p.elementSize != 1 && p.elementSize != 2 && p.elementSize != 4) return CUDA_ERROR_INVALID_VALUE;
  proto::GraphMemsetNodeSetRequest request{};
  request.exec = exec;
  request.node = node.wire;
  request.element_size = p.elementSize;
  request.value = p.value;
  request.dst = p.dst;
  request.pitch = p.pitch;
  request.width = p.width;
  request.height = p.height;
  const guest::CallResult r = guest::call<proto::CallId::GraphMemsetNodeSet>(ch, request, nullptr);
  if (r.status != 0) return to_cu_result(r.status);
  if (record != nullptr) record->memset = p;
  return CUDA_SUCCESS;
}

bool memcpy_node_staged(guest::Channel& ch, GraphNodeObject& node) {
  if (node.second != 0) return true;
  const NodeRecord* known = nullptr;
  // A captured copy of pageable memory is one that cannot be read back either.
  return node_params(ch, node, &known) == CUDA_SUCCESS ? known->staged : true;
}

CUresult set_memcpy_node(guest::Channel& ch, uint32_t exec, GraphNodeObject& node, const CUDA_MEMCPY3D& p,
                         NodeRecord* record) {
  proto::GraphAddMemcpyNodeRequest add{};
  std::optional<HostRows> pageable;
  bool to_device = false;
  if (CUresult r = memcpy_node_request(&p, "cuGraphMemcpyNodeSetParams", &add, &pageable, &to_device);
      r != CUDA_SUCCESS)
    return r;
  // A pageable end is a chain of vgpud's nodes (a copy through a staging block and the host
  // functions that fill or empty it), which one node's parameters cannot become or stop being.
  if (pageable) return refuse_staged("setting a memcpy node's parameters to pageable memory");
  if (memcpy_node_staged(ch, node)) return refuse_staged("setting the parameters of a memcpy node of pageable memory");
  const proto::GraphMemcpyNodeSetRequest request{exec,    node.wire,     add.heap,      0,         add.src,
                                                 add.dst, add.src_pitch, add.dst_pitch, add.width, add.height};
  const guest::CallResult r = guest::call<proto::CallId::GraphMemcpyNodeSet>(ch, request, nullptr);
  if (r.status != 0) return to_cu_result(r.status);
  if (record != nullptr) {
    record->copy = p;
    record->staged = false;
  }
  return CUDA_SUCCESS;
}

CUresult set_event_node(guest::Channel& ch, uint32_t exec, GraphNodeObject& node, CUevent event, NodeRecord* record) {
  const EventObject* e = object_of<EventObject>(event, HandleKind::Event);
  if (e == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const proto::GraphEventNodeSetRequest request{exec, node.wire, e->wire,
                                                node.type == CU_GRAPH_NODE_TYPE_WAIT_EVENT ? 1u : 0u};
  const guest::CallResult r = guest::call<proto::CallId::GraphEventNodeSet>(ch, request, nullptr);
  if (r.status != 0) return to_cu_result(r.status);
  if (record != nullptr) record->event = event;
  return CUDA_SUCCESS;
}

CUresult set_host_node(guest::Channel& ch, uint32_t exec, GraphNodeObject& node, CUhostFn fn, void* data,
                       uint64_t* id) {
  if (fn == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = start_host_functions(ch); r != CUDA_SUCCESS) return r;
  *id = add_host_function(fn, data, /*kept=*/true);
  const guest::CallResult r =
      guest::call<proto::CallId::GraphHostNodeSet>(ch, proto::GraphHostNodeSetRequest{exec, node.wire, *id}, nullptr);
  if (r.status != 0) {
    drop_host_function(*id);
    return to_cu_result(r.status);
  }
  return CUDA_SUCCESS;
}

}  // namespace vgpu::cuda
