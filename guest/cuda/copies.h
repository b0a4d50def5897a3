// The copies every copy entry point is made of (memory_api.cpp): each enters the calling
// thread's context and checks the stream; `wait` makes a host-to-device or device-to-device
// copy complete before it returns.
#pragma once
#include <cuda.h>

#include <cstddef>

namespace vgpu::cuda {

// True when p lies in a device allocation of this process (cuMemAlloc).
bool is_device_pointer(CUdeviceptr p);
CUresult to_device(CUdeviceptr dst, const void* src, size_t size, CUstream stream, bool wait);
CUresult to_host(void* dst, CUdeviceptr src, size_t size, CUstream stream);
CUresult device_to_device(CUdeviceptr dst, CUdeviceptr src, size_t size, CUstream stream, bool wait);

}  // namespace vgpu::cuda
