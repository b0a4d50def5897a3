#include "guest/cuda/driver_state.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>

#include "guest/client/log.h"
#include "guest/client/process.h"
#include "guest/cuda/api.h"

namespace vgpu::cuda {
namespace {

// Written once under the init mutex, then read without it: the snapshot is immutable once
// init_result is published (release/acquire on init_result).
struct State {
  std::mutex init_mutex;
  std::atomic<int> init_result{CUDA_ERROR_NOT_INITIALIZED};
  bool attempted = false;
  guest::Channel* channel = nullptr;
  int driver_version = 0;
  uint32_t devices = 0;
  DeviceSnapshot snapshots[limits::kMaxDevices];
};

// Never destroyed: programs call the driver from atexit handlers and static destructors.
State& state() {
  static State* s = new State;
  return *s;
}

CUresult take_snapshot(guest::Channel& channel, uint32_t index, DeviceSnapshot* out) {
  const proto::DeviceGetInfoRequest request{index, 0};
  const guest::CallResult r =
      channel.call(proto::CallId::DeviceGetInfo, {{&request, sizeof request}},
                   std::span(reinterpret_cast<uint8_t*>(&out->info), sizeof out->info));
  if (r.status != 0) return to_cu_result(r.status);
  if (r.payload_size < offsetof(proto::DeviceGetInfoReply, attributes)) return CUDA_ERROR_UNKNOWN;
  out->info.name[sizeof out->info.name - 1] = '\0';
  out->info.attribute_count = std::min<uint32_t>(out->info.attribute_count, limits::kMaxDeviceAttributes);
  hide_unsupported_features(out->info);
  return CUDA_SUCCESS;
}

}  // namespace

CUresult init_status() noexcept {
  return static_cast<CUresult>(state().init_result.load(std::memory_order_acquire));
}

CUresult initialize() noexcept {
  State& s = state();
  if (init_status() == CUDA_SUCCESS) return CUDA_SUCCESS;
  std::lock_guard lock(s.init_mutex);
  if (s.attempted) return init_status();
  s.attempted = true;
  guest::Channel* channel = guest::process_channel();
  if (channel == nullptr) {
    // process_channel() said why, once. A machine with no reachable GPU: as the driver says it.
    s.init_result.store(CUDA_ERROR_NO_DEVICE, std::memory_order_release);
    return CUDA_ERROR_NO_DEVICE;
  }
  const proto::HelloReply& hello = channel->hello();
  const uint32_t count = std::min<uint32_t>(hello.device_count, limits::kMaxDevices);
  for (uint32_t d = 0; d < count; ++d) {
    if (CUresult r = take_snapshot(*channel, d, &s.snapshots[d]); r != CUDA_SUCCESS) {
      guest::log(guest::LogLevel::Warn, "cuInit: device %u could not be described by vgpud (%d)", d, r);
      s.init_result.store(r, std::memory_order_release);
      return r;
    }
  }
  s.channel = channel;
  s.devices = count;
  // A runtime refuses a driver older than itself; vgpud's driver runs the work, and the
  // guest's runtime can be no newer than the toolkit this shim was built with.
  s.driver_version = std::max(hello.driver_version, CUDA_VERSION);
  s.init_result.store(CUDA_SUCCESS, std::memory_order_release);
  return CUDA_SUCCESS;
}

guest::Channel* channel() noexcept { return init_status() == CUDA_SUCCESS ? state().channel : nullptr; }

int reported_driver_version() noexcept {
  return init_status() == CUDA_SUCCESS ? state().driver_version : CUDA_VERSION;
}

uint32_t device_count() noexcept { return init_status() == CUDA_SUCCESS ? state().devices : 0; }

const DeviceSnapshot* device(uint32_t index) noexcept {
  if (init_status() != CUDA_SUCCESS || index >= state().devices) return nullptr;
  return &state().snapshots[index];
}

}  // namespace vgpu::cuda
