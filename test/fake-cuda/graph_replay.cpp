// fake-cuda (test double, never ships): an executable graph's nodes run, in the order its
// instantiation gave them (graph.cpp), on the calling thread, as the fake runs all work: a
// kernel as a launch, a host node's function with no lock of the fake held, copies, memsets and
// event nodes as their stream calls, a child graph's nodes in place, a conditional's body as its
// handle says (graph_conditional.cpp).
#include <chrono>

#include "graph.h"

using namespace vgpu::fake;

namespace {

// A node that finds its device memory gone faults, as its work would on a GPU.
void replay_fault(Context& ctx, const char* what) {
  verbose("graph %s: device memory gone; the process's contexts are now broken (CUDA_ERROR_ILLEGAL_ADDRESS)", what);
  ctx.sticky = CUDA_ERROR_ILLEGAL_ADDRESS;
  poison_process(CUDA_ERROR_ILLEGAL_ADDRESS);
}

void replay_copy(Context& ctx, const CopyNode& c) {
  const RegionReader held = read_regions();
  if ((c.dst_device && !region_owner(held, c.dst, c.dst_span())) ||
      (c.src_device && !region_owner(held, c.src, c.src_span()))) {
    replay_fault(ctx, "memcpy node");
    return;
  }
  copy_rows(c);
}

void replay_memset(Context& ctx, const MemsetNode& m) {
  const std::size_t span = (m.height - 1) * m.pitch + m.width * m.elem;  // checked at capture
  const RegionReader held = read_regions();
  if (!region_owner(held, m.dst, span)) {
    replay_fault(ctx, "memset node");
    return;
  }
  fill_rows(m);
}

// As cuEventRecord outside a capture: the event counts as recorded now, with a timestamp, and
// is no longer the capture's. One destroyed since the node was captured or added is skipped.
void replay_event_record(Context& ctx, const EventRecordNode& r) {
  auto it = ctx.events.find(r.event);
  if (it == ctx.events.end()) {
    verbose("graph event record node: event %p destroyed since; skipped", static_cast<void*>(r.event));
    return;
  }
  it->second.recorded = true;
  it->second.when = std::chrono::steady_clock::now();
  it->second.captured = false;
  it->second.capture.reset();
}

// As cuStreamWaitEvent outside a capture: nothing to wait for, the record having run (see
// replay). An event destroyed since the node was added is only noted: the driver leaves that
// undefined, and the fake neither fails the launch nor faults.
void replay_event_wait(const Context& ctx, const EventWaitNode& w) {
  if (ctx.events.count(w.event) == 0) {
    verbose("graph event wait node: event %p destroyed since; ignored", static_cast<void*>(w.event));
  }
}

// Runs the nodes in order. An empty node does nothing, and in effect neither does a wait node:
// the nodes before it have run, and so has whatever recorded its event. A fault stops the rest,
// as on a GPU; the launch itself succeeded and the error surfaces at the next call, as with
// cuLaunchKernel. The caller holds l.lock and nothing else (not g_mu: `nodes` is the executable
// graph's shared copy), so that a host node, which lets go of l.lock while its function runs,
// runs with no lock of the fake held; l.lock is taken again after it (and after a sleeping
// kernel), and a context destroyed meanwhile ends the launch with CUDA_ERROR_INVALID_CONTEXT.
}  // namespace

CUresult vgpu::fake::graph_replay(Locked& l, const std::vector<Node>& nodes) {
  for (const Node& node : nodes) {
    if (l->sticky != CUDA_SUCCESS || process_poison() != CUDA_SUCCESS) break;
    if (node.disabled) continue;  // an empty node until enabled again (cuGraphNodeSetEnabled)
    if (const auto* k = std::get_if<KernelNode>(&node.op)) {
      run_kernel(l, k->fn, k->grid, k->block, k->smem, k->args);
    } else if (const auto* h = std::get_if<HostNode>(&node.op)) {
      run_host_fn(l, *h);
    } else if (const auto* c = std::get_if<CopyNode>(&node.op)) {
      replay_copy(*l.ctx, *c);
    } else if (const auto* m = std::get_if<MemsetNode>(&node.op)) {
      replay_memset(*l.ctx, *m);
    } else if (const auto* e = std::get_if<EventRecordNode>(&node.op)) {
      replay_event_record(*l.ctx, *e);
    } else if (const auto* w = std::get_if<EventWaitNode>(&node.op)) {
      replay_event_wait(*l.ctx, *w);
    } else if (const auto* child = std::get_if<ChildNode>(&node.op)) {
      if (CUresult r = graph_replay(l, *child->nodes); r != CUDA_SUCCESS) return r;
    } else if (const auto* cond = std::get_if<ConditionalNode>(&node.op)) {
      if (CUresult r = replay_conditional(l, *cond); r != CUDA_SUCCESS) return r;
    }
    if (!l.lock.owns_lock()) {  // a sleeping kernel or a host function let go of the context
      l.lock.lock();
      if (l->destroyed) return CUDA_ERROR_INVALID_CONTEXT;
    }
  }
  return CUDA_SUCCESS;
}
