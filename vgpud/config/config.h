// vgpu.yaml: what the daemon serves (tenants, their GPUs, endpoints and limits) and how it runs.
// The schema is documented in docs/configuration.md. Parsing is strict: an unknown key, a
// repeated key, a wrong type or an out-of-range value is an error that names the file, line,
// column and field, so a typo never silently falls back to a default.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vgpu/common/result.h"

namespace vgpud::config {

// A UNIX socket on the host through which local processes and containers reach a tenant.
struct LocalEndpoint {
  std::string socket_path;
  std::string group;  // empty = the daemon's own group
  uint32_t mode = 0660;
};

// A VM's vgpu-stub: the socket QEMU's ivshmem-doorbell device connects to, and the shared
// region vgpud creates for it (docs/protocol.md §7).
struct VmEndpoint {
  std::string socket_path;               // empty = the tenant has no VM
  std::string group;                     // empty = the daemon's own group
  uint32_t mode = 0660;
  uint64_t region_size = 1ull << 30;     // BAR2; a power of two
  uint32_t slots = 8;                    // guest processes at once
  uint32_t lease_timeout_ms = 3000;      // a slot whose lease stands still this long is reclaimed
};

// The most limits.max_processes may be.
inline constexpr uint32_t kMaxProcessesPerTenant = 1024;

struct TenantLimits {
  uint32_t max_processes = 16;            // concurrent channels (guest processes)
  uint64_t device_memory = 0;             // GPU memory of allocations and modules; 0 = unlimited
  uint64_t module_image_memory = 1ull << 30;  // host memory of module images being uploaded
  uint64_t module_cache_memory = 1ull << 30;  // host memory of the tenant's module image cache; 0 = none
  uint64_t pinned_memory = 64ull << 20;   // shared heap per process (cudaMallocHost)
  uint64_t staging_memory = 16ull << 20;  // each of the upload/download staging rings; power of two
};

struct TenantConfig {
  std::string name;
  std::vector<std::string> gpus;  // index "0" or "GPU-<uuid>" (lower case), no duplicates
  LocalEndpoint local;  // socket_path empty = no local endpoint
  VmEndpoint vm;        // socket_path empty = no VM
  TenantLimits limits;
  int line = 0;  // where the tenant starts in the file, for later error messages
};

struct DaemonConfig {
  std::string source_file;
  std::string log_level = "info";
  std::string driver_path = "libcuda.so.1";  // where the executor dlopens the CUDA driver from
  uint32_t poll_spin_us = 50;                // how long mediator/executor spin before sleeping
  std::string control_socket = "/run/vgpu/control.sock";  // `vgpud counters` reads it
  std::vector<TenantConfig> tenants;         // at least one
};

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when the error is about the file as a whole
  int column = 0;  // 1-based; 0 when unknown
  std::string field;  // dotted path such as "tenants[0].limits.pinned_memory"; may be empty
  std::string message;

  // "vgpu.yaml:12:5: tenants[0].limits.pinned_memory: expected a size like 64MiB"
  std::string to_string() const;
};

// Reads and parses a file. An unreadable file is an error naming the file and the reason.
vgpu::Result<DaemonConfig, ConfigError> load_config_file(const std::string& path);

// Parses YAML text; file_name is only used in errors and DaemonConfig::source_file.
vgpu::Result<DaemonConfig, ConfigError> parse_config(std::string_view yaml_text, const std::string& file_name);

}  // namespace vgpud::config
