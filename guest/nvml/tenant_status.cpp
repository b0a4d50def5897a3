#include "guest/nvml/tenant_status.h"

#include <cstdio>
#include <cstring>

#include "guest/client/typed_call.h"
#include "vgpu/protocol/limits.h"

namespace vgpu::guest {

int32_t fetch_tenant_status(Channel& channel, TenantStatus* out) {
  out->processes.clear();
  std::vector<proto::TenantProcessInfo> page(limits::kMaxStatusProcesses);
  uint32_t slot = 0;
  // Each page starts past the last one's slot, so the loop ends within kMaxTenantProcessSlots
  // pages even if vgpud answered nonsense.
  for (uint32_t pages = 0; pages < limits::kMaxTenantProcessSlots; ++pages) {
    proto::TenantStatusReply reply{};
    const std::span<uint8_t> tail{reinterpret_cast<uint8_t*>(page.data()),
                                  page.size() * sizeof(proto::TenantProcessInfo)};
    const CallResult r =
        call<proto::CallId::TenantStatus>(channel, proto::TenantStatusRequest{slot, 0}, {}, &reply, tail);
    if (r.status != 0) return r.status;
    if (r.payload_size < sizeof reply) return static_cast<int32_t>(proto::Status::MalformedMessage);
    const size_t got = (r.payload_size - sizeof reply) / sizeof(proto::TenantProcessInfo);
    const size_t n = std::min<size_t>({got, reply.returned, page.size()});
    out->processes.insert(out->processes.end(), page.begin(), page.begin() + static_cast<std::ptrdiff_t>(n));
    out->summary = reply;
    if (reply.next_slot >= limits::kMaxTenantProcessSlots || reply.next_slot <= slot) break;
    slot = reply.next_slot;
  }
  return 0;
}

int32_t fetch_device_info(Channel& channel, uint32_t device, proto::DeviceGetInfoReply* out) {
  std::memset(out, 0, sizeof *out);
  const CallResult r = call<proto::CallId::DeviceGetInfo>(channel, proto::DeviceGetInfoRequest{device, 0}, out);
  if (r.status != 0) return r.status;
  out->name[sizeof out->name - 1] = '\0';
  out->attribute_count = std::min<uint32_t>(out->attribute_count, limits::kMaxDeviceAttributes);
  return 0;
}

std::optional<uint32_t> utilization_percent(uint32_t figure) {
  if (figure > 100) return std::nullopt;
  return figure;
}

std::string format_gpu_uuid(const uint8_t (&u)[16]) {
  char text[48];
  std::snprintf(text, sizeof text,
                "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
                u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
  return text;
}

std::string process_name(const proto::TenantProcessInfo& info) {
  std::string name(info.name, strnlen(info.name, sizeof info.name));
  for (char& c : name)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return name;
}

}  // namespace vgpu::guest
