// The NVML shim's state: whether nvmlInit is in force (a count, as NVIDIA's library keeps one),
// the process's channel, the handles it gives out (one per guest device, fixed addresses) and
// each device's facts, asked of vgpud once (DEVICE_GET_INFO needs no context).
#pragma once
#include <cstdint>
#include <optional>

#include "guest/client/channel.h"
#include "guest/nvml/nvml_abi.h"
#include "guest/nvml/tenant_status.h"
#include "vgpu/protocol/messages.h"

// An entry point of libnvidia-ml.so.1 (the library is built with hidden visibility).
#define VGPU_NVML_API extern "C" __attribute__((visibility("default")))

namespace vgpu::nvml {

// nvmlInit*: connects (the process's one channel, shared with libcuda.so.1 when both are
// loaded) and counts one more init. Errors: DRIVER_NOT_LOADED when vgpud cannot be reached.
nvmlReturn_t init() noexcept;
// nvmlShutdown: one init less; UNINITIALIZED when there was none.
nvmlReturn_t shutdown() noexcept;
// SUCCESS while an init is in force, else UNINITIALIZED.
nvmlReturn_t require_init() noexcept;

// The channel (valid once init succeeded).
guest::Channel& channel() noexcept;
uint32_t device_count() noexcept;

// The handle of guest device `index` (index < device_count()).
nvmlDevice_t handle_of(uint32_t index) noexcept;
// The guest device a handle names: INVALID_ARGUMENT for null or a handle not ours.
nvmlReturn_t index_of(nvmlDevice_t device, uint32_t* index) noexcept;

// The device's facts, fetched on first use; INVALID_ARGUMENT for a bad handle, UNKNOWN when
// vgpud did not answer.
nvmlReturn_t facts_of(nvmlDevice_t device, const proto::DeviceGetInfoReply** info, uint32_t* index = nullptr) noexcept;
// A CUdevice_attribute of a device's facts (0 for one vgpud did not fill).
int attribute(const proto::DeviceGetInfoReply& info, int attribute) noexcept;

// The tenant's status now (one TENANT_STATUS, all pages). NOT_SUPPORTED from a vgpud that
// predates the call.
nvmlReturn_t tenant_status(guest::TenantStatus* out) noexcept;

// Copies a string into a caller's buffer: INSUFFICIENT_SIZE when it does not fit with its NUL.
nvmlReturn_t copy_string(const char* text, char* out, unsigned int length) noexcept;

// Runs fn, turning any exception (std::bad_alloc) into NVML_ERROR_MEMORY / UNKNOWN, so that
// none crosses the C ABI.
template <typename Fn>
nvmlReturn_t guarded(Fn&& fn) noexcept {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return NVML_ERROR_MEMORY;
  } catch (...) {
    return NVML_ERROR_UNKNOWN;
  }
}

}  // namespace vgpu::nvml
