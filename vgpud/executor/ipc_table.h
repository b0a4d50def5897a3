// The tenant's table of what its processes share with each other (docs/design.md §25): legacy
// IPC handles of memory and events, and virtual memory's shareable handles. It lives in the
// tenant's shared state (worker/tenant_state.h), which every channel worker of ONE tenant maps
// and no other tenant's worker can reach: a token found here was published by a process of the
// same tenant, and a token of another tenant (or forged, or stale) is simply not found.
//
// A guest never holds the driver's handle: it holds a token, 128 random bits (getrandom), under
// which the exporting worker put the driver's handle bytes. An importing worker looks the token
// up and hands the driver the real bytes.
//
// Memory is charged to the tenant once. When a process publishes memory, the bytes move from the
// exporting worker's share of `device_memory` into the entry (the tenant's total does not
// change), and the entry gives them back to the total when nobody holds the memory any more: the
// exporter withdrew it (freed it, reset its device, ended) and every importer closed it. So memory
// an importer keeps open after its exporter freed it still counts, and a worker that dies leaves
// nothing behind: the daemon withdraws what it published and drops what it held (reclaim()).
//
// Every step that moves bytes is ordered so that a worker killed in the middle of it (the mutex
// is robust) leaves the total too high, never too low, as TenantBudget's steps are.
#pragma once
#include <atomic>
#include <cstdint>
#include <optional>

#include "vgpu/protocol/limits.h"
#include "vgpud/executor/robust_mutex.h"

namespace vgpud {

// Worker slots of one tenant (config::kMaxProcessesPerTenant; tenant_state.h checks they agree).
inline constexpr uint32_t kIpcWorkerSlots = 1024;
inline constexpr uint32_t kIpcNoSlot = UINT32_MAX;

struct IpcToken {
  uint64_t lo = 0;
  uint64_t hi = 0;
  bool operator==(const IpcToken&) const = default;
  bool empty() const { return lo == 0 && hi == 0; }
};

enum class IpcKind : uint32_t {
  Free = 0,
  Memory = 1,    // a cuMemAlloc allocation (cuIpcGetMemHandle)
  Event = 2,     // an event made with CU_EVENT_INTERPROCESS (cuIpcGetEventHandle)
  Physical = 3,  // a cuMemCreate allocation (cuMemExportToShareableHandle, a file descriptor)
};

// What an exporter publishes, and what an importer finds.
struct IpcExport {
  IpcKind kind = IpcKind::Free;
  uint32_t device = 0;        // guest device index (the same GPU for every process of the tenant)
  uint32_t exporter_slot = kIpcNoSlot;
  uint32_t reserved = 0;
  uint64_t size = 0;          // Memory, Physical: bytes
  uint8_t handle[64] = {};    // the driver's CUipcMemHandle / CUipcEventHandle (not Physical)
};

class IpcTable {
 public:
  // The daemon, in the tenant state it lays out: an empty table with a fresh random nonce.
  IpcTable();

  // ---- the tenant's workers, by slot (written by the daemon)
  void set_worker_pid(uint32_t slot, int32_t pid) { pids_[slot].store(pid, std::memory_order_release); }
  int32_t worker_pid(uint32_t slot) const {
    return slot < kIpcWorkerSlots ? pids_[slot].load(std::memory_order_acquire) : 0;
  }
  // Random, per tenant and daemon: names the workers' file-descriptor sockets (ipc_fd_server.h).
  uint64_t nonce() const { return nonce_; }

  // ---- exporters
  // Publishes `e` (its exporter_slot is the caller's) under a fresh token. For Memory and
  // Physical, `bytes` of the exporter's `share` move into the entry first. nullopt when the
  // table is full (nothing moved) or cannot be locked.
  std::optional<IpcToken> publish(const IpcExport& e, std::atomic<uint64_t>* share);
  // The exporter in `slot` no longer holds what `token` names: nobody can open it any more, and
  // once no importer holds it either, its bytes leave the tenant's `used`.
  void withdraw(const IpcToken& token, uint32_t slot, std::atomic<uint64_t>* used);

  // ---- importers
  enum class Found { Yes, No, Full };
  // The entry of `token`, of `kind`, while its exporter holds it. With `hold`, the worker in
  // `slot` holds it from now on (one hold more: each is given back by release()); Full when the
  // table of holds is.
  Found find(const IpcToken& token, IpcKind kind, uint32_t slot, bool hold, IpcExport* out);
  // One hold of `slot` on `token` less.
  void release(const IpcToken& token, uint32_t slot, std::atomic<uint64_t>* used);

  // ---- the daemon, once it reaped the worker in `slot`
  // Withdraws what it published and drops what it held.
  void reclaim(uint32_t slot, std::atomic<uint64_t>* used);

  // For tests and the counters: live entries, and the bytes they hold.
  uint32_t entries();
  uint64_t charged_bytes();

 private:
  struct Entry {
    IpcToken token;
    IpcExport e;
    uint64_t charged = 0;  // bytes of the tenant's total this entry holds
  };
  struct Hold {
    uint32_t entry = 0;
    uint32_t slot = kIpcNoSlot;  // kIpcNoSlot: a free record
    uint32_t count = 0;
    uint32_t reserved = 0;
  };
  class Guard;

  Entry* entry_of(const IpcToken& token);
  bool held(uint32_t entry) const;
  // Drops entry `i` when neither its exporter nor an importer holds it.
  void drop_if_unheld(uint32_t i, std::atomic<uint64_t>* used);

  RobustMutex mutex_;
  uint64_t nonce_ = 0;
  std::atomic<int32_t> pids_[kIpcWorkerSlots];
  Entry entries_[vgpu::limits::kMaxIpcExports];
  Hold holds_[vgpu::limits::kMaxIpcHolds];
};
static_assert(std::atomic<int32_t>::is_always_lock_free);

}  // namespace vgpud
