// Kernel launches: the <<<>>> call configuration stack nvcc's stubs push and pop, and the
// launch entry points. A kernel is its library's CUkernel (registry.h); the driver resolves it
// on the thread's device, checks the configuration and posts the launch, so every launch after
// a kernel's first is one message and no round trip.
#include <cstdint>

#include "guest/client/log.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/registry.h"
#include "guest/cudart/streams.h"

namespace vgpu::cudart {
namespace {

// One <<<grid, block, shmem, stream>>> between push and pop. Plain data in a fixed array:
// thread-locals with destructors are unusable while threads exit. Pushes nest only when a
// launch's arguments launch kernels themselves.
struct CallConfig {
  uint32_t grid[3];
  uint32_t block[3];
  size_t shared_mem;
  void* stream;
};
constexpr unsigned kMaxConfigDepth = 32;
thread_local CallConfig t_configs[kMaxConfigDepth];
thread_local unsigned t_config_depth = 0;

// A launch, plain or cooperative (all the grid's blocks resident at once, for grid-wide
// synchronisation: the driver refuses a grid larger than that at the call).
cudaError_t launch(const void* host_fun, dim3 grid, dim3 block, void** args, size_t shared_mem,
                   cudaStream_t stream, bool per_thread_default, bool cooperative = false) {
  return context_call([&](Runtime&) {
    CUkernel kernel = nullptr;
    if (cudaError_t e = registry().kernel(host_fun, &kernel); e != cudaSuccess) return e;
    if (shared_mem > UINT32_MAX) return cudaErrorInvalidValue;
    // The driver takes a CUkernel where a CUfunction goes, and uses it on the current device.
    const auto f = reinterpret_cast<CUfunction>(kernel);
    const auto shmem = static_cast<unsigned>(shared_mem);
    const CUstream s = driver_stream(stream, per_thread_default);
    return to_cuda_error(cooperative ? cuLaunchCooperativeKernel(f, grid.x, grid.y, grid.z, block.x, block.y,
                                                                 block.z, shmem, s, args)
                                     : cuLaunchKernel(f, grid.x, grid.y, grid.z, block.x, block.y, block.z, shmem,
                                                      s, args, nullptr));
  });
}

void trace_launch(const char* api, const void* fn, dim3 g, dim3 b, size_t shmem, cudaStream_t stream) {
  guest::trace_api("%s func=%p grid=(%u,%u,%u) block=(%u,%u,%u) shmem=%zu stream=%p", api, fn, g.x, g.y, g.z, b.x,
                   b.y, b.z, shmem, static_cast<void*>(stream));
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT unsigned __cudaPushCallConfiguration(dim3 gridDim, dim3 blockDim, size_t sharedMem, CUstream_st* stream) {
  if (t_config_depth >= kMaxConfigDepth) {
    // Nonzero makes the <<<>>> expression skip the launch; say why through the last error.
    record_error(cudaErrorLaunchOutOfResources);
    return 1;
  }
  t_configs[t_config_depth++] =
      CallConfig{{gridDim.x, gridDim.y, gridDim.z}, {blockDim.x, blockDim.y, blockDim.z}, sharedMem, stream};
  return 0;
}

VGPU_EXPORT cudaError_t __cudaPopCallConfiguration(dim3* gridDim, dim3* blockDim, size_t* sharedMem, void* stream) {
  if (t_config_depth == 0) return cudaErrorMissingConfiguration;
  const CallConfig& c = t_configs[--t_config_depth];
  if (gridDim) *gridDim = dim3(c.grid[0], c.grid[1], c.grid[2]);
  if (blockDim) *blockDim = dim3(c.block[0], c.block[1], c.block[2]);
  if (sharedMem) *sharedMem = c.shared_mem;
  if (stream) *static_cast<cudaStream_t*>(stream) = static_cast<cudaStream_t>(c.stream);
  return cudaSuccess;
}

// The stub's kernel handle is the host function itself; launches resolve it.
VGPU_EXPORT cudaError_t __cudaGetKernel(cudaKernel_t* kernel, const void* hostFun) {
  trace_api("__cudaGetKernel host=%p", hostFun);
  if (kernel == nullptr) return cudaErrorInvalidValue;
  *kernel = reinterpret_cast<cudaKernel_t>(const_cast<void*>(hostFun));
  try {
    return registry().knows_function(hostFun) ? cudaSuccess : cudaErrorInvalidDeviceFunction;
  } catch (...) {
    return cudaErrorUnknown;
  }
}

VGPU_EXPORT cudaError_t __cudaLaunchKernel(cudaKernel_t kernel, dim3 gridDim, dim3 blockDim, void** args,
                                           size_t sharedMem, cudaStream_t stream) {
  trace_launch("cudaLaunchKernel", kernel, gridDim, blockDim, sharedMem, stream);
  return launch(kernel, gridDim, blockDim, args, sharedMem, stream, false);
}

VGPU_EXPORT cudaError_t __cudaLaunchKernel_ptsz(cudaKernel_t kernel, dim3 gridDim, dim3 blockDim, void** args,
                                                size_t sharedMem, cudaStream_t stream) {
  trace_launch("cudaLaunchKernel_ptsz", kernel, gridDim, blockDim, sharedMem, stream);
  return launch(kernel, gridDim, blockDim, args, sharedMem, stream, true);
}

VGPU_EXPORT cudaError_t cudaLaunchKernel(const void* func, dim3 gridDim, dim3 blockDim, void** args, size_t sharedMem,
                                         cudaStream_t stream) {
  trace_launch("cudaLaunchKernel", func, gridDim, blockDim, sharedMem, stream);
  return launch(func, gridDim, blockDim, args, sharedMem, stream, false);
}

VGPU_EXPORT cudaError_t cudaLaunchKernel_ptsz(const void* func, dim3 gridDim, dim3 blockDim, void** args,
                                              size_t sharedMem, cudaStream_t stream) {
  trace_launch("cudaLaunchKernel_ptsz", func, gridDim, blockDim, sharedMem, stream);
  return launch(func, gridDim, blockDim, args, sharedMem, stream, true);
}

VGPU_EXPORT cudaError_t cudaLaunchCooperativeKernel(const void* func, dim3 gridDim, dim3 blockDim, void** args,
                                                    size_t sharedMem, cudaStream_t stream) {
  trace_launch("cudaLaunchCooperativeKernel", func, gridDim, blockDim, sharedMem, stream);
  return launch(func, gridDim, blockDim, args, sharedMem, stream, false, true);
}

VGPU_EXPORT cudaError_t cudaLaunchCooperativeKernel_ptsz(const void* func, dim3 gridDim, dim3 blockDim, void** args,
                                                         size_t sharedMem, cudaStream_t stream) {
  trace_launch("cudaLaunchCooperativeKernel_ptsz", func, gridDim, blockDim, sharedMem, stream);
  return launch(func, gridDim, blockDim, args, sharedMem, stream, true, true);
}
