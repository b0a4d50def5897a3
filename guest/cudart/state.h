// The runtime API's state in this process: the guest-side caches built on the process's channel
// to vgpud. The channel itself, and the "process is exiting" flag, belong to the client library
// (guest/client/process.h), which every shim in the process shares.
//
// Created by the first API call that needs vgpud (never by library load or by nvcc's
// registration constructors) and never destroyed. Applications run atexit handlers that
// call into the runtime (nvcc registers __cudaUnregisterFatBinary with atexit), and some
// of those run after destructors of statics would have: state that is never destroyed
// cannot be used after it is gone.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "guest/client/channel.h"
#include "guest/client/process.h"
#include "guest/cudart/address_map.h"
#include "guest/cudart/device_cache.h"
#include "guest/client/host_heap.h"
#include "vgpu/protocol/limits.h"

namespace vgpu::cudart {

struct Runtime {
  explicit Runtime(guest::Channel& channel);

  guest::Channel* const channel;            // the process's (guest::process_channel())
  uint32_t device_count = 0;                // from Hello, at most limits::kMaxDevices
  guest::HostHeap* const host_heap;         // cudaMallocHost: the process's, shared with the driver shim
  AddressMap allocations;                   // cudaMalloc'd ranges
  AddressMap symbols;                       // resolved __device__ / __constant__ variables
  DeviceCache devices;
  // Per device, bumped by its cudaDeviceReset: per-thread streams created before it are gone.
  std::array<std::atomic<uint64_t>, limits::kMaxDevices> stream_generation{};
  std::atomic<unsigned> device_flags{0};  // cudaSetDeviceFlags: remembered, not sent

  guest::HeapRange heap() const { return host_heap ? host_heap->range() : guest::HeapRange{}; }
  // Whether `device` is one of the guest's devices (0 .. device_count - 1).
  bool has_device(int device) const { return device >= 0 && static_cast<uint32_t>(device) < device_count; }
};

// Opens the channel on first use; nullptr when vgpud cannot be reached (said once, at Warn).
Runtime* runtime() noexcept;
// The runtime if it exists; never opens the channel.
Runtime* runtime_if_open() noexcept;
// True once the process has started exiting: no more traffic to vgpud from then on.
inline bool process_exiting() noexcept { return guest::process_exiting(); }

}  // namespace vgpu::cudart
