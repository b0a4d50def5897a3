// The driver objects a program holds as opaque pointers (CUstream, CUevent, CUmodule,
// CUlibrary, CUfunction, CUkernel, CUgraph, CUgraphExec): each points at a guest object holding vgpud's id. Every
// one starts with a tag, so a handle of the wrong kind (or a stale one) is told from a good one
// before its id is used, and a CUkernel is accepted where a CUfunction is, as the driver
// accepts it (NVIDIA's runtime launches kernels by their CUkernel).
#pragma once
#include <cuda.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "guest/cuda/host_functions.h"
#include "guest/cuda/launch_check.h"
#include "guest/cuda/module_image.h"
#include "vgpu/protocol/limits.h"
#include "vgpu/protocol/messages.h"

namespace vgpu::cuda {

enum class HandleKind : uint32_t {
  Stream = 0x56535452,    // "VSTR"
  Event = 0x56455654,     // "VEVT"
  Module = 0x564d4f44,    // "VMOD"
  Library = 0x564c4942,   // "VLIB"
  Function = 0x5646554e,  // "VFUN"
  Kernel = 0x564b524e,    // "VKRN"
  Link = 0x564c4e4b,      // "VLNK"
  Graph = 0x56475248,     // "VGRH"
  GraphNode = 0x56474e44, // "VGND"
  GraphExec = 0x56475845, // "VGXE"
  MemPool = 0x564d504c,   // "VMPL" (mem_pools.h)
  Array = 0x56415252,     // "VARR" (arrays.h)
  MipmappedArray = 0x564d4950,  // "VMIP" (arrays.h)
  UserObject = 0x56554f42,      // "VUOB" (user_object_api.cpp)
  Dead = 0,               // freed: a stale handle reads this tag, never a live one
};

struct StreamObject {
  HandleKind kind = HandleKind::Stream;
  uint64_t wire = 0;  // vgpud's stream id
  uint32_t device = 0;
  unsigned flags = 0;               // CU_STREAM_DEFAULT or CU_STREAM_NON_BLOCKING
  int priority = 0;                 // as clamped to the device's range
  struct Context* context = nullptr;  // the context it was created in (null: a default stream)
};

struct EventObject {
  HandleKind kind = HandleKind::Event;
  uint32_t wire = 0;
  uint32_t device = 0;
  // Made with CU_EVENT_INTERPROCESS or opened from another process (ipc_api.cpp): its records are
  // answered, so that one has reached the driver before the program tells another process.
  bool interprocess = false;
};

// A graph, captured or built node by node, and an executable graph, all held by vgpud; device
// is the one they were made on. A graph built here knows its nodes; a captured one does not
// (the host driver made them).
struct GraphNodeObject {
  HandleKind kind = HandleKind::GraphNode;
  uint32_t wire = 0;  // vgpud's node; the one that waits for this node's dependencies
  CUgraphNodeType type = CU_GRAPH_NODE_TYPE_EMPTY;
  struct GraphObject* graph = nullptr;
  // When the node is two of vgpud's (a copy of pageable memory and the host function that moves
  // its bytes, pageable_stage.h), the second, which nodes that depend on this one wait for.
  uint32_t second = 0;
  uint32_t last() const { return second != 0 ? second : wire; }
  // What the program set on a node it added or set (graph_params.h): its getters answer from it.
  // Null where vgpud's driver alone holds the parameters (a captured or cloned graph's node).
  std::shared_ptr<struct NodeRecord> record{};
  // A graph memory node's address (allocated or freed); 0 until known (graph_view.h fills it in
  // for nodes the driver made).
  uint64_t address = 0;
  // A conditional node's body graphs, the array cuGraphAddNode's phGraph_out points at (the
  // graphs themselves are held by the node's graph, GraphObject::held).
  std::vector<CUgraph> bodies{};
};
struct GraphObject {
  GraphObject(uint32_t wire_id, uint32_t on_device, bool was_captured)
      : wire(wire_id), device(on_device), captured(was_captured) {}
  HandleKind kind = HandleKind::Graph;
  uint32_t wire = 0;
  uint32_t device = 0;
  bool captured = false;
  std::mutex mutex;
  std::vector<std::unique_ptr<GraphNodeObject>> nodes;  // die with it, as the driver's do
  HostFunctionRefs host_functions;  // its host nodes' functions (guarded by mutex)
  // Graphs its nodes hold (a child graph node's, a conditional node's bodies: the driver's, which
  // the program may add nodes to), each with the node that holds it; they die with it or their
  // node (guarded by mutex).
  std::vector<std::unique_ptr<GraphObject>> held;
  const GraphNodeObject* owner = nullptr;  // for a held graph: the node that holds it
  ~GraphObject() {
    for (auto& n : nodes) n->kind = HandleKind::Dead;
    for (auto& g : held) g->kind = HandleKind::Dead;
  }
};
struct GraphExecObject {
  HandleKind kind = HandleKind::GraphExec;
  uint32_t wire = 0;
  uint32_t device = 0;
  // Its graph's, when it was instantiated: one per host node; and, not run, those its nodes were
  // set to since (graph_update_api.cpp), which a launch in flight may still run.
  HostFunctionRefs host_functions;
  unsigned long long flags = 0;  // as instantiated (cuGraphExecGetFlags)
  uint32_t graph_wire = 0;       // the graph it was made from: its nodes name this one's
};

// A kernel vgpud resolved: its id and parameter layout (cuFuncGetParamInfo's, on the host).
struct FunctionObject {
  HandleKind kind = HandleKind::Function;
  uint32_t wire = 0;
  uint32_t device = 0;
  uint32_t param_buffer_size = 0;
  std::vector<proto::KernelParamInfo> params;
  struct ModuleObject* module = nullptr;
  std::string name;  // as the module names it (mangled)
  cuda::SharedLimitCache max_dynamic_shared;  // vgpud's value, fetched on first need
  // Every attribute, fetched from vgpud on the first cuFuncGetAttribute and kept: they are
  // fixed when the module loads, but for the two cuFuncSetAttribute changes, which update it.
  std::mutex attributes_mutex;
  std::unique_ptr<proto::FuncGetAttributesReply> attributes;
};

// Functions and events by vgpud's id, for what vgpud names by id (a captured graph node's kernel
// or event, graph_params_api.cpp): registered when made, forgotten when destroyed (a function
// with its module). Null for an id of none.
void register_function(FunctionObject* f) noexcept;
void forget_function(const FunctionObject* f) noexcept;
FunctionObject* function_by_wire(uint32_t wire) noexcept;
void register_event(EventObject* e) noexcept;
void forget_event(const EventObject* e) noexcept;
EventObject* event_by_wire(uint32_t wire) noexcept;

struct ModuleObject {
  HandleKind kind = HandleKind::Module;
  uint32_t wire = 0;
  uint32_t device = 0;
  struct LibraryObject* library = nullptr;  // set for a library's module on one device
  // Its functions die with it, as the driver's do.
  std::mutex mutex;
  std::vector<std::unique_ptr<FunctionObject>> functions;
  ~ModuleObject() {
    for (auto& f : functions) {
      forget_function(f.get());
      f->kind = HandleKind::Dead;
    }
  }
};

struct KernelObject {
  HandleKind kind = HandleKind::Kernel;
  struct LibraryObject* library = nullptr;
  std::string name;
  std::mutex mutex;
  FunctionObject* functions[limits::kMaxDevices] = {};  // in its library's modules
  uint64_t generations[limits::kMaxDevices] = {};      // device_generation() each was made in
};

// A library is context-independent: loaded on each device when a kernel is first wanted
// there, from the image kept here.
struct LibraryObject {
  HandleKind kind = HandleKind::Library;
  std::vector<uint8_t> copy;  // the image, unless the program promised to keep its own
  ImageExtent extent;
  std::mutex mutex;
  ModuleObject* modules[limits::kMaxDevices] = {};
  uint64_t generations[limits::kMaxDevices] = {};  // device_generation() each was loaded in
  // Modules a device reset ended (vgpud forgot them): kept, dead, so that handles the program
  // still holds read as stale rather than as freed memory; they go with the library.
  std::vector<std::unique_ptr<ModuleObject>> retired;
  std::vector<std::unique_ptr<KernelObject>> kernels;  // die with it, as the driver's do
};

// The object behind a handle when it carries `Kind`'s tag; null otherwise (null included).
template <typename Object>
Object* object_of(void* handle, HandleKind kind) noexcept {
  if (handle == nullptr) return nullptr;
  auto* object = static_cast<Object*>(handle);
  return object->kind == kind ? object : nullptr;
}

}  // namespace vgpu::cuda
