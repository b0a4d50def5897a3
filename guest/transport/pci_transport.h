// PCI transport: a process inside a VM talks to vgpud through the VM's vgpu-stub (QEMU's
// ivshmem-doorbell device served by vgpud, docs/protocol.md §7). The channel region is one slot
// of the stub's BAR2; the doorbell is a register write to BAR0. vgpud cannot interrupt the
// guest, so waiting for it is polling.
#pragma once
#include <chrono>
#include <string>

#include "guest/transport/slot_claim.h"
#include "guest/transport/transport.h"

namespace vgpu::guest {

struct PciOptions {
  std::string sysfs_root = "/sys";
  ClaimOptions claim;
};

// Options from the environment: VGPU_SYSFS_ROOT replaces /sys (tests).
PciOptions pci_options_from_env();

// Finds the stub, checks its region, claims a slot and waits until vgpud serves it.
// NoEndpoint means there is no stub at all (connect_transport then tries the local socket).
Result<std::unique_ptr<Transport>, ConnectFailure> connect_pci(const PciOptions& options);

}  // namespace vgpu::guest
