// The limiter with a fake clock: no test here depends on how fast it runs.
#include <catch2/catch.hpp>

#include <optional>
#include <thread>
#include <vector>

#include "vgpud/log/rate_limit.h"

using vgpud::log::LineLimiter;
using vgpud::log::LineRate;
using namespace std::chrono_literals;

namespace {

struct FakeClock {
  LineLimiter::Clock::time_point now{std::chrono::hours(1)};
  LineLimiter::Now source() {
    return [this] { return now; };
  }
};

// How many of `n` lines the limiter lets through now.
int admitted_of(LineLimiter& limiter, int n) {
  int admitted = 0;
  for (int i = 0; i < n; ++i) admitted += limiter.admit().has_value() ? 1 : 0;
  return admitted;
}

}  // namespace

TEST_CASE("a burst goes out at once, then lines are dropped", "[log][rate_limit]") {
  FakeClock clock;
  LineLimiter limiter({.burst = 20, .per_second = 10}, clock.source());
  for (int i = 0; i < 20; ++i) REQUIRE(limiter.admit() == std::optional<uint64_t>(0));
  CHECK(admitted_of(limiter, 1000) == 0);
  CHECK(limiter.take_dropped() == 1000);
  CHECK(limiter.take_dropped() == 0);  // taking restarts the count
}

TEST_CASE("the bucket refills at the rate, and no faster", "[log][rate_limit]") {
  FakeClock clock;
  LineLimiter limiter({.burst = 20, .per_second = 10}, clock.source());
  REQUIRE(admitted_of(limiter, 20) == 20);
  clock.now += 99ms;
  CHECK_FALSE(limiter.admit().has_value());
  clock.now += 1ms;  // 100 ms: one line's worth
  CHECK(limiter.admit().has_value());
  CHECK_FALSE(limiter.admit().has_value());
  clock.now += 1s;  // ten lines' worth
  CHECK(admitted_of(limiter, 100) == 10);
  // A long quiet spell refills the burst, not more.
  clock.now += 24h;
  CHECK(admitted_of(limiter, 100) == 20);
  // A clock that steps back refills nothing.
  clock.now -= 10s;
  CHECK(admitted_of(limiter, 10) == 0);
}

TEST_CASE("the next line let through learns how many were dropped", "[log][rate_limit]") {
  FakeClock clock;
  LineLimiter limiter({.burst = 2, .per_second = 1}, clock.source());
  CHECK(limiter.admit() == std::optional<uint64_t>(0));
  CHECK(limiter.admit() == std::optional<uint64_t>(0));
  for (int i = 0; i < 57; ++i) CHECK_FALSE(limiter.admit().has_value());
  clock.now += 1s;
  CHECK(limiter.admit() == std::optional<uint64_t>(57));
  CHECK(limiter.take_dropped() == 0);  // already reported
  CHECK_FALSE(limiter.admit().has_value());
  clock.now += 1s;
  CHECK(limiter.admit() == std::optional<uint64_t>(1));
}

TEST_CASE("lines from several threads are each either let through or counted",
          "[log][rate_limit]") {
  FakeClock clock;  // never moves: exactly the burst gets through
  LineLimiter limiter({.burst = 20, .per_second = 10}, clock.source());
  constexpr int kThreads = 4, kLines = 5000;
  std::vector<int> admitted(kThreads, 0);
  std::vector<uint64_t> reported(kThreads, 0);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < kLines; ++i)
          if (auto dropped = limiter.admit()) {
            ++admitted[t];
            reported[t] += *dropped;
          }
      });
  }
  int total_admitted = 0;
  uint64_t total_reported = 0;
  for (int t = 0; t < kThreads; ++t) {
    total_admitted += admitted[t];
    total_reported += reported[t];
  }
  CHECK(total_admitted == 20);
  CHECK(total_reported + limiter.take_dropped() == kThreads * kLines - 20);
}
