// Turns a driver result into the cudaError_t the runtime API returns.
#pragma once
#include <cuda.h>
#include <driver_types.h>

namespace vgpu::cudart {

// CUDA_SUCCESS -> cudaSuccess. A CUresult maps to the numerically equal cudaError_t: the
// modern runtime's codes equal the driver's wherever both exist (CUDA_ERROR_INVALID_HANDLE is
// cudaErrorInvalidResourceHandle, CUDA_ERROR_NOT_FOUND cudaErrorSymbolNotFound, ...); a
// CUresult with no runtime twin becomes cudaErrorUnknown.
cudaError_t to_cuda_error(CUresult result) noexcept;

}  // namespace vgpu::cudart
