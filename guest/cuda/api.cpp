#include "guest/cuda/api.h"

#include "guest/cuda/driver_state.h"
#include "vgpu/protocol/messages.h"

namespace vgpu::cuda {

CUresult to_cu_result(int32_t status) noexcept {
  using proto::Status;
  if (status == 0) return CUDA_SUCCESS;
  switch (static_cast<Status>(status)) {
    case Status::MalformedMessage:
    case Status::UnknownCall:
      return CUDA_ERROR_UNKNOWN;  // a shim/daemon mismatch: nothing the program did
    case Status::VersionMismatch:
      return CUDA_ERROR_SYSTEM_DRIVER_MISMATCH;  // vgpud is older or newer than this shim
    case Status::LimitExceeded:
      return CUDA_ERROR_OUT_OF_MEMORY;  // a tenant quota ran out
    case Status::ChannelBroken:
      return CUDA_ERROR_DEVICE_UNAVAILABLE;  // the GPU is gone for this process
    case Status::DriverUnavailable:
      return CUDA_ERROR_NO_DEVICE;
    case Status::Ok:
      break;
  }
  // Anything else vgpud sends is a CUresult from its driver.
  return status > 0 && status < 0x10000 ? static_cast<CUresult>(status) : CUDA_ERROR_UNKNOWN;
}

CUresult enter_context(guest::Channel** channel_out, Context** context_out) noexcept {
  guest::Channel* ch = channel();
  if (ch == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
  Context* c = current_context();
  if (c == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  guest::Channel::set_thread_device(c->device);
  *channel_out = ch;
  if (context_out != nullptr) *context_out = c;
  return CUDA_SUCCESS;
}

}  // namespace vgpu::cuda
