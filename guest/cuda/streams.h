// A CUstream as vgpud names it.
#pragma once
#include <cuda.h>

#include <cstdint>

namespace vgpu::cuda {

// vgpud's id for the stream; false for a handle that is not a live stream of this process.
bool wire_stream(CUstream stream, uint64_t* wire) noexcept;

}  // namespace vgpu::cuda
