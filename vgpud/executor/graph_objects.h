// What a channel's graphs hold besides nodes and edges (docs/design.md §19): graph memory
// (allocation nodes, and allocations captured from cuMemAllocAsync), the conditional handles the
// channel made, and user objects. Plain bookkeeping kept in ChannelObjects; the handlers that
// use it live in executor_graph_memory.cpp and executor_graph_objects.cpp.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace vgpud {

// Graph memory at one address. Its bytes are charged to the tenant when the node that
// allocates it is made (the simplest point that is safe: nothing on the GPU can hold it before),
// and given back once no graph or executable graph of the channel holds it and it cannot be
// live. Several nodes may get one address (the driver reuses the address of an allocation freed
// earlier in the graph): each is charged, and all are given back together.
struct GraphAllocation {
  uint32_t device = 0;
  uint64_t size = 0;     // the largest node's: the range copies and memsets may touch
  uint64_t charged = 0;  // every node's bytes
  // An executable graph that does not free it (so a launch left it allocated) is gone: the GPU
  // may hold it until the program frees it outside a graph (cuMemFree, cuMemFreeAsync).
  bool may_be_live = false;
};

// What one executable graph holds of the channel's graph memory, learnt at instantiation.
struct GraphMemoryHold {
  std::vector<uint64_t> allocations;  // the addresses its allocation nodes allocate
  std::vector<uint64_t> leaves_live;  // those of them it has no free node for
};

// A user object (cuUserObjectCreate) and the references vgpud knows the program holds on it,
// itself and through its graphs: nothing more can be given back, since the driver's count would
// otherwise run below zero (its destructor would run while a graph still uses the object).
struct UserObject {
  CUuserObject handle = nullptr;
  uint64_t program_refs = 0;
  std::unordered_map<uint32_t, uint64_t> graph_refs;  // graph id -> references it was given
};

}  // namespace vgpud
