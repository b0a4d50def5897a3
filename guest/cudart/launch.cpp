// Kernel launches: the <<<>>> call configuration stack nvcc's stubs push and pop, and the
// launch entry points. The first launch of a kernel resolves it (module load, parameter
// layout); every later launch is one posted message and no round trip, except a kernel's first
// launch with dynamic shared memory, which also asks for the kernel's limit.
#include <cstdint>
#include <span>
#include <vector>

#include "guest/client/log.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/func_attributes.h"
#include "guest/cudart/launch_check.h"
#include "guest/cudart/param_pack.h"
#include "guest/cudart/registry.h"
#include "guest/cudart/status_map.h"
#include "guest/cudart/streams.h"
#include "vgpu/protocol/limits.h"

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

// Most kernels take a few dozen bytes of parameters; larger ones (up to 32 KiB) use the heap.
constexpr size_t kStackParamBytes = 4096;

// Dynamic shared memory above the kernel's limit is refused here, as CUDA refuses it at the
// launch call; posted, it would fail only on vgpud, and the error would surface at some later,
// unrelated call. Launches without dynamic shared memory skip this; the others ask vgpud only
// the first time per kernel (see needs_shared_limit).
cudaError_t check_shared_mem(guest::Channel& channel, const KernelInfo& kernel, size_t shared_mem) {
  if (!needs_shared_limit(shared_mem)) return cudaSuccess;
  int64_t limit = 0;
  if (cudaError_t e = dynamic_shared_limit(channel, kernel, &limit); e != cudaSuccess) return e;
  return check_dynamic_shared(shared_mem, limit);
}

cudaError_t launch(const void* host_fun, dim3 grid, dim3 block, void** args, size_t shared_mem,
                   cudaStream_t stream, bool per_thread_default) {
  return remote_call([&](Runtime& rt) {
    const KernelInfo* kernel = nullptr;
    if (cudaError_t e = registry().kernel(*rt.channel, host_fun, &kernel); e != cudaSuccess) return e;

    const DeviceInfo* device = nullptr;
    if (cudaError_t e = rt.devices.get(*rt.channel, guest::Channel::thread_device(), &device); e != cudaSuccess) {
      return e;
    }
    if (cudaError_t e = check_launch_config(grid, block, launch_limits(device->raw)); e != cudaSuccess) return e;
    if (shared_mem > UINT32_MAX) return cudaErrorInvalidValue;
    if (cudaError_t e = check_shared_mem(*rt.channel, *kernel, shared_mem); e != cudaSuccess) return e;

    uint64_t wire = 0;
    if (cudaError_t e = wire_stream(rt, stream, per_thread_default, &wire); e != cudaSuccess) return e;

    uint8_t on_stack[kStackParamBytes];
    std::vector<uint8_t> on_heap;
    std::span<uint8_t> params(on_stack, kernel->param_buffer_size <= kStackParamBytes ? kStackParamBytes : 0);
    if (params.empty()) {
      on_heap.resize(kernel->param_buffer_size);
      params = on_heap;
    }
    if (cudaError_t e = pack_params(kernel->params, kernel->param_buffer_size, args, params); e != cudaSuccess) {
      return e;
    }

    proto::LaunchKernelRequest request{};
    request.function = kernel->function;
    request.shared_mem_bytes = static_cast<uint32_t>(shared_mem);
    request.grid[0] = grid.x;
    request.grid[1] = grid.y;
    request.grid[2] = grid.z;
    request.block[0] = block.x;
    request.block[1] = block.y;
    request.block[2] = block.z;
    request.stream = wire;
    request.param_bytes = kernel->param_buffer_size;
    return to_cuda_error(rt.channel->post(proto::CallId::LaunchKernel,
                                          {{&request, sizeof request}, {params.data(), kernel->param_buffer_size}}));
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
