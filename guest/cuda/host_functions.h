// Host functions (cuLaunchHostFunc, cudaStreamAddCallback, graph host nodes) run here, in the
// guest process, on one thread of the process's: vgpud's callback hands over each function's id
// through the queue in the shared heap (vgpu/protocol/host_func_queue.h) when the stream or graph
// reaches it and holds the stream until this thread says it has returned. docs/design.md §20.
//
// A function is known by an id of the process's. One launched on a stream runs once and is then
// forgotten; one that became a graph's node (added by hand, or launched into a capturing
// stream) is kept while the graph or an executable graph made from it holds it (HostFunctionRefs).
#pragma once
#include <cuda.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "guest/client/channel.h"

namespace vgpu::cuda {

// Ids held by a graph or an executable graph, each once per node that runs it. Copying takes
// another hold on each; destruction lets go of them.
class HostFunctionRefs {
 public:
  HostFunctionRefs() = default;
  HostFunctionRefs(const HostFunctionRefs& other);
  // Holds what `other` holds (a copy), letting go of what this one held.
  HostFunctionRefs& operator=(HostFunctionRefs other) noexcept {
    ids_.swap(other.ids_);
    std::swap(runs_, other.runs_);
    return *this;
  }
  ~HostFunctionRefs();
  // Takes over the hold `add_host_function(..., kept)` gave. `runs`: false for an entry that only
  // keeps something alive as long as the graph (add_graph_resource), which no node runs.
  void adopt(uint64_t id, bool runs = true) {
    ids_.push_back(id);
    runs_ += runs ? 1 : 0;
  }
  // Takes over what `other` holds (a child graph's, copied, for the node that runs it).
  void take(HostFunctionRefs&& other) {
    ids_.insert(ids_.end(), other.ids_.begin(), other.ids_.end());
    runs_ += other.runs_;
    other.ids_.clear();
    other.runs_ = 0;
  }
  // Takes another hold on each of `other`'s ids without counting them as runs: an executable
  // graph keeps what its nodes were set to (graph_update_api.cpp) as long as it lives, since a
  // launch in flight may still run what it held before.
  void keep(const HostFunctionRefs& other);
  // A node runs `new_id` (held once for the caller, add_host_function's `kept`) instead of
  // `old_id`: one hold of `old_id` is let go of. False, and nothing changed, when none is held.
  bool replace(uint64_t old_id, uint64_t new_id);
  // How many functions a launch of the graph hands the host-function thread.
  size_t size() const { return runs_; }

 private:
  std::vector<uint64_t> ids_;
  size_t runs_ = 0;
};

// Starts the process's host-function thread and hands vgpud its queue, once (an answered call
// on `ch`); CUDA_SUCCESS once that is done.
CUresult start_host_functions(guest::Channel& ch) noexcept;
// Registers fn(data): an id to send vgpud. `kept`: held once for the caller (a graph's node),
// until a HostFunctionRefs that adopted it lets go; otherwise it is forgotten after one run.
// `forget`, if given, is called with data when the function is forgotten.
uint64_t add_host_function(CUhostFn fn, void* data, bool kept, void (*forget)(void*) = nullptr);
// Something a graph keeps alive while it or an executable graph made from it lives, which no
// node runs: `forget(data)` when the last of them is gone (a held id, as add_host_function's).
inline uint64_t add_graph_resource(void (*forget)(void*), void* data) {
  return add_host_function(nullptr, data, /*kept=*/true, forget);
}
// A function that will not run after all (its launch was refused): forgotten.
void drop_host_function(uint64_t id) noexcept;
// The function and data registered under `id` (a graph's host node read back): false for an id
// that names none, or a graph's resource.
bool host_function_of(uint64_t id, CUhostFn* fn, void** data) noexcept;
// `count` more functions will be handed over (launches posted): the thread watches the queue
// closely until they have come.
void expect_host_functions(size_t count) noexcept;
// True on the host-function thread while it runs a function: CUDA calls are not permitted there.
bool in_host_function() noexcept;

}  // namespace vgpu::cuda
