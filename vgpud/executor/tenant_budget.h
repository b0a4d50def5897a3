// A quantity a tenant's channel workers share (device memory; host memory of module images
// being uploaded), and the one way to take from it: a reservation that either fits under the
// tenant's limit, whole, or changes nothing. One compare-and-swap decides, so two channels
// racing cannot both slip under the limit, and the sum is checked for overflow before it is
// formed, so a huge request cannot wrap the counter and let another channel in meanwhile.
//
// Each worker also counts what it holds (its share, in a slot of the tenant's shared state).
// A worker can die with a driver call in flight, or be killed; the daemon then reaps it and
// takes its share off the tenant's total (reclaim()), when nothing can move that share any
// more. The total is moved before the share on reserve, and after it on release, so a worker
// killed between the two steps leaves the total too high (by one call's bytes), never too low.
#pragma once
#include <atomic>
#include <cstdint>

namespace vgpud {

// What one worker holds of the tenant's totals (in its slot of the tenant's shared state).
struct WorkerShare {
  std::atomic<uint64_t> device_bytes{0};
  std::atomic<uint64_t> image_bytes{0};
};

// Where one budget lives: the tenant's total, this worker's share of it, and the limit.
struct BudgetRef {
  std::atomic<uint64_t>* used = nullptr;   // null: nothing is counted
  std::atomic<uint64_t>* share = nullptr;  // may be null (tests)
  uint64_t limit = 0;                      // 0: no limit (the bytes are still counted)
};

class TenantBudget {
 public:
  explicit TenantBudget(const BudgetRef& ref) : ref_(ref) {}

  // Takes bytes from the budget, or returns false and takes nothing.
  [[nodiscard]] bool reserve(uint64_t bytes) {
    if (ref_.used == nullptr) return true;
    const uint64_t cap = ref_.limit == 0 ? UINT64_MAX : ref_.limit;
    uint64_t now = ref_.used->load(std::memory_order_relaxed);
    do {
      if (bytes > cap || now > cap - bytes) return false;
    } while (!ref_.used->compare_exchange_weak(now, now + bytes, std::memory_order_acq_rel,
                                               std::memory_order_relaxed));
    if (ref_.share != nullptr) ref_.share->fetch_add(bytes, std::memory_order_acq_rel);
    return true;
  }

  // Gives back what a reserve() took.
  void release(uint64_t bytes) {
    if (ref_.used == nullptr) return;
    if (ref_.share != nullptr) ref_.share->fetch_sub(bytes, std::memory_order_acq_rel);
    ref_.used->fetch_sub(bytes, std::memory_order_acq_rel);
  }

  uint64_t used() const { return ref_.used == nullptr ? 0 : ref_.used->load(std::memory_order_acquire); }
  uint64_t limit() const { return ref_.limit; }

  // The daemon, for a worker it reaped: what the worker held leaves the tenant's total.
  static void reclaim(std::atomic<uint64_t>& used, std::atomic<uint64_t>& share) {
    used.fetch_sub(share.exchange(0, std::memory_order_acq_rel), std::memory_order_acq_rel);
  }

 private:
  BudgetRef ref_;
};

}  // namespace vgpud
