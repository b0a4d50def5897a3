// What a channel made through the driver, under the opaque ids its guest holds: allocations
// and module globals (the device memory map), modules, functions, streams, events, JIT links,
// graphs and executable graphs.
// Every guest-supplied id or range is looked up here before the driver sees it.
//
// Each object remembers the guest device (context) it was made on, so that a device reset
// forgets exactly that device's objects.
#pragma once
#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

#include "vgpu/protocol/messages.h"
#include "vgpud/executor/cuda_driver.h"
#include "vgpud/executor/device_memory_map.h"
#include "vgpud/executor/graph_objects.h"
#include "vgpud/executor/handle_table.h"
#include "vgpud/executor/link_state.h"
#include "vgpud/executor/virtual_memory.h"
#include "vgpud/protocol_alias.h"

namespace vgpud {

class ChannelObjects {
 public:
  struct Module {
    CUmodule handle;
    uint32_t device;
    std::vector<uint64_t> globals;  // device ranges registered in memory
    uint64_t device_bytes;          // what loading it made the GPU hold, taken from the budget
  };
  struct Function {
    CUfunction handle;
    CUmodule module;
    uint32_t device;
    std::vector<proto::KernelParamInfo> params;
    uint32_t buffer_size;
  };
  struct Stream {
    CUstream handle;
    uint32_t device;
  };
  struct Event {
    CUevent handle;
    uint32_t device;
  };
  struct Graph {
    CUgraph handle;
    uint32_t device;
    // Edges added by hand (GRAPH_ADD_DEPENDENCIES): only these can close a cycle, which the
    // driver accepts and then crashes instantiating (vgpud checks first).
    uint32_t hand_edges = 0;
    // A graph a node holds (a child graph node's, a conditional node's body): that node's id.
    // It goes with the node, and the channel never destroys it itself.
    uint32_t owner_node = 0;
    // The driver's id of the capture that builds into it, while one is open.
    uint64_t capture = 0;
    // Named while its capture was open (STREAM_CAPTURE_GRAPH): the capture owns it until it ends.
    bool capture_owned = false;
  };
  struct GraphNode {
    CUgraphNode handle;
    uint32_t graph;  // the id of the graph it belongs to
  };
  struct GraphExec {
    CUgraphExec handle;
    uint32_t device;
    // The graph it was made from: its nodes name the executable graph's to the per-node setters
    // (executor_graph_update.cpp), as the driver's do; they go with that graph.
    uint32_t graph = 0;
  };
  using Link = vgpud::Link;

  ChannelObjects();

  // The stream a guest id names: the legacy default stream's ids resolve to null (the current
  // context's); false for an id this channel does not hold.
  bool resolve_stream(uint64_t id, CUstream* out);
  // Forgets module `id` (already unloaded), its functions and its globals; returns the device
  // bytes its load took, to give back to the tenant.
  uint64_t forget_module(uint32_t id);
  // Forgets everything made on `device`, whose context is gone and took the objects with it;
  // returns the device bytes that frees (allocations and module footprints). Links are not
  // among them: a context does not take its links with it, so the executor destroys them
  // (cuLinkDestroy) before their context goes.
  uint64_t forget_device(uint32_t device);
  // Forgets graph `id` (already destroyed) and the nodes added to it, with the graphs its nodes
  // held (their ids go with them), its conditional handles and its user object references.
  void forget_graph(uint32_t id);
  // Forgets node `id` (already destroyed) and the graphs it held.
  void forget_node(uint32_t id);
  // Forgets the graphs and executable graphs made on `device` (already destroyed) and their nodes.
  void forget_graphs_on(uint32_t device);

  DeviceMemoryMap memory;
  HandleTable<uint64_t, Stream> streams;
  HandleTable<uint32_t, Event> events;
  HandleTable<uint32_t, Module> modules;
  HandleTable<uint32_t, Function> functions;
  HandleTable<uint32_t, Link> links;
  HandleTable<uint32_t, Graph> graphs;
  HandleTable<uint32_t, GraphNode> graph_nodes;  // nodes added by hand (GRAPH_ADD_*_NODE)
  HandleTable<uint32_t, GraphExec> graph_execs;
  VirtualMemory virtual_memory;  // reservations, cuMemCreate allocations and their mappings
  // Graph memory by address (each also a range of `memory`), and what executable graphs hold of it.
  std::map<uint64_t, GraphAllocation> graph_memory;
  std::unordered_map<uint32_t, GraphMemoryHold> exec_graph_memory;
  std::unordered_map<uint64_t, uint32_t> conditional_handles;  // the driver's value -> its graph
  HandleTable<uint32_t, UserObject> user_objects;
};

}  // namespace vgpud
