// NVML's events: XID errors, ECC errors, clock and power changes. A guest is told of none of
// them (the host's driver has them, and they are the host's to act on), so a device supports no
// event type and a wait only waits. Monitoring tools and nvidia-smi make an event set as they
// start, and treat "no supported type" as a GPU without events.
#include <chrono>
#include <mutex>
#include <new>
#include <thread>
#include <unordered_set>

#include "guest/nvml/nvml_state.h"

using namespace vgpu;

namespace {

// The sets handed out, so that a stale or forged one is refused rather than followed.
struct EventSets {
  std::mutex mutex;
  std::unordered_set<nvmlEventSet_t> live;
};
EventSets& sets() {
  static auto* s = new EventSets;  // never destroyed: sets may be freed from atexit handlers
  return *s;
}

bool is_live(nvmlEventSet_t set) {
  EventSets& s = sets();
  std::lock_guard lock(s.mutex);
  return s.live.count(set) != 0;
}

nvmlReturn_t wait(nvmlEventSet_t set, nvmlEventData_t* data, unsigned int timeout_ms) {
  if (nvmlReturn_t r = nvml::require_init(); r != NVML_SUCCESS) return r;
  if (data == nullptr || !is_live(set)) return NVML_ERROR_INVALID_ARGUMENT;
  std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
  return NVML_ERROR_TIMEOUT;
}

}  // namespace

VGPU_NVML_API nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t* set) {
  if (set == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (nvmlReturn_t r = nvml::require_init(); r != NVML_SUCCESS) return r;
  return nvml::guarded([&] {
    // Its address is its identity; nothing is kept in it.
    auto* made = reinterpret_cast<nvmlEventSet_t>(new char);
    EventSets& s = sets();
    std::lock_guard lock(s.mutex);
    s.live.insert(made);
    *set = made;
    return NVML_SUCCESS;
  });
}

VGPU_NVML_API nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set) {
  EventSets& s = sets();
  std::lock_guard lock(s.mutex);
  if (s.live.erase(set) == 0) return NVML_ERROR_INVALID_ARGUMENT;
  delete reinterpret_cast<char*>(set);
  return NVML_SUCCESS;
}

VGPU_NVML_API nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t device, unsigned long long* types) {
  if (types == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  uint32_t index = 0;
  if (nvmlReturn_t r = nvml::index_of(device, &index); r != NVML_SUCCESS) return r;
  *types = 0;
  return NVML_SUCCESS;
}

// NVIDIA's library answers NOT_SUPPORTED for a type the device does not support; here that is
// every type. Registering none is a no-op.
VGPU_NVML_API nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t device, unsigned long long types, nvmlEventSet_t set) {
  uint32_t index = 0;
  if (nvmlReturn_t r = nvml::index_of(device, &index); r != NVML_SUCCESS) return r;
  if (!is_live(set)) return NVML_ERROR_INVALID_ARGUMENT;
  return types == 0 ? NVML_SUCCESS : NVML_ERROR_NOT_SUPPORTED;
}

VGPU_NVML_API nvmlReturn_t nvmlEventSetWait(nvmlEventSet_t set, nvmlEventData_t* data, unsigned int timeout_ms) {
  return wait(set, data, timeout_ms);
}
VGPU_NVML_API nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t* data, unsigned int timeout_ms) {
  return wait(set, data, timeout_ms);
}
