// The copies every copy entry point is made of (memory_api.cpp, copy2d_api.cpp). Each enters the
// calling thread's context and checks the stream. How the bytes travel depends on where the
// host end lives:
//   shared heap (cuMemAllocHost)  MemcpyHtoDShared / MemcpyDtoHShared: vgpud DMAs from or to it
//   other host memory             up to kMaxInlineCopy inside the message or its reply; larger
//                                 through the staging rings (Channel::copy_to/from_device)
// `wait` makes a copy complete before it returns (cuMemcpy*), else it is only ordered on its
// stream (cuMemcpy*Async). A copy into memory outside the heap always completes before it
// returns: the bytes must land in memory only this process can write.
#pragma once
#include <cuda.h>

#include <cstddef>

#include "guest/cuda/device_memory.h"

namespace vgpu::cuda {

CUresult to_device(CUdeviceptr dst, const void* src, size_t size, CUstream stream, bool wait);
CUresult to_host(void* dst, CUdeviceptr src, size_t size, CUstream stream, bool wait);
CUresult device_to_device(CUdeviceptr dst, CUdeviceptr src, size_t size, CUstream stream, bool wait);

}  // namespace vgpu::cuda
