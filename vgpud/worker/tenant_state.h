// What all of a tenant's channel workers share with the daemon: the per-hop counters and the
// device memory the tenant holds (checked against limits.device_memory). It lives in a small
// memfd that the daemon creates and every worker of the tenant maps; guests never see it.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "vgpu/result.h"
#include "vgpud/metrics/hop_counters.h"
#include "vgpud/transport/unique_fd.h"

namespace vgpud {

struct TenantSharedState {
  HopCounters counters;
  alignas(64) std::atomic<uint64_t> device_bytes{0};  // by executors, on allocations only
};
// Atomics in memory shared between processes must not fall back to a lock.
static_assert(std::atomic<uint64_t>::is_always_lock_free);

class SharedTenantState {
 public:
  // The daemon: a fresh, zeroed state for one tenant.
  static vgpu::Result<std::unique_ptr<SharedTenantState>, std::string> create(const std::string& tenant);
  // A worker: maps the state the daemon passed down.
  static vgpu::Result<std::unique_ptr<SharedTenantState>, std::string> attach(UniqueFd fd);
  ~SharedTenantState();

  SharedTenantState(const SharedTenantState&) = delete;
  SharedTenantState& operator=(const SharedTenantState&) = delete;

  TenantSharedState& get() const { return *state_; }
  int fd() const { return fd_.get(); }

 private:
  SharedTenantState(UniqueFd fd, TenantSharedState* state) : fd_(std::move(fd)), state_(state) {}

  UniqueFd fd_;
  TenantSharedState* state_;
};

}  // namespace vgpud
