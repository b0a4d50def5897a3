#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "vgpud/executor/tenant_budget.h"

using vgpud::BudgetRef;
using vgpud::TenantBudget;

namespace {
constexpr uint64_t kMiB = 1ull << 20;
}

TEST_CASE("a reservation fits under the limit whole or takes nothing", "[tenant_budget]") {
  std::atomic<uint64_t> used{0};
  TenantBudget budget(BudgetRef{&used, nullptr, 64 * kMiB});
  REQUIRE(budget.reserve(64 * kMiB));
  REQUIRE_FALSE(budget.reserve(1));
  REQUIRE(used == 64 * kMiB);
  budget.release(32 * kMiB);
  REQUIRE_FALSE(budget.reserve(32 * kMiB + 1));
  REQUIRE(budget.reserve(32 * kMiB));
  budget.release(64 * kMiB);
  REQUIRE(used == 0);
}

TEST_CASE("sizes that would wrap the counter are refused without touching it", "[tenant_budget]") {
  std::atomic<uint64_t> used{0};
  TenantBudget limited(BudgetRef{&used, nullptr, 64 * kMiB});
  REQUIRE(limited.reserve(16 * kMiB));
  REQUIRE_FALSE(limited.reserve(UINT64_MAX));
  REQUIRE_FALSE(limited.reserve(0 - 16 * kMiB));  // exactly 2^64 - used: the sum would be 0
  REQUIRE(used == 16 * kMiB);

  TenantBudget unlimited(BudgetRef{&used, nullptr, 0});
  REQUIRE_FALSE(unlimited.reserve(0 - 16 * kMiB));
  REQUIRE(unlimited.reserve(1 * kMiB));
  REQUIRE(used == 17 * kMiB);
}

// The red team's race: one channel posts allocations of 2^64 - used while another allocates
// 1 MiB at a time. Under a limit of 64 MiB, the honest channel must never hold more than 64.
TEST_CASE("two channels racing never hold more than the limit", "[tenant_budget]") {
  std::atomic<uint64_t> used{0};
  const uint64_t limit = 64 * kMiB;
  std::atomic<bool> stop{false};
  std::thread hostile([&] {
    TenantBudget budget(BudgetRef{&used, nullptr, limit});
    while (!stop.load()) {
      const uint64_t wrap = 0 - used.load();
      if (budget.reserve(wrap)) budget.release(wrap);
    }
  });
  uint64_t most_held = 0;
  // Half a second of rounds: enough for the two threads to interleave on a busy 2-core box.
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (std::chrono::steady_clock::now() < until) {
    TenantBudget budget(BudgetRef{&used, nullptr, limit});
    uint64_t held = 0;
    while (held < 2 * limit && budget.reserve(kMiB)) held += kMiB;
    most_held = std::max(most_held, held);
    budget.release(held);
  }
  stop = true;
  hostile.join();
  REQUIRE(most_held <= limit);
  REQUIRE(used == 0);
}

TEST_CASE("a reaped worker's share leaves the tenant's total", "[tenant_budget]") {
  std::atomic<uint64_t> used{0}, mine{0}, other{0};
  TenantBudget channel(BudgetRef{&used, &mine, 0});
  TenantBudget neighbour(BudgetRef{&used, &other, 0});
  REQUIRE(channel.reserve(300));
  REQUIRE(neighbour.reserve(50));
  channel.release(100);
  REQUIRE(used == 250);
  REQUIRE(mine == 200);

  // The worker died holding 200: the daemon takes them off, once.
  TenantBudget::reclaim(used, mine);
  REQUIRE(used == 50);
  REQUIRE(mine == 0);
  TenantBudget::reclaim(used, mine);
  REQUIRE(used == 50);
  neighbour.release(50);
  REQUIRE(used == 0);
}
