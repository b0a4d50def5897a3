// Handlers for conditional nodes and user objects (docs/design.md §19).
//
// A conditional handle is the driver's value, which kernels pass to cudaGraphSetConditional, so
// the guest gets it as it is; vgpud remembers which graph of the channel it was made for and
// takes no other in a conditional node. The node's body graphs become graphs of the channel's
// (nodes may be added to them, a capture may begin into them) that go with the node.
//
// A user object's destructor is the guest's: the driver is handed vgpud's callback with the
// guest's function id, which hands it to the guest's host-function queue without waiting (the
// driver calls destructors on a thread of its own, and nothing waits for them). vgpud counts the
// references the program holds, itself and through each graph, and lets none be given back
// that it does not hold: the driver would run the destructor while a graph still used the object.
#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/host_functions.h"
#include "vgpud/executor/reply_payload.h"

namespace vgpud {
namespace {

// References are counted in the driver's unsigned int: vgpud keeps every count below this.
constexpr uint64_t kMaxRefs = uint64_t{1} << 31;

}  // namespace

int32_t ChannelExecutor::handle(const GraphConditionalHandleCreateCmd& cmd, Reply& reply) {
  ChannelObjects::Graph* g = objects_.graphs.find(cmd.graph);
  if (g == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (int32_t st = require_context()) return st;
  if (objects_.conditional_handles.size() >= vgpu::limits::kMaxConditionalHandles) return limit_exceeded();
  CUgraphConditionalHandle handle = 0;
  const CUresult r = contexts_.in_context_of(g->device, [&] {
    return traced("cuGraphConditionalHandleCreate",
                  cu_.cuGraphConditionalHandleCreate(&handle, g->handle, contexts_.context_of(g->device),
                                                     cmd.default_value, cmd.flags));
  });
  if (r != CUDA_SUCCESS) return r;
  objects_.conditional_handles[handle] = cmd.graph;
  put(reply.payload, proto::GraphConditionalHandleCreateReply{handle});
  return 0;
}

int32_t ChannelExecutor::handle(const GraphAddConditionalNodeCmd& cmd, Reply& reply) {
  ChannelObjects::Graph* g = nullptr;
  if (int32_t st = graph_for_new_node(cmd.graph, &g)) return st;
  auto handle = objects_.conditional_handles.find(cmd.handle);
  if (handle == objects_.conditional_handles.end() || handle->second != cmd.graph) return CUDA_ERROR_INVALID_VALUE;
  const bool size_ok = (cmd.type == CU_GRAPH_COND_TYPE_IF && cmd.size <= 2) ||
                       (cmd.type == CU_GRAPH_COND_TYPE_WHILE && cmd.size == 1) || cmd.type == CU_GRAPH_COND_TYPE_SWITCH;
  if (!size_ok) return CUDA_ERROR_INVALID_VALUE;
  if (objects_.graphs.size() + cmd.size > vgpu::limits::kMaxGraphs) return limit_exceeded();
  CUgraphNodeParams p{};
  p.type = CU_GRAPH_NODE_TYPE_CONDITIONAL;
  p.conditional.handle = cmd.handle;
  p.conditional.type = static_cast<CUgraphConditionalNodeType>(cmd.type);
  p.conditional.size = cmd.size;
  p.conditional.ctx = contexts_.context_of(g->device);
  CUgraphNode node = nullptr;
  const CUresult r = contexts_.in_context_of(g->device, [&] {
    p.conditional.ctx = contexts_.context_of(g->device);
    return traced("cuGraphAddNode", cu_.cuGraphAddNode(&node, g->handle, nullptr, nullptr, 0, &p));
  });
  if (r != CUDA_SUCCESS) return r;
  if (p.conditional.phGraph_out == nullptr) return CUDA_ERROR_UNKNOWN;
  const uint32_t device = g->device;
  const uint32_t id = objects_.graph_nodes.insert({node, cmd.graph});
  put(reply.payload, proto::GraphAddConditionalNodeReply{id, cmd.size});
  for (uint32_t i = 0; i < cmd.size; ++i)
    put(reply.payload, objects_.graphs.insert({p.conditional.phGraph_out[i], device, 0, id}));
  return 0;
}

int32_t ChannelExecutor::handle(const UserObjectCreateCmd& cmd, Reply& reply) {
  if (!HostFunctionQueue::of_process().attached()) return CUDA_ERROR_INVALID_VALUE;
  if (int32_t st = require_context()) return st;
  if (objects_.user_objects.full()) return limit_exceeded();
  CUuserObject object = nullptr;
  const CUresult r = traced("cuUserObjectCreate",
                            cu_.cuUserObjectCreate(&object, reinterpret_cast<void*>(cmd.function),
                                                   &HostFunctionQueue::post_in_guest, cmd.count,
                                                   CU_USER_OBJECT_NO_DESTRUCTOR_SYNC));
  if (r != CUDA_SUCCESS) return r;
  UserObject o;
  o.handle = object;
  o.program_refs = cmd.count;
  put(reply.payload, proto::UserObjectCreateReply{objects_.user_objects.insert(std::move(o)), 0});
  return 0;
}

int32_t ChannelExecutor::handle(const UserObjectRefsCmd& cmd, Reply&) {
  UserObject* o = objects_.user_objects.find(cmd.object);
  if (o == nullptr) return CUDA_ERROR_INVALID_VALUE;
  ChannelObjects::Graph* g = nullptr;
  if (cmd.op >= 2) {
    g = objects_.graphs.find(cmd.graph);
    if (g == nullptr) return CUDA_ERROR_INVALID_VALUE;
  }
  uint64_t& graph_refs = cmd.op >= 2 ? o->graph_refs[cmd.graph] : o->program_refs;
  CUresult r = CUDA_SUCCESS;
  switch (cmd.op) {
    case 0:  // the program takes more
      if (o->program_refs + cmd.count >= kMaxRefs) return limit_exceeded();
      r = traced("cuUserObjectRetain", cu_.cuUserObjectRetain(o->handle, cmd.count));
      if (r == CUDA_SUCCESS) o->program_refs += cmd.count;
      break;
    case 1:  // the program gives some back
      if (cmd.count > o->program_refs) return CUDA_ERROR_INVALID_VALUE;
      r = traced("cuUserObjectRelease", cu_.cuUserObjectRelease(o->handle, cmd.count));
      if (r == CUDA_SUCCESS) o->program_refs -= cmd.count;
      break;
    case 2:  // a graph takes new ones
    case 3:  // or the program's
      if (cmd.op == 3 && cmd.count > o->program_refs) return CUDA_ERROR_INVALID_VALUE;
      if (graph_refs + cmd.count >= kMaxRefs) return limit_exceeded();
      r = traced("cuGraphRetainUserObject",
                 cu_.cuGraphRetainUserObject(g->handle, o->handle, cmd.count, cmd.op == 3 ? CU_GRAPH_USER_OBJECT_MOVE : 0));
      if (r == CUDA_SUCCESS) {
        graph_refs += cmd.count;
        if (cmd.op == 3) o->program_refs -= cmd.count;
      }
      break;
    default:  // a graph gives some back
      if (cmd.count > graph_refs) {
        r = CUDA_ERROR_INVALID_VALUE;
        break;
      }
      r = traced("cuGraphReleaseUserObject", cu_.cuGraphReleaseUserObject(g->handle, o->handle, cmd.count));
      if (r == CUDA_SUCCESS) graph_refs -= cmd.count;
      break;
  }
  if (cmd.op >= 2 && o->graph_refs[cmd.graph] == 0) o->graph_refs.erase(cmd.graph);
  // No reference of the program's left: its id goes (the driver may still hold the object for
  // executable graphs and clones, and destroys it after them).
  if (o->program_refs == 0 && o->graph_refs.empty()) objects_.user_objects.erase(cmd.object);
  return r;
}

}  // namespace vgpud
