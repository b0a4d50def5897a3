// Turns a status from the wire (a CUresult value, or one of vgpu's proto::Status values) into
// the cudaError_t the runtime API returns.
#pragma once
#include <driver_types.h>

#include <cstdint>

namespace vgpu::cudart {

// 0 -> cudaSuccess. A CUresult maps to the numerically equal cudaError_t: the modern runtime's
// codes equal the driver's wherever both exist; a CUresult with no runtime twin becomes
// cudaErrorUnknown. vgpu's own statuses map to the runtime error that tells the application
// the most about what to do.
cudaError_t to_cuda_error(int32_t status);

}  // namespace vgpu::cudart
