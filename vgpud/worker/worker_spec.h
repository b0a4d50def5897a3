// A channel worker: the process that serves one guest process's channel (its mediator and
// executor threads, its CUDA contexts). vgpud starts one per accepted channel, so that a
// guest whose kernel faults (a CUDA fault poisons every context of the process that owns it,
// measured on an H100 with driver 580) or that crashes the driver takes down only its own
// worker, while vgpud and every other guest go on.
//
// The daemon starts `vgpud --channel-worker <arguments>` (its own executable) with the
// channel's descriptors at fixed numbers, and passes everything else as arguments.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "vgpu/protocol/channel_layout.h"
#include "vgpu/common/result.h"
#include "vgpud/protocol_alias.h"

namespace vgpud {

// The descriptors a worker finds open when it starts.
inline constexpr int kWorkerRegionFd = 3;       // the channel region (memfd)
inline constexpr int kWorkerDoorbellFd = 4;     // eventfd the guest rings
inline constexpr int kWorkerNotifyFd = 5;       // eventfd that wakes the guest
inline constexpr int kWorkerGuestSocketFd = 6;  // closes when the guest is gone: the guest's own
                                                // socket (local), or a lifeline the daemon
                                                // closes when a VM slot is reclaimed
inline constexpr int kWorkerTenantStateFd = 7;  // the tenant's SharedTenantState
inline constexpr int kWorkerFirstFreeFd = 8;

inline constexpr const char* kChannelWorkerFlag = "--channel-worker";

struct WorkerSpec {
  std::string tenant;
  int guest_pid = 0;
  std::string driver_path;              // vgpud.driver
  std::string driver_release;           // the host's, for the guest's NVML (host_versions.h);
  std::string nvml_version;             // empty when vgpud could not read them
  std::vector<int> device_ordinals;     // the tenant's GPUs, in the guest's index order
  uint64_t device_memory_limit = 0;     // limits.device_memory (0: none)
  uint64_t image_memory_limit = 0;      // limits.module_image_memory
  uint64_t module_cache_memory = 0;     // limits.module_cache_memory: the tenant state's layout
  uint32_t share_slot = 0;              // this worker's WorkerShare in the tenant state
  uint32_t spin_us = 50;                // vgpud.poll_spin_us
  std::string log_level = "info";
  proto::ChannelSizes sizes;            // the region's geometry is recomputed from these
  uint64_t region_offset = 0;           // of the channel in the region fd (a VM slot's offset)

  std::string name() const { return tenant + "/" + std::to_string(guest_pid); }

  // Whose word guest_pid is. A local channel's is the kernel's: SO_PEERCRED of the client
  // (local_endpoint.cpp), and its region holds that channel alone (offset 0). A VM slot lies
  // past the VM region's header page (vm_layout.h), and its guest_pid is what the process in
  // the VM wrote into its slot claim: no host process stands behind it.
  bool guest_pid_from_kernel() const { return region_offset == 0; }
  // The guest by the kernel's word, for log lines beside what the guest claims (HELLO's pid):
  // "peer pid 4567", or "in the VM: no host peer pid".
  std::string peer() const;
};

// The arguments after kChannelWorkerFlag.
std::vector<std::string> worker_arguments(const WorkerSpec& spec);
// Parses them back (argv[0] is the program, argv[1] kChannelWorkerFlag).
vgpu::Result<WorkerSpec, std::string> parse_worker_arguments(int argc, const char* const* argv);

}  // namespace vgpud
