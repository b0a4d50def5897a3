#include "guest/cudart/state.h"

#include <algorithm>
#include <new>

#include "guest/client/log.h"
#include "guest/cudart/status_map.h"

namespace vgpu::cudart {
namespace {

// A plain atomic: constant-initialized, no destructor, usable at any point of exit.
std::atomic<Runtime*> g_runtime{nullptr};
CUresult g_init_result = CUDA_SUCCESS;  // written once, before g_runtime is published

// The device cudaSetDevice chose for this thread; -1 until then (device 0, as CUDA's default).
thread_local int t_device = -1;

Runtime* open_runtime() noexcept {
  // cuInit opens the process's channel (or finds it opened by another shim); a failure to
  // reach vgpud is reported there, once.
  g_init_result = cuInit(0);
  if (g_init_result != CUDA_SUCCESS) return nullptr;
  int count = 0;
  if (cuDeviceGetCount(&count) != CUDA_SUCCESS) count = 0;
  try {
    auto* rt = new Runtime;
    rt->device_count = std::clamp(count, 0, static_cast<int>(limits::kMaxDevices));
    return rt;
  } catch (const std::bad_alloc&) {
    guest::log(guest::LogLevel::Warn, "out of memory while setting up the CUDA runtime");
  }
  return nullptr;
}

}  // namespace

cudaError_t Runtime::primary(int device, CUcontext* out) {
  if (!has_device(device)) return cudaErrorInvalidDevice;
  std::lock_guard lock(mutex_);
  CUcontext& slot = primaries_[static_cast<size_t>(device)];
  if (slot == nullptr) {
    if (CUresult r = cuDevicePrimaryCtxRetain(&slot, device); r != CUDA_SUCCESS) {
      slot = nullptr;
      return to_cuda_error(r);
    }
  }
  *out = slot;
  return cudaSuccess;
}

void Runtime::forget_primary(int device) {
  if (!has_device(device)) return;
  std::lock_guard lock(mutex_);
  primaries_[static_cast<size_t>(device)] = nullptr;
}

Runtime* runtime(CUresult* init_error) noexcept {
  Runtime* rt = g_runtime.load(std::memory_order_acquire);
  if (rt == nullptr) {
    // A function-local static of pointer type: initialized once, thread-safe, never destroyed.
    // A failed initialization is remembered too, so it is reported once.
    static Runtime* const opened = [] {
      Runtime* made = open_runtime();
      g_runtime.store(made, std::memory_order_release);
      return made;
    }();
    rt = opened;
  }
  if (init_error != nullptr) *init_error = rt != nullptr ? CUDA_SUCCESS : g_init_result;
  return rt;
}

Runtime* runtime_if_open() noexcept { return g_runtime.load(std::memory_order_acquire); }

int thread_device() noexcept {
  CUcontext current = nullptr;
  CUdevice device = 0;
  if (cuCtxGetCurrent(&current) == CUDA_SUCCESS && current != nullptr && cuCtxGetDevice(&device) == CUDA_SUCCESS)
    return device;
  return t_device < 0 ? 0 : t_device;
}

cudaError_t select_device(Runtime& rt, int device) {
  CUcontext primary = nullptr;
  if (cudaError_t e = rt.primary(device, &primary); e != cudaSuccess) return e;
  if (CUresult r = cuCtxSetCurrent(primary); r != CUDA_SUCCESS) return to_cuda_error(r);
  t_device = device;
  return cudaSuccess;
}

cudaError_t bind_context(Runtime& rt) {
  CUcontext current = nullptr;
  if (cuCtxGetCurrent(&current) == CUDA_SUCCESS && current != nullptr) return cudaSuccess;
  return select_device(rt, t_device < 0 ? 0 : t_device);
}

}  // namespace vgpu::cudart
