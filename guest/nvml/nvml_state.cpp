#include "guest/nvml/nvml_state.h"

#include <cstring>
#include <mutex>
#include <new>

#include "guest/client/process.h"
#include "vgpu/protocol/limits.h"

// What a handle points at: the shim's own object per device, so a handle is checked by address.
struct nvmlDevice_st {
  uint32_t index;
};

namespace vgpu::nvml {
namespace {

struct State {
  std::mutex mutex;
  int init_count = 0;
  guest::Channel* channel = nullptr;
  nvmlDevice_st handles[limits::kMaxDevices];
  bool fetched[limits::kMaxDevices] = {};
  proto::DeviceGetInfoReply facts[limits::kMaxDevices];
};

// Never destroyed: applications call nvmlShutdown from atexit handlers and static destructors.
State& state() {
  static State* s = [] {
    auto* fresh = new State;
    for (uint32_t d = 0; d < limits::kMaxDevices; ++d) fresh->handles[d].index = d;
    return fresh;
  }();
  return *s;
}

}  // namespace

nvmlReturn_t init() noexcept {
  State& s = state();
  guest::Channel* channel = guest::process_channel();
  if (channel == nullptr) return NVML_ERROR_DRIVER_NOT_LOADED;
  std::lock_guard lock(s.mutex);
  s.channel = channel;
  ++s.init_count;
  return NVML_SUCCESS;
}

nvmlReturn_t shutdown() noexcept {
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (s.init_count == 0) return NVML_ERROR_UNINITIALIZED;
  --s.init_count;
  return NVML_SUCCESS;
}

nvmlReturn_t require_init() noexcept {
  State& s = state();
  std::lock_guard lock(s.mutex);
  return s.init_count > 0 && s.channel != nullptr ? NVML_SUCCESS : NVML_ERROR_UNINITIALIZED;
}

guest::Channel& channel() noexcept { return *state().channel; }

uint32_t device_count() noexcept {
  return std::min<uint32_t>(channel().hello().device_count, limits::kMaxDevices);
}

nvmlDevice_t handle_of(uint32_t index) noexcept { return &state().handles[index]; }

nvmlReturn_t index_of(nvmlDevice_t device, uint32_t* index) noexcept {
  if (nvmlReturn_t r = require_init(); r != NVML_SUCCESS) return r;
  State& s = state();
  // Only our own handles: compared by address, never dereferenced before.
  for (uint32_t d = 0; d < device_count(); ++d) {
    if (device == &s.handles[d]) {
      *index = d;
      return NVML_SUCCESS;
    }
  }
  return NVML_ERROR_INVALID_ARGUMENT;
}

nvmlReturn_t facts_of(nvmlDevice_t device, const proto::DeviceGetInfoReply** info, uint32_t* index) noexcept {
  uint32_t d = 0;
  if (nvmlReturn_t r = index_of(device, &d); r != NVML_SUCCESS) return r;
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (!s.fetched[d]) {
    if (guest::fetch_device_info(*s.channel, d, &s.facts[d]) != 0) return NVML_ERROR_UNKNOWN;
    s.fetched[d] = true;
  }
  *info = &s.facts[d];
  if (index != nullptr) *index = d;
  return NVML_SUCCESS;
}

int attribute(const proto::DeviceGetInfoReply& info, int a) noexcept {
  if (a <= 0 || static_cast<uint32_t>(a) >= info.attribute_count) return 0;
  return info.attributes[a];
}

nvmlReturn_t tenant_status(guest::TenantStatus* out) noexcept {
  return guarded([&] {
    if (nvmlReturn_t r = require_init(); r != NVML_SUCCESS) return r;
    const int32_t st = guest::fetch_tenant_status(channel(), out);
    if (st == static_cast<int32_t>(proto::Status::UnknownCall)) return NVML_ERROR_NOT_SUPPORTED;
    return st == 0 ? NVML_SUCCESS : NVML_ERROR_UNKNOWN;
  });
}

nvmlReturn_t copy_string(const char* text, char* out, unsigned int length) noexcept {
  if (out == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  const size_t n = std::strlen(text);
  if (n + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
  std::memcpy(out, text, n + 1);
  return NVML_SUCCESS;
}

}  // namespace vgpu::nvml
