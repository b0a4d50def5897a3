#include "vgpud/executor/channel_objects.h"

#include <algorithm>

#include "vgpu/protocol/limits.h"

namespace vgpud {

ChannelObjects::ChannelObjects()
    : streams(proto::kFirstStreamId, vgpu::limits::kMaxStreams),
      events(1, vgpu::limits::kMaxEvents),
      modules(1, vgpu::limits::kMaxModules),
      functions(1, vgpu::limits::kMaxFunctions),
      links(1, vgpu::limits::kMaxLinks),
      graphs(1, vgpu::limits::kMaxGraphs),
      graph_nodes(1, vgpu::limits::kMaxGraphNodes),
      graph_execs(1, vgpu::limits::kMaxGraphExecs),
      user_objects(1, vgpu::limits::kMaxUserObjects) {}

bool ChannelObjects::resolve_stream(uint64_t id, CUstream* out) {
  if (id == proto::kStreamLegacy || id == proto::kStreamLegacyAlias) {
    *out = nullptr;  // the context's legacy default stream
    return true;
  }
  Stream* s = streams.find(id);
  if (s == nullptr) return false;
  *out = s->handle;
  return true;
}

uint64_t ChannelObjects::forget_module(uint32_t id) {
  Module* m = modules.find(id);
  if (m == nullptr) return 0;
  for (uint64_t base : m->globals) memory.remove(base);
  // Functions of the module die with it; their ids simply stop resolving.
  const CUmodule gone = m->handle;
  const uint64_t footprint = m->device_bytes;
  modules.erase(id);
  functions.erase_if([gone](const Function& f) { return f.module == gone; });
  return footprint;
}

uint64_t ChannelObjects::forget_device(uint32_t device) {
  uint64_t freed = memory.remove_device(device);
  modules.for_each([&](uint32_t, Module& m) {
    if (m.device == device) freed += m.device_bytes;
  });
  streams.erase_if([device](const Stream& s) { return s.device == device; });
  events.erase_if([device](const Event& e) { return e.device == device; });
  modules.erase_if([device](const Module& m) { return m.device == device; });
  functions.erase_if([device](const Function& f) { return f.device == device; });
  forget_graphs_on(device);
  // The context's end freed the device's graph memory (its ranges left `memory` above).
  std::erase_if(graph_memory, [&](const auto& entry) {
    if (entry.second.device != device) return false;
    freed += entry.second.charged;
    return true;
  });
  return freed;
}

void ChannelObjects::forget_graphs_on(uint32_t device) {
  graph_execs.for_each([&](uint32_t id, GraphExec& e) {
    if (e.device == device) exec_graph_memory.erase(id);
  });
  graph_execs.erase_if([device](const GraphExec& e) { return e.device == device; });
  std::vector<uint32_t> gone;
  graphs.for_each([&](uint32_t id, Graph& g) {
    if (g.device == device) gone.push_back(id);
  });
  for (uint32_t id : gone) forget_graph(id);
}

void ChannelObjects::forget_graph(uint32_t id) {
  // The graph, then every graph a node of it held, and theirs in turn.
  std::vector<uint32_t> gone{id};
  for (size_t i = 0; i < gone.size(); ++i) {
    const uint32_t g = gone[i];
    if (graphs.erase(g) == 0) continue;
    std::vector<uint32_t> nodes;
    graph_nodes.for_each([&](uint32_t node, GraphNode& n) {
      if (n.graph == g) nodes.push_back(node);
    });
    graph_nodes.erase_if([g](const GraphNode& n) { return n.graph == g; });
    graphs.for_each([&](uint32_t held, Graph& h) {
      if (h.owner_node != 0 && std::find(nodes.begin(), nodes.end(), h.owner_node) != nodes.end())
        gone.push_back(held);
    });
    std::erase_if(conditional_handles, [g](const auto& entry) { return entry.second == g; });
    // The driver let go of the graph's references with it.
    user_objects.for_each([g](uint32_t, UserObject& o) { o.graph_refs.erase(g); });
  }
  user_objects.erase_if([](const UserObject& o) { return o.program_refs == 0 && o.graph_refs.empty(); });
}

void ChannelObjects::forget_node(uint32_t id) {
  graph_nodes.erase(id);
  std::vector<uint32_t> held;
  graphs.for_each([&](uint32_t g, Graph& h) {
    if (h.owner_node == id) held.push_back(g);
  });
  for (uint32_t g : held) forget_graph(g);
}

}  // namespace vgpud
