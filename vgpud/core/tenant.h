// A tenant as the daemon holds it: its configuration, its endpoints, its live channel workers,
// and the two decisions made from those alone: how many more processes it admits, and which
// share slot a new worker gets. Both are pure, so tests check them without starting anything.
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vgpud/config/config.h"
#include "vgpud/log/rate_limit.h"
#include "vgpud/transport/ivshmem/vm_endpoint.h"
#include "vgpud/transport/local_endpoint.h"
#include "vgpud/worker/tenant_state.h"

namespace vgpud {

struct Tenant {
  config::TenantConfig config;
  std::vector<int> device_ordinals;
  std::unique_ptr<LocalEndpoint> endpoint;     // null when the tenant has no local socket
  std::unique_ptr<ivshmem::VmEndpoint> vm;     // null when the tenant has no VM
  std::unique_ptr<SharedTenantState> shared;  // counters and device memory, shared with workers
  struct Worker {
    std::string name;  // "tenant/guest pid"
    uint32_t slot;     // its WorkerShare in shared
  };
  std::map<pid_t, Worker> workers;
  // Warnings its clients can trigger at will (handshakes dropped), rate-limited.
  log::LineLimiter client_lines;
};

// The tenant's one admission count, for its socket and its VM alike: how many more processes
// it takes, max_processes less every live worker of the tenant, whatever endpoint started it.
size_t room(const Tenant& tenant);

// The lowest share slot (TenantSharedState::shares) that no live worker of the tenant has;
// nullopt when every slot is taken. room() keeps workers under max_processes, which is at most
// the number of slots, so a worker the tenant admitted always finds one.
std::optional<uint32_t> free_share_slot(const Tenant& tenant);

}  // namespace vgpud
