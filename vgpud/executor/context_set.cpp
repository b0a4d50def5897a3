#include "vgpud/executor/context_set.h"

#include "vgpu/protocol/messages.h"
#include "vgpud/log/log.h"
#include "vgpud/protocol_alias.h"

namespace vgpud {

ContextSet::ContextSet(const CudaDriver& cu, const DriverTrace& trace, std::vector<CUdevice> devices,
                       uint8_t* region, size_t region_size)
    : cu_(cu),
      trace_(trace),
      devices_(std::move(devices)),
      region_(region),
      region_size_(region_size),
      contexts_(devices_.size(), nullptr) {}

CUresult ContextSet::make_current(uint32_t device) {
  if (device >= contexts_.size()) return CUDA_ERROR_INVALID_DEVICE;
  if (contexts_[device] == nullptr) {
    CUcontext ctx = nullptr;
    // cuCtxCreate also makes the new context current.
    const CUresult r = trace_("cuCtxCreate", cu_.cuCtxCreate(&ctx, 0, devices_[device]));
    if (r != CUDA_SUCCESS) return r;
    contexts_[device] = ctx;
    pin_region(device);
  }
  current_ = device;
  return trace_("cuCtxSetCurrent", cu_.cuCtxSetCurrent(contexts_[device]));
}

int32_t ContextSet::require_current() {
  if (current_ < contexts_.size() && contexts_[current_] != nullptr) return 0;
  const CUresult r = make_current(current_);
  return r == CUDA_SUCCESS ? 0 : static_cast<int32_t>(proto::Status::DriverUnavailable);
}

void ContextSet::pin_region(uint32_t device) {
  if (region_pinned_in_ || region_pin_failed_) return;
  // The whole region is pinned once, so staged and cudaMallocHost copies are DMA.
  // PORTABLE makes the registration valid for this channel's other contexts too; DEVICEMAP
  // gives the heap a device address, so kernels can use page-locked memory directly (mapped
  // memory, HEAP_DEVICE_POINTER).
  const CUresult r = trace_("cuMemHostRegister",
                            cu_.cuMemHostRegister(region_, region_size_,
                                                  CU_MEMHOSTREGISTER_PORTABLE | CU_MEMHOSTREGISTER_DEVICEMAP));
  if (r == CUDA_SUCCESS) {
    region_pinned_in_ = device;
    return;
  }
  region_pin_failed_ = true;
  log::executor().warn("vm={} could not pin the channel region ({}): copies will be slower",
                       trace_.channel(), cu_.error_name(r));
}

bool ContextSet::destroy(uint32_t device, bool keep_region_pinned) {
  if (device >= contexts_.size() || contexts_[device] == nullptr) return false;
  // The pinning belongs to the context that made it: undo it while that context still
  // lives, and pin again below in a surviving one.
  const bool was_pinned_here = region_pinned_in_ == device;
  if (was_pinned_here && cu_.cuCtxSetCurrent(contexts_[device]) == CUDA_SUCCESS) {
    cu_.cuMemHostUnregister(region_);
    region_pinned_in_.reset();
  }
  // Destroying a context frees every allocation, module, stream and event made in it.
  trace_("cuCtxDestroy", cu_.cuCtxDestroy(contexts_[device]));
  contexts_[device] = nullptr;
  if (was_pinned_here && keep_region_pinned) {
    for (uint32_t d = 0; d < contexts_.size() && !region_pinned_in_; ++d)
      if (contexts_[d] != nullptr && cu_.cuCtxSetCurrent(contexts_[d]) == CUDA_SUCCESS) pin_region(d);
    // Back to the device the guest works on; require_current() trusts that its context, when
    // it exists, is the current one.
    if (contexts_[current_] != nullptr) cu_.cuCtxSetCurrent(contexts_[current_]);
  }
  return true;
}

}  // namespace vgpud
