// Handlers for host functions (host_functions.h): the guest's queue, host functions on streams
// and host nodes in graphs. The driver is handed vgpud's callback and the guest's id; the guest
// runs its own function when the callback hands it over.
#include "vgpu/protocol/host_func_queue.h"
#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/host_functions.h"
#include "vgpud/executor/reply_payload.h"

namespace vgpud {

int32_t ChannelExecutor::handle(const HostFuncQueueCmd& cmd, Reply&) {
  const uint64_t bytes = vgpu::proto::host_func_queue_bytes(cmd.capacity);
  if (cmd.heap_offset % vgpu::proto::kHostFuncQueueAlignment != 0 || !heap_range_ok(cmd.heap_offset, bytes))
    return CUDA_ERROR_INVALID_VALUE;
  // The heap's base is page-aligned, so the queue's words are aligned as the offset is.
  if (!HostFunctionQueue::of_process().attach(heap_at(cmd.heap_offset), cmd.capacity)) return CUDA_ERROR_INVALID_VALUE;
  return 0;
}

int32_t ChannelExecutor::handle(const LaunchHostFuncCmd& cmd, Reply&) {
  if (!HostFunctionQueue::of_process().attached()) return CUDA_ERROR_INVALID_VALUE;
  if (int32_t st = require_context()) return st;
  CUstream s;
  if (!objects_.resolve_stream(cmd.stream, &s)) return CUDA_ERROR_INVALID_HANDLE;
  return traced("cuLaunchHostFunc", cu_.cuLaunchHostFunc(s, &HostFunctionQueue::run_in_guest,
                                                         reinterpret_cast<void*>(cmd.function)));
}

int32_t ChannelExecutor::handle(const GraphAddHostNodeCmd& cmd, Reply& reply) {
  ChannelObjects::Graph* g = nullptr;
  if (int32_t st = graph_for_new_node(cmd.graph, &g)) return st;
  if (!HostFunctionQueue::of_process().attached()) return CUDA_ERROR_INVALID_VALUE;
  CUDA_HOST_NODE_PARAMS p{};
  p.fn = &HostFunctionQueue::run_in_guest;
  p.userData = reinterpret_cast<void*>(cmd.function);
  CUgraphNode node = nullptr;
  const CUresult r = traced("cuGraphAddHostNode", cu_.cuGraphAddHostNode(&node, g->handle, nullptr, 0, &p));
  return node_made(r, cmd.graph, node, reply);
}

}  // namespace vgpud
