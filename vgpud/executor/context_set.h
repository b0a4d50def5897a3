// A channel's CUDA contexts: one per guest device, made on the first call that needs it, never
// at connect (a context costs about 0.5 GB of GPU memory on the H200 with driver 580, which
// limits.device_memory does not count). The channel region is pinned in one of them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "vgpud/executor/cuda_driver.h"
#include "vgpud/executor/driver_trace.h"

namespace vgpud {

class ContextSet {
 public:
  // `devices` are the tenant's GPUs in guest index order; `region` is the channel region,
  // pinned once in the first context made.
  ContextSet(const CudaDriver& cu, const DriverTrace& trace, std::vector<CUdevice> devices,
             uint8_t* region, size_t region_size);

  size_t device_count() const { return devices_.size(); }
  CUdevice device(uint32_t index) const { return devices_[index]; }
  // The guest device its thread works on.
  uint32_t current() const { return current_; }
  // The device's context; null until first used.
  CUcontext context_of(uint32_t device) const { return contexts_[device]; }

  // Makes `device` the guest's current one without making its context (cudaSetDevice alone
  // takes no GPU memory); index checked by the caller.
  void select(uint32_t device) { current_ = device; }
  // Makes `device` current, creating its context on first use.
  CUresult make_current(uint32_t device);
  // 0 when the current device's context exists (made now if needed), else the status to answer.
  int32_t require_current();
  // Runs fn (returning a CUresult) with `device`'s context current, then returns to the
  // guest's current device: objects are destroyed in the context that made them, whichever
  // device the guest's thread is on.
  template <typename Fn>
  CUresult in_context_of(uint32_t device, Fn&& fn) {
    const uint32_t here = current_;
    CUresult r = device == here ? CUDA_SUCCESS : make_current(device);
    if (r == CUDA_SUCCESS) r = fn();
    if (device != here) {
      const CUresult back = make_current(here);
      if (r == CUDA_SUCCESS) r = back;
    }
    return r;
  }

  // As in_context_of, where `device`'s context exists already (CUDA_ERROR_INVALID_CONTEXT
  // otherwise), and without ever making one: the guest's current device gets its context back
  // only if it has one. For links, which are used and destroyed in the context that made them,
  // also while the channel is torn down, when making a context would cost GPU memory for nothing.
  template <typename Fn>
  CUresult in_existing_context_of(uint32_t device, Fn&& fn) {
    if (device >= contexts_.size() || contexts_[device] == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
    // The guest's current device's context, when it exists, is the driver's current one
    // (make_current, destroy): nothing to switch for it.
    const bool switched = device != current_;
    CUresult r = switched ? trace_("cuCtxSetCurrent", cu_.cuCtxSetCurrent(contexts_[device])) : CUDA_SUCCESS;
    if (r == CUDA_SUCCESS) r = fn();
    if (switched && contexts_[current_] != nullptr) {
      const CUresult back = trace_("cuCtxSetCurrent", cu_.cuCtxSetCurrent(contexts_[current_]));
      if (r == CUDA_SUCCESS) r = back;
    }
    return r;
  }

  // Destroys one device's context, and with it every object made in it; false when it had
  // none. With keep_region_pinned, a surviving context takes over the region's pinning.
  bool destroy(uint32_t device, bool keep_region_pinned);
  // Bit d set: guest device d has its context (what TENANT_STATUS tells the tenant).
  uint32_t context_mask() const {
    uint32_t mask = 0;
    for (size_t d = 0; d < contexts_.size() && d < 32; ++d)
      if (contexts_[d] != nullptr) mask |= 1u << d;
    return mask;
  }
  // Whether the channel region is registered with the GPU (in some context of the channel).
  bool region_pinned() const { return region_pinned_in_.has_value(); }

 private:
  // Pins the channel region, once per channel, in `device`'s context, which is current.
  void pin_region(uint32_t device);

  const CudaDriver& cu_;
  const DriverTrace& trace_;
  std::vector<CUdevice> devices_;
  uint8_t* region_;
  size_t region_size_;
  std::vector<CUcontext> contexts_;  // per guest device index; null until first used
  uint32_t current_ = 0;
  // The device whose context pinned the channel region (PORTABLE: valid in all of them).
  std::optional<uint32_t> region_pinned_in_;
  bool region_pin_failed_ = false;  // said once; copies then go unpinned
};

}  // namespace vgpud
