// Kernel launches: one posted message, no round trip. The arguments are packed by the
// parameter layout vgpud reported for the function (guest/cuda/param_pack.h), or taken as the
// program packed them (CU_LAUNCH_PARAM_BUFFER_POINTER).
#include <atomic>
#include <cstring>
#include <span>
#include <vector>

#include "guest/client/log.h"
#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/managed_memory.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/modules.h"
#include "guest/cuda/streams.h"
#include "guest/cuda/launch_check.h"
#include "guest/cuda/param_pack.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace {

constexpr size_t kStackParamBytes = 4096;

// A launch the driver would refuse at the call (block or grid too large, more dynamic shared
// memory than the kernel may have) is refused here too: posted, it would fail on vgpud only,
// and the error would surface at some later, unrelated call.
CUresult check_config(guest::Channel& ch, FunctionObject& f, const unsigned grid[3], const unsigned block[3],
                      unsigned shared_mem) {
  const DeviceSnapshot* d = device(f.device);
  if (d == nullptr) return CUDA_ERROR_INVALID_DEVICE;
  if (CUresult r = check_launch_config(dim3(grid[0], grid[1], grid[2]), dim3(block[0], block[1], block[2]),
                                       launch_limits(d->info));
      r != CUDA_SUCCESS)
    return r;
  if (!needs_shared_limit(shared_mem)) return CUDA_SUCCESS;
  int64_t limit = f.max_dynamic_shared.get();
  if (limit == SharedLimitCache::kUnknown) {
    guest::Channel::set_thread_device(f.device);
    const proto::FunctionRequest request{f.wire, 0};
    proto::FuncGetAttributesReply reply{};
    const guest::CallResult r = ch.call(proto::CallId::FuncGetAttributes, {{&request, sizeof request}},
                                        std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
    if (r.status != 0) return to_cu_result(r.status);
    limit = f.max_dynamic_shared.learn(shared_limit_from(reply));
  }
  return check_dynamic_shared(shared_mem, limit);
}

// What cuLaunchKernelEx's attributes add to a launch; a plain launch has none of it.
struct LaunchExtras {
  unsigned cluster[3] = {0, 0, 0};
  bool cooperative = false;
  bool has_priority = false;
  int priority = 0;
  bool programmatic = false;  // programmatic stream serialization
  bool any() const { return cluster[0] != 0 || cooperative || has_priority || programmatic; }
};

CUresult launch(CUfunction handle, const unsigned grid[3], const unsigned block[3], unsigned shared_mem, CUstream stream,
                void** params, void** extra, const LaunchExtras& ex = {}) {
  guest::Channel* ch = nullptr;
  Context* c = nullptr;
  if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
  FunctionObject* f = nullptr;
  if (CUresult r = function_on(*ch, handle, c->device, &f); r != CUDA_SUCCESS) return r;
  if (f->device != c->device) return CUDA_ERROR_INVALID_HANDLE;  // a function of another device's context
  if (CUresult r = check_config(*ch, *f, grid, block, shared_mem); r != CUDA_SUCCESS) return r;
  proto::LaunchKernelRequest request{};
  if (!wire_stream(stream, &request.stream)) return CUDA_ERROR_INVALID_HANDLE;

  uint8_t on_stack[kStackParamBytes];
  std::vector<uint8_t> on_heap;
  std::span<uint8_t> packed(on_stack, f->param_buffer_size <= kStackParamBytes ? kStackParamBytes : 0);
  if (packed.empty()) {
    on_heap.resize(f->param_buffer_size);
    packed = on_heap;
  }
  if (CUresult r = pack_arguments(f->params, f->param_buffer_size, params, extra, packed); r != CUDA_SUCCESS) return r;

  const std::span<const uint8_t> tail(packed.data(), f->param_buffer_size);
  // A kernel may use any managed memory: what the CPU wrote goes to the GPU first (managed_memory.h).
  if (CUresult r = before_gpu_work_on(request.stream); r != CUDA_SUCCESS) return r;
  if (ex.any()) {
    proto::LaunchKernelExRequest r{};
    r.function = f->wire;
    r.shared_mem_bytes = shared_mem;
    for (int i = 0; i < 3; ++i) {
      r.grid[i] = grid[i];
      r.block[i] = block[i];
      r.cluster[i] = ex.cluster[i];
    }
    r.flags = (ex.cooperative ? proto::kLaunchCooperative : 0u) | (ex.has_priority ? proto::kLaunchPriority : 0u) |
              (ex.programmatic ? proto::kLaunchProgrammatic : 0u);
    r.priority = ex.priority;
    r.stream = request.stream;
    // Whether a cooperative grid fits on the GPU at once depends on the occupancy the driver
    // computes, and the driver answers it at the call (CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE,
    // which is not sticky): such launches are answered. They are rare, and wait for the
    // whole grid anyway.
    if (ex.cooperative)
      return to_cu_result(guest::call<proto::CallId::LaunchKernelEx>(*ch, r, tail, nullptr).status);
    return to_cu_result(guest::post<proto::CallId::LaunchKernelEx>(*ch, r, tail));
  }
  request.function = f->wire;
  request.shared_mem_bytes = shared_mem;
  for (int i = 0; i < 3; ++i) {
    request.grid[i] = grid[i];
    request.block[i] = block[i];
  }
  return to_cu_result(guest::post<proto::CallId::LaunchKernel>(*ch, request, tail));
}

}  // namespace

