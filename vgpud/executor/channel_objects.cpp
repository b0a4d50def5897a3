#include "vgpud/executor/channel_objects.h"

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
      graph_execs(1, vgpu::limits::kMaxGraphExecs) {}

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
  return freed;
}

void ChannelObjects::forget_graphs_on(uint32_t device) {
  graph_execs.erase_if([device](const GraphExec& e) { return e.device == device; });
  graphs.erase_if([device](const Graph& g) { return g.device == device; });
  graph_nodes.erase_if([this](const GraphNode& n) { return graphs.find(n.graph) == nullptr; });
}

void ChannelObjects::forget_graph(uint32_t id) {
  graphs.erase(id);
  graph_nodes.erase_if([id](const GraphNode& n) { return n.graph == id; });
}

}  // namespace vgpud
