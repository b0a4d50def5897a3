#include "guest/tools/smi_report.h"

#include <cuda.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "guest/nvml/tenant_status.h"
#include "vgpu/protocol/messages.h"

namespace vgpu::smi {

namespace {

int attribute(const proto::DeviceGetInfoReply& info, int a) {
  return a > 0 && static_cast<uint32_t>(a) < info.attribute_count ? info.attributes[a] : 0;
}

std::string mib(uint64_t bytes) { return fmt::format("{} MiB", bytes >> 20); }

std::string join(const std::vector<uint32_t>& v) {
  std::string s;
  // Appended piece by piece: GCC 12 at -O2 and above mistakes `"," + std::to_string(d)` for an
  // overlapping memcpy (-Wrestrict, a known false positive) and -Werror stops the Release build.
  for (uint32_t d : v) {
    if (!s.empty()) s += ',';
    s += std::to_string(d);
  }
  return s;
}

}  // namespace

bool gather(guest::Channel& channel, Report* report, std::string* error) {
  Report r;
  r.transport = channel.describe();
  r.protocol_version = channel.hello().protocol_version;
  r.cuda_driver_version = channel.hello().driver_version;
  guest::TenantStatus status;
  if (const int32_t st = guest::fetch_tenant_status(channel, &status); st != 0) {
    *error = st == static_cast<int32_t>(proto::Status::UnknownCall)
                 ? "vgpud is older than vgpu-smi: it does not answer TENANT_STATUS; upgrade vgpud"
                 : fmt::format("vgpud did not answer TENANT_STATUS (status {:#x})", st);
    return false;
  }
  const proto::TenantStatusReply& s = status.summary;
  r.vgpud_version.assign(s.vgpud_version, strnlen(s.vgpud_version, sizeof s.vgpud_version));
  r.driver_release.assign(s.driver_release, strnlen(s.driver_release, sizeof s.driver_release));
  r.memory_limit = s.memory_limit;
  r.memory_used = s.memory_used;
  r.attached_processes = s.process_count;
  r.counters = {{"opened", s.channels_opened}, {"closed", s.channels_closed},   {"doorbells", s.doorbells},
                {"received", s.received},      {"rejected", s.rejected},        {"dispatched", s.dispatched},
                {"executed", s.executed},      {"drv_errors", s.driver_errors}, {"answered", s.answered}};
  const uint32_t count = std::min<uint32_t>(channel.hello().device_count, limits::kMaxDevices);
  for (uint32_t d = 0; d < count; ++d) {
    proto::DeviceGetInfoReply info;
    if (const int32_t st = guest::fetch_device_info(channel, d, &info); st != 0) {
      *error = fmt::format("vgpud did not describe device {} (status {:#x})", d, st);
      return false;
    }
    DeviceRow row;
    row.index = d;
    row.name = info.name;
    row.uuid = guest::format_gpu_uuid(info.uuid);
    row.pci_bus_id = fmt::format("{:08X}:{:02X}:{:02X}.0", attribute(info, CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID),
                                 attribute(info, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID) & 0xff,
                                 attribute(info, CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID) & 0xff);
    row.cc_major = attribute(info, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
    row.cc_minor = attribute(info, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
    row.device_memory = info.total_memory;
    row.memory_total = s.memory_limit != 0 ? std::min(s.memory_limit, info.total_memory) : info.total_memory;
    row.utilization = guest::utilization_percent(s.utilization_gpu[d]);  // d < kMaxDevices: the array's size
    r.devices.push_back(std::move(row));
  }
  for (const proto::TenantProcessInfo& p : status.processes) {
    if (p.context_mask == 0) continue;  // attached, but not using a GPU (vgpu-smi itself, NVML tools)
    ProcessRow row;
    row.pid = p.pid;
    row.name = guest::process_name(p);
    for (uint32_t d = 0; d < count && d < 32; ++d)
      if (p.context_mask & (1u << d)) row.devices.push_back(d);
    row.memory_used = p.memory_used;
    r.processes.push_back(std::move(row));
  }
  *report = std::move(r);
  return true;
}

std::string render_table(const Report& r) {
  std::string out = fmt::format("vgpud {}, protocol {}, CUDA driver {}.{}", r.vgpud_version, r.protocol_version,
                                r.cuda_driver_version / 1000, (r.cuda_driver_version % 1000) / 10);
  if (!r.driver_release.empty()) out += fmt::format(" (host driver {})", r.driver_release);
  out += fmt::format("\ntransport {}\n", r.transport);
  out += fmt::format("memory used {} of {}\n", mib(r.memory_used),
                     r.memory_limit != 0 ? "limit " + mib(r.memory_limit) : std::string("no limit"));
  out += fmt::format("\n{:<4} {:<28} {:<42} {:<17} {:<4} {:>12} {:>5}\n", "GPU", "NAME", "UUID", "PCI BUS ID", "CC",
                     "MEMORY", "UTIL");
  for (const DeviceRow& d : r.devices)
    out += fmt::format("{:<4} {:<28} {:<42} {:<17} {:<4} {:>12} {:>5}\n", d.index, d.name, d.uuid, d.pci_bus_id,
                       fmt::format("{}.{}", d.cc_major, d.cc_minor), mib(d.memory_total),
                       d.utilization ? fmt::format("{}%", *d.utilization) : std::string("-"));
  out += fmt::format("\n{:<10} {:<24} {:<8} {:>12}\n", "PID", "PROCESS", "GPUS", "MEMORY");
  if (r.processes.empty()) out += "(no process of this tenant is using a GPU)\n";
  for (const ProcessRow& p : r.processes)
    out += fmt::format("{:<10} {:<24} {:<8} {:>12}\n", p.pid, p.name, join(p.devices), mib(p.memory_used));
  out += fmt::format("\n{} process(es) attached\ncounters", r.attached_processes);
  for (const auto& [name, value] : r.counters) out += fmt::format(" {}={}", name, value);
  out += "\n";
  return out;
}

std::string render_json(const Report& r) {
  nlohmann::json j;
  j["vgpud_version"] = r.vgpud_version;
  j["protocol_version"] = r.protocol_version;
  j["cuda_driver_version"] = r.cuda_driver_version;
  j["driver_release"] = r.driver_release;
  j["transport"] = r.transport;
  j["memory"] = {{"limit", r.memory_limit}, {"used", r.memory_used}};
  j["attached_processes"] = r.attached_processes;
  j["devices"] = nlohmann::json::array();
  for (const DeviceRow& d : r.devices)
    j["devices"].push_back({{"index", d.index},
                            {"name", d.name},
                            {"uuid", d.uuid},
                            {"pci_bus_id", d.pci_bus_id},
                            {"compute_capability", fmt::format("{}.{}", d.cc_major, d.cc_minor)},
                            {"device_memory", d.device_memory},
                            {"memory_total", d.memory_total},
                            {"utilization", d.utilization ? nlohmann::json(*d.utilization) : nlohmann::json()}});
  j["processes"] = nlohmann::json::array();
  for (const ProcessRow& p : r.processes)
    j["processes"].push_back({{"pid", p.pid}, {"name", p.name}, {"devices", p.devices}, {"memory_used", p.memory_used}});
  j["counters"] = nlohmann::json::object();
  for (const auto& [name, value] : r.counters) j["counters"][name] = value;
  // Names are guest text: replace what is not UTF-8 rather than throw.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace vgpu::smi
