// What all of a tenant's channel workers share with the daemon: the per-hop counters, the
// tenant's budgets (tenant_budget.h): the device memory it holds (limits.device_memory) and the
// host memory its module images hold while they are uploaded (limits.module_image_memory),
// with each worker's share of both in the slot the daemon gave it; what the tenant's processes
// share with each other (ipc_table.h, with each worker's pid by slot); who its processes are
// (tenant_processes.h, for TENANT_STATUS); and the tenant's module
// image cache (module_cache.h, limits.module_cache_memory), in the pages after the state. It
// lives in a memfd that the daemon creates and every worker of the tenant maps; guests never
// see it, and no other tenant's worker gets it.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "vgpu/common/result.h"
#include "vgpud/config/config.h"
#include "vgpud/executor/ipc_table.h"
#include "vgpud/executor/module_cache.h"
#include "vgpud/executor/tenant_budget.h"
#include "vgpud/executor/tenant_processes.h"
#include "vgpud/metrics/hop_counters.h"
#include "vgpud/metrics/module_cache_counters.h"
#include "vgpud/transport/shared_memory.h"
#include "vgpud/transport/unique_fd.h"

namespace vgpud {

struct TenantSharedState {
  HopCounters counters;
  ModuleCacheCounters module_cache;
  alignas(64) std::atomic<uint64_t> device_bytes{0};  // allocations and module memory
  std::atomic<uint64_t> image_bytes{0};               // module images being uploaded
  // By worker slot: a tenant never has more workers than limits.max_processes allows.
  WorkerShare shares[config::kMaxProcessesPerTenant];
  // What the tenant's processes share with each other (IPC, docs/design.md §25), and each
  // worker's pid by slot, which the daemon writes.
  IpcTable ipc;
  // Who the tenant's processes are (pid, name, contexts), by worker slot: TENANT_STATUS.
  TenantProcesses processes;

  // The daemon, once it reaped the worker in `slot`: what that worker held leaves the totals.
  void reclaim(uint32_t slot) {
    ipc.reclaim(slot, &device_bytes);
    processes.clear(slot);
    TenantBudget::reclaim(device_bytes, shares[slot].device_bytes);
    TenantBudget::reclaim(image_bytes, shares[slot].image_bytes);
  }
};
static_assert(kIpcWorkerSlots == config::kMaxProcessesPerTenant);
static_assert(TenantProcesses::kSlots == config::kMaxProcessesPerTenant);
// Atomics in memory shared between processes must not fall back to a lock.
static_assert(std::atomic<uint64_t>::is_always_lock_free);

class SharedTenantState {
 public:
  // The daemon: a fresh, zeroed state for one tenant, with an empty module cache of
  // `module_cache_memory` bytes (none for 0).
  static vgpu::Result<std::unique_ptr<SharedTenantState>, std::string> create(
      const std::string& tenant, uint64_t module_cache_memory = 0);
  // A worker: maps the state the daemon passed down, made for the same module_cache_memory.
  static vgpu::Result<std::unique_ptr<SharedTenantState>, std::string> attach(
      UniqueFd fd, uint64_t module_cache_memory = 0);

  TenantSharedState& get() const { return *state_; }
  int fd() const { return memory_.fd(); }
  // The tenant's module cache; null when it has none (module_cache_memory 0).
  ModuleCache* module_cache() { return module_cache_ ? &*module_cache_ : nullptr; }

 private:
  SharedTenantState(SharedMemory memory, TenantSharedState* state)
      : memory_(std::move(memory)), state_(state) {}
  // Finds the module cache that create() laid out in the memfd, after the state.
  static vgpu::Result<std::unique_ptr<SharedTenantState>, std::string> attach_cache(
      std::unique_ptr<SharedTenantState> shared, uint64_t module_cache_memory);

  SharedMemory memory_;
  TenantSharedState* state_;                 // in memory_
  std::optional<ModuleCache> module_cache_;  // its index and chunks are in memory_
};

}  // namespace vgpud
