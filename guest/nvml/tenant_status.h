// What vgpud tells a guest about its own tenant (TENANT_STATUS) and its devices
// (DEVICE_GET_INFO), fetched whole over a channel: shared by the NVML shim (the process's
// channel) and vgpu-smi (a channel of its own). Errors are values; nothing here throws past
// its callers' C entry points except std::bad_alloc, which they catch.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "guest/client/channel.h"
#include "vgpu/protocol/messages.h"

namespace vgpu::guest {

struct TenantStatus {
  proto::TenantStatusReply summary{};             // returned/next_slot: of the last page
  std::vector<proto::TenantProcessInfo> processes;  // every page's, in slot order
};

// Every page of TENANT_STATUS. The status is the call's (0, a CUresult or a proto::Status:
// UnknownCall from a vgpud older than the call).
int32_t fetch_tenant_status(Channel& channel, TenantStatus* out);

// One device's facts (DEVICE_GET_INFO); status as above.
int32_t fetch_device_info(Channel& channel, uint32_t device, proto::DeviceGetInfoReply* out);

// A utilization figure of TENANT_STATUS as a percent; none for kUtilizationUnknown (vgpud could
// not read it) or anything else above 100.
std::optional<uint32_t> utilization_percent(uint32_t figure);

// "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", as NVML and nvidia-smi write a UUID.
std::string format_gpu_uuid(const uint8_t (&uuid)[16]);

// A process name from the wire: up to its NUL, at most the field, control bytes replaced.
std::string process_name(const proto::TenantProcessInfo& info);

}  // namespace vgpu::guest
