// A token bucket for log lines: up to `burst` lines at once, then `per_second` lines a second.
// Lines beyond it are dropped and counted, and the next line let through learns how many.
//
// Why: a guest can make vgpud log as fast as it can send messages (200,000 rejected messages
// wrote 16.7 MB of warnings in 0.14 s). The counters (`vgpud counters`) still count every
// event; the log only needs enough lines to say what is going on.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

namespace vgpud::log {

struct LineRate {
  uint32_t burst = 20;       // lines that may go out at once after a quiet spell
  uint32_t per_second = 10;  // lines a second after that
};

class LineLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // The time source; tests pass a fake one.
  using Now = std::function<Clock::time_point()>;

  explicit LineLimiter(LineRate rate = {}, Now now = Clock::now);

  // Whether a line may be written now: nullopt when it is to be dropped (and is counted),
  // else the number of lines dropped since the last line let through (the count restarts).
  // Thread-safe.
  std::optional<uint64_t> admit();

  // The lines dropped since the last line let through, and the count restarts: for a last
  // report when nothing else will be logged (a channel ending). Thread-safe.
  uint64_t take_dropped();

 private:
  const Now now_;
  // Whole tokens are 1 s / per_second of credit, kept in nanoseconds so that refilling is
  // exact integer arithmetic.
  const int64_t cost_ns_;
  const int64_t capacity_ns_;
  std::mutex mutex_;  // two threads (mediator, executor), and only on lines that would be logged
  int64_t credit_ns_;
  Clock::time_point last_;
  uint64_t dropped_ = 0;
};

}  // namespace vgpud::log