VGPU_DRIVER_API CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
                                        unsigned int by, unsigned int bz, unsigned int shared_mem, CUstream stream,
                                        void** params, void** extra) {
  const unsigned grid[3] = {gx, gy, gz};
  const unsigned block[3] = {bx, by, bz};
  return guarded([&] { return launch(f, grid, block, shared_mem, stream, params, extra); });
}

VGPU_DRIVER_API CUresult cuLaunchKernel_ptsz(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
                                             unsigned int bx, unsigned int by, unsigned int bz, unsigned int shared_mem,
                                             CUstream stream, void** params, void** extra) {
  return cuLaunchKernel(f, gx, gy, gz, bx, by, bz, shared_mem, per_thread(stream), params, extra);
}

// Attributes vgpud applies: cluster dimensions, cooperative launch, priority, programmatic stream
// serialization (the kernel may start before the stream's previous kernel has finished, and
// waits for its memory with cudaGridDependencySynchronize; captured, it makes a programmatic
// edge). Hints that change how fast a kernel runs but never what it computes (L2 access policy,
// memory sync domains, cluster scheduling and preferred cluster size, shared memory carve-out)
// are accepted and dropped: the launch runs as without them. One whose effect a program could observe (an event recorded by the
// kernels, a graph-only attribute) fails with CUDA_ERROR_NOT_SUPPORTED, named once.
VGPU_DRIVER_API CUresult cuLaunchKernelEx(const CUlaunchConfig* config, CUfunction f, void** params, void** extra) {
  if (config == nullptr) return CUDA_ERROR_INVALID_VALUE;
  LaunchExtras ex;
  for (unsigned i = 0; i < config->numAttrs; ++i) {
    if (config->attrs == nullptr) return CUDA_ERROR_INVALID_VALUE;
    const CUlaunchAttribute& a = config->attrs[i];
    switch (a.id) {
      case CU_LAUNCH_ATTRIBUTE_IGNORE:
        break;
      case CU_LAUNCH_ATTRIBUTE_COOPERATIVE:
        ex.cooperative = a.value.cooperative != 0;
        break;
      case CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION:
        ex.cluster[0] = a.value.clusterDim.x;
        ex.cluster[1] = a.value.clusterDim.y;
        ex.cluster[2] = a.value.clusterDim.z;
        break;
      case CU_LAUNCH_ATTRIBUTE_PRIORITY:
        ex.has_priority = true;
        ex.priority = a.value.priority;
        break;
      case CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION:
        ex.programmatic = a.value.programmaticStreamSerializationAllowed != 0;
        break;
      case CU_LAUNCH_ATTRIBUTE_ACCESS_POLICY_WINDOW:
      case CU_LAUNCH_ATTRIBUTE_SYNCHRONIZATION_POLICY:
      case CU_LAUNCH_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE:
      case CU_LAUNCH_ATTRIBUTE_MEM_SYNC_DOMAIN_MAP:
      case CU_LAUNCH_ATTRIBUTE_MEM_SYNC_DOMAIN:
      case CU_LAUNCH_ATTRIBUTE_PREFERRED_CLUSTER_DIMENSION:
      case CU_LAUNCH_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT:
      case CU_LAUNCH_ATTRIBUTE_NVLINK_UTIL_CENTRIC_SCHEDULING:
        break;
      default: {
        static std::atomic<bool> said{false};
        if (!said.exchange(true))
          guest::log(guest::LogLevel::Warn, "cuLaunchKernelEx: launch attribute %d is not supported by vgpu",
                     static_cast<int>(a.id));
        return CUDA_ERROR_NOT_SUPPORTED;
      }
    }
  }
  const unsigned grid[3] = {config->gridDimX, config->gridDimY, config->gridDimZ};
  const unsigned block[3] = {config->blockDimX, config->blockDimY, config->blockDimZ};
  // Clusters must tile the grid. The driver says so at the launch call, not later, and the
  // launch is posted: check here what needs nothing but the configuration.
  if (ex.cluster[0] != 0 || ex.cluster[1] != 0 || ex.cluster[2] != 0) {
    for (int i = 0; i < 3; ++i)
      if (ex.cluster[i] == 0 || grid[i] % ex.cluster[i] != 0) return CUDA_ERROR_INVALID_CLUSTER_SIZE;
  }
  return guarded([&] { return launch(f, grid, block, config->sharedMemBytes, config->hStream, params, extra, ex); });
}
VGPU_DRIVER_API CUresult cuLaunchKernelEx_ptsz(const CUlaunchConfig* config, CUfunction f, void** params, void** extra) {
  if (config == nullptr) return CUDA_ERROR_INVALID_VALUE;
  CUlaunchConfig own = *config;
  own.hStream = per_thread(config->hStream);
  return cuLaunchKernelEx(&own, f, params, extra);
}

VGPU_DRIVER_API CUresult cuLaunchCooperativeKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
                                                   unsigned int bx, unsigned int by, unsigned int bz,
                                                   unsigned int shared_mem, CUstream stream, void** params) {
  const unsigned grid[3] = {gx, gy, gz};
  const unsigned block[3] = {bx, by, bz};
  LaunchExtras ex;
  ex.cooperative = true;
  return guarded([&] { return launch(f, grid, block, shared_mem, stream, params, nullptr, ex); });
}
VGPU_DRIVER_API CUresult cuLaunchCooperativeKernel_ptsz(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
                                                        unsigned int bx, unsigned int by, unsigned int bz,
                                                        unsigned int shared_mem, CUstream stream, void** params) {
  return cuLaunchCooperativeKernel(f, gx, gy, gz, bx, by, bz, shared_mem, per_thread(stream),
                                   params);
}

