// The runtime API's state in this process. The runtime shim is layered on the driver shim
// (libcuda.so.1), as NVIDIA's runtime is layered on NVIDIA's driver: every call it makes goes
// through the driver API, so the channel, the contexts, the streams, the events and the memory
// the two shims see are one and the same (a cudaStream_t is a CUstream, a cudaMalloc pointer
// works in cuMemcpy). What lives here is what the runtime adds on top: which device each
// thread works on, the primary context it retains on each device, the device properties it
// assembles from the driver's attributes, and nvcc's registrations (registry.h).
//
// Created by the first API call that needs the driver (never by library load or by nvcc's
// registration constructors) and never destroyed: applications run atexit handlers that call
// into the runtime, some after destructors of statics would have run.
#pragma once
#include <cuda.h>
#include <driver_types.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>

#include "guest/client/process.h"
#include "guest/cudart/device_cache.h"
#include "vgpu/protocol/limits.h"

namespace vgpu::cudart {

struct Runtime {
  int device_count = 0;                   // cuDeviceGetCount's, at most limits::kMaxDevices
  std::atomic<unsigned> device_flags{0};  // cudaSetDeviceFlags: remembered, not sent
  DeviceCache devices;                    // cudaGetDeviceProperties' answers

  // Whether `device` is one of the process's devices (0 .. device_count - 1).
  bool has_device(int device) const { return device >= 0 && device < device_count; }

  // The device's primary context, retained on first use (once per process, as NVIDIA's
  // runtime does) and again after a cudaDeviceReset released it.
  cudaError_t primary(int device, CUcontext* out);
  // cudaDeviceReset: the device's primary context is reset; the next use retains it again.
  void forget_primary(int device);

 private:
  std::mutex mutex_;
  std::array<CUcontext, limits::kMaxDevices> primaries_{};
};

// cuInit on first use; nullptr when the driver cannot be initialized (no vgpud), said once.
// *init_error, when given, receives what cuInit answered.
Runtime* runtime(CUresult* init_error = nullptr) noexcept;
// The runtime if it exists; never initializes the driver.
Runtime* runtime_if_open() noexcept;
// True once the process has started exiting: no more traffic to vgpud from then on.
inline bool process_exiting() noexcept { return guest::process_exiting(); }

// The device the calling thread works on: its current context's, or the one cudaSetDevice
// chose (0 until then).
int thread_device() noexcept;
// cudaSetDevice: the thread works on `device` from now on, in its primary context.
cudaError_t select_device(Runtime& rt, int device);
// Makes sure the calling thread has a current context: the primary context of its device,
// unless the program made another one current through the driver API (which the runtime then
// uses, as NVIDIA's does).
cudaError_t bind_context(Runtime& rt);

}  // namespace vgpu::cudart
