// The commands `vgpud qemu-args TENANT` and `vgpud counters`: small tools around a
// configuration, run instead of the daemon. Each returns the process exit code.
#pragma once
#include <string>

#include "vgpud/config/config.h"

namespace vgpud {

// Prints the QEMU options that attach the tenant's VM to its vgpu-stub.
int print_qemu_args(const config::DaemonConfig& config, const std::string& tenant);
// Asks the running vgpud (through vgpud.control_socket) for its per-hop counters and prints them.
int print_counters(const config::DaemonConfig& config);

}  // namespace vgpud
