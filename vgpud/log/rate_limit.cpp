#include "vgpud/log/rate_limit.h"

#include <algorithm>
#include <utility>

namespace vgpud::log {

namespace {
constexpr int64_t kNanosPerSecond = 1'000'000'000;
}

LineLimiter::LineLimiter(LineRate rate, Now now)
    : now_(std::move(now)),
      cost_ns_(kNanosPerSecond / std::max<uint32_t>(rate.per_second, 1)),
      capacity_ns_(cost_ns_ * std::max<uint32_t>(rate.burst, 1)),
      credit_ns_(capacity_ns_),  // a full bucket: the first burst goes out
      last_(now_()) {}

std::optional<uint64_t> LineLimiter::admit() {
  const Clock::time_point now = now_();
  std::lock_guard lock(mutex_);
  // A clock that went backwards (a fake one in a test) refills nothing.
  if (now > last_) {
    const int64_t elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_).count();
    // Capped before adding: after a long quiet spell `elapsed` could be anything.
    credit_ns_ = std::min(capacity_ns_, credit_ns_ + std::min(elapsed, capacity_ns_));
    last_ = now;
  }
  if (credit_ns_ < cost_ns_) {
    ++dropped_;
    return std::nullopt;
  }
  credit_ns_ -= cost_ns_;
  return std::exchange(dropped_, 0);
}

uint64_t LineLimiter::take_dropped() {
  std::lock_guard lock(mutex_);
  return std::exchange(dropped_, 0);
}

}  // namespace vgpud::log
