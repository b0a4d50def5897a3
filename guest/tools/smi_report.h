// What vgpu-smi shows: the guest's view of its tenant, gathered over one channel (the
// handshake, DEVICE_GET_INFO per device, TENANT_STATUS), and its two renderings: a table for
// people and JSON for scripts. Gathering and rendering are apart, so the renderings are pure
// functions of a report.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "guest/client/channel.h"

namespace vgpu::smi {

struct DeviceRow {
  uint32_t index = 0;
  std::string name;
  std::string uuid;        // GPU-...
  std::string pci_bus_id;  // dddddddd:bb:dd.0
  int cc_major = 0, cc_minor = 0;
  uint64_t device_memory = 0;  // the GPU's size
  uint64_t memory_total = 0;   // what the tenant sees: min(limit, the GPU's size)
  std::optional<uint32_t> utilization;  // the tenant's, percent of the last second; none: unknown
};

struct ProcessRow {
  uint32_t pid = 0;
  std::string name;
  std::vector<uint32_t> devices;  // those it has a context on
  uint64_t memory_used = 0;       // across its devices
};

struct Report {
  std::string transport;  // "local:/run/vgpu/x.sock" or "pci:0000:00:04.0 slot 2"
  std::string vgpud_version;
  uint32_t protocol_version = 0;
  int cuda_driver_version = 0;  // 13000 for 13.0
  std::string driver_release;   // the host's ("580.159.04"); empty when vgpud could not read it
  uint64_t memory_limit = 0;    // 0: none
  uint64_t memory_used = 0;
  uint32_t attached_processes = 0;  // every process of the tenant connected now
  std::vector<DeviceRow> devices;
  std::vector<ProcessRow> processes;  // those with a context on some device
  std::vector<std::pair<std::string, uint64_t>> counters;  // `vgpud counters`' columns, in order
};

// Gathers the report; on failure says why in one sentence and returns false.
bool gather(guest::Channel& channel, Report* report, std::string* error);

std::string render_table(const Report& report);
std::string render_json(const Report& report);

}  // namespace vgpu::smi
