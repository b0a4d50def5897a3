// Host functions (cuLaunchHostFunc, graph host nodes) run in the guest process, in stream order,
// with the stream held until they return, as the driver holds it for a local function.
//
// vgpud gives the driver its own callback, `run_in_guest`, with the guest's function id as the
// callback's data. When a stream (or graph) reaches it, the driver calls it on one of its own
// threads; it writes the id into the guest's queue in the shared heap
// (vgpu/protocol/host_func_queue.h) and waits, polling the guest's `completed` count, until the
// guest's host-function thread has run the function. The driver's thread blocking there is what
// holds the stream, so no GPU-side wait is needed, and vgpud's executor thread is never involved:
// a guest blocked in a synchronization waiting for that stream does not hold up its own function.
//
// A channel worker serves one channel (docs/design.md §6), so the queue is the process's one
// (`of_process`), which the driver's callbacks reach with nothing but the id; it is never
// destroyed, since a driver thread may still be inside a callback while the process exits.
#pragma once
#include <cuda.h>

#include <atomic>
#include <cstdint>
#include <mutex>

namespace vgpud {

class HostFunctionQueue {
 public:
  static HostFunctionQueue& of_process();

  // The guest's queue of `capacity` entries at `base` (a checked, 64-byte aligned range of the
  // channel's heap). False when the channel attached one already.
  bool attach(uint8_t* base, uint32_t capacity);
  bool attached() const;
  // Every wait for the guest ends, now and later: the guest is gone or the channel is ending,
  // so its streams must not be held by functions nobody will run.
  void release();
  // Functions the guest has been handed so far (for tests and the debug trace).
  uint64_t handed() const;

  // The CUhostFn vgpud gives the driver; `function` is the guest's id, cast to a pointer.
  static void CUDA_CB run_in_guest(void* function);
  // As run_in_guest, without waiting for the guest to have run it: a user object's destructor
  // (executor_graph_objects.cpp), which the driver calls on a thread of its own and nothing waits for.
  static void CUDA_CB post_in_guest(void* function);

 private:
  // Hands `function` to the guest; with `wait`, returns once the guest has run it.
  void run(uint64_t function, bool wait = true);
  // Waits until the guest has completed more than `count` entries, or release(). Polls: the
  // guest's word is shared memory and a VM guest has no way to wake vgpud but the ring's doorbell.
  void wait_completed_above(uint64_t count) const;

  mutable std::mutex mu_;  // one writer of entries at a time (the driver may call from several threads)
  uint8_t* base_ = nullptr;
  uint32_t capacity_ = 0;
  uint64_t produced_ = 0;  // vgpud's own count; the shared word is only ever written from it
  std::atomic<bool> released_{false};
};

}  // namespace vgpud
