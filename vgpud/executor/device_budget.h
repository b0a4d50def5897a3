// A tenant's device memory, shared by all its channels (in TenantSharedState), and the one way
// to take from it: a reservation that either fits under the limit, whole, or changes nothing.
// One compare-and-swap decides, so two channels racing cannot both slip under the limit, and
// the sum is checked for overflow before it is formed, so a huge request cannot wrap the
// counter and let another channel in while it is wrapped.
#pragma once
#include <atomic>
#include <cstdint>

namespace vgpud {

class DeviceBudget {
 public:
  // limit 0: no limit (the bytes are still counted, for `vgpud counters`). `share`, if given,
  // counts what one channel holds of `used`, so that its worker can give that back when it
  // must exit while its executor is stuck in the driver (give_back_share()).
  DeviceBudget(std::atomic<uint64_t>* used, uint64_t limit, std::atomic<uint64_t>* share = nullptr)
      : used_(used), limit_(limit), share_(share) {}

  // Takes the whole share off `used`, once; later reserves and releases through that share
  // leave `used` alone. Race-free against an executor still reserving or releasing: each of
  // those moves the share first, and whichever of the two comes second sees the other.
  static void give_back_share(std::atomic<uint64_t>* used, std::atomic<uint64_t>* share) {
    const uint64_t held = share->exchange(kGivenBackShare, std::memory_order_acq_rel);
    if ((held & kShareGivenBack) == 0) used->fetch_sub(held, std::memory_order_acq_rel);
  }

  // Takes bytes from the budget, or returns false and takes nothing.
  [[nodiscard]] bool reserve(uint64_t bytes) {
    // A share stays far below its mark bit: no GPU has 2^62 bytes (the driver would refuse).
    if (share_ != nullptr && bytes >= kGivenBackShare - kShareGivenBack) return false;
    uint64_t now = used_->load(std::memory_order_relaxed);
    do {
      const uint64_t cap = limit_ == 0 ? UINT64_MAX : limit_;
      if (bytes > cap || now > cap - bytes) return false;
    } while (!used_->compare_exchange_weak(now, now + bytes, std::memory_order_acq_rel,
                                           std::memory_order_relaxed));
    // Given back already (without these bytes): `used` must not keep them either.
    if (share_ != nullptr &&
        (share_->fetch_add(bytes, std::memory_order_acq_rel) & kShareGivenBack) != 0)
      used_->fetch_sub(bytes, std::memory_order_acq_rel);
    return true;
  }

  // Gives back what a reserve() took (an allocation freed, or the driver refused it).
  void release(uint64_t bytes) {
    // Once the share was given back, `used` no longer holds these bytes.
    if (share_ != nullptr &&
        (share_->fetch_sub(bytes, std::memory_order_acq_rel) & kShareGivenBack) != 0)
      return;
    used_->fetch_sub(bytes, std::memory_order_acq_rel);
  }

  uint64_t used() const { return used_->load(std::memory_order_acquire); }
  uint64_t limit() const { return limit_; }

 private:
  // The bit that marks a share given back. The share is set to the middle of the marked half
  // (2^63 + 2^62), so that the later releases and reserves of a stuck executor (far less than
  // 2^62 bytes) leave the bit set.
  static constexpr uint64_t kShareGivenBack = 1ull << 63;
  static constexpr uint64_t kGivenBackShare = kShareGivenBack | (kShareGivenBack >> 1);

  std::atomic<uint64_t>* used_;
  uint64_t limit_;
  std::atomic<uint64_t>* share_;
};

}  // namespace vgpud
