#include "guest/cudart/status_map.h"

#include "guest/cudart/error_table.h"
#include "vgpu/protocol/messages.h"

namespace vgpu::cudart {

cudaError_t to_cuda_error(int32_t status) {
  using proto::Status;
  if (status == 0) return cudaSuccess;
  switch (static_cast<Status>(status)) {
    case Status::MalformedMessage:
    case Status::UnknownCall:
      return cudaErrorUnknown;  // a shim/daemon mismatch: nothing the application did
    case Status::VersionMismatch:
      return cudaErrorInsufficientDriver;  // vgpud is older or newer than this shim
    case Status::LimitExceeded:
      return cudaErrorMemoryAllocation;  // a tenant quota ran out
    case Status::ChannelBroken:
      return cudaErrorDevicesUnavailable;  // the GPU is gone for this process
    case Status::DriverUnavailable:
      return cudaErrorNoDevice;
    case Status::Ok:
      break;
  }
  if (status > 0 && is_cuda_error(status)) return static_cast<cudaError_t>(status);
  return cudaErrorUnknown;
}

}  // namespace vgpu::cudart
