// A graph node's parameters as the program set them (docs/design.md §19), so that its getters
// give back the program's own values: the function handle it named, its pointers and pitches,
// its host function and data, and kernel arguments in copies the node owns. The guest records
// them when the program adds a node (graph_build_api.cpp, host_function_api.cpp call remember_*)
// or sets its parameters (graph_params_api.cpp); for a node whose parameters only vgpud's driver
// holds (captured, cloned), the first getter asks vgpud (GRAPH_NODE_GET_PARAMS) and keeps the
// answer. An executable graph's nodes are not recorded: the driver has no getters for them.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <vector>

#include "guest/cuda/handles.h"

namespace vgpu::cuda {

struct NodeRecord {
  NodeRecord() = default;
  // A copy's kernelParams point into its own copy of the arguments.
  NodeRecord(const NodeRecord& other);
  NodeRecord& operator=(const NodeRecord& other);
  NodeRecord(NodeRecord&&) = default;  // a vector's move keeps its bytes where they are
  NodeRecord& operator=(NodeRecord&&) = default;

  bool has_params = false;  // false: only the attributes below are known
  // Kernel nodes: the function as named (func, or a CUkernel in kern), the launch shape, the
  // arguments packed at the layout's offsets and a pointer to each (a getter's kernelParams).
  CUfunction func = nullptr;
  CUkernel kern = nullptr;
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  unsigned shared_mem = 0;
  std::vector<uint8_t> args;
  std::vector<void*> arg_pointers;
  // A hint vgpud drops (launch_api.cpp), kept to be read back as set.
  CUaccessPolicyWindow access_policy{};
  CUDA_MEMCPY3D copy{};              // memcpy nodes
  bool staged = false;               // a memcpy node with a pageable end (pageable_stage.h)
  CUDA_MEMSET_NODE_PARAMS memset{};  // memset nodes
  CUhostFn fn = nullptr;             // host nodes: the program's function and data,
  void* data = nullptr;
  uint64_t function_id = 0;  // and the id vgpud runs (host_functions.h)
  CUevent event = nullptr;   // event record and wait nodes
};

// What adding a node recorded (node: the new one); nothing is recorded when memory runs out, and
// the getters then ask vgpud. A kernel node's function is resolved on the node's graph's device.
void remember_kernel_node(CUgraphNode node, const CUDA_KERNEL_NODE_PARAMS& p) noexcept;
void remember_memset_node(CUgraphNode node, const CUDA_MEMSET_NODE_PARAMS& p) noexcept;
void remember_memcpy_node(CUgraphNode node, const CUDA_MEMCPY3D& p) noexcept;
void remember_host_node(CUgraphNode node, CUhostFn fn, void* data, uint64_t function_id) noexcept;
void remember_event_node(CUgraphNode node, CUevent event) noexcept;

// The node's parameters, recorded or asked of vgpud and then recorded; the caller holds its
// graph's mutex. CUDA_ERROR_NOT_SUPPORTED (said once) where vgpud's answer names something the
// program holds no handle for.
CUresult node_params(guest::Channel& ch, GraphNodeObject& node, const NodeRecord** out);

// A kernel node's arguments, packed for `f` from kernelParams or extra, with a pointer to each.
CUresult pack_kernel_record(const FunctionObject& f, void** params, void** extra, NodeRecord* record);

}  // namespace vgpu::cuda

namespace vgpu::cuda {

// The per-node setters' messages, for a graph's node (exec 0: graph_params_api.cpp) and for an
// executable graph's (its id: graph_update_api.cpp): each checks and converts the parameters as
// adding that node does (the same request fields, the same refusals), sends them, and on success
// fills `record` (when given) with what was set. `device` is the graph's or executable graph's.
// The caller holds the node's graph's mutex.
CUresult set_kernel_node(guest::Channel& ch, uint32_t exec, GraphNodeObject& node, uint32_t device,
                         const CUDA_KERNEL_NODE_PARAMS& p, NodeRecord* record);
CUresult set_memset_node(guest::Channel& ch, uint32_t exec, GraphNodeObject& node, const CUDA_MEMSET_NODE_PARAMS& p,
                         NodeRecord* record);
// A copy with a pageable end, to or from one, is CUDA_ERROR_NOT_SUPPORTED (said once): its
// node is several of vgpud's (pageable_stage.h).
CUresult set_memcpy_node(guest::Channel& ch, uint32_t exec, GraphNodeObject& node, const CUDA_MEMCPY3D& p,
                         NodeRecord* record);
CUresult set_event_node(guest::Channel& ch, uint32_t exec, GraphNodeObject& node, CUevent event, NodeRecord* record);
// Registers fn(data) as a host function held once for the caller and points the node at it:
// `*id` the new function's id, to be adopted by whoever now holds it.
CUresult set_host_node(guest::Channel& ch, uint32_t exec, GraphNodeObject& node, CUhostFn fn, void* data, uint64_t* id);
// Whether a memcpy node has a pageable end (asks vgpud for a captured one's parameters).
bool memcpy_node_staged(guest::Channel& ch, GraphNodeObject& node);

}  // namespace vgpu::cuda
