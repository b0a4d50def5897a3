#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>

#include "vgpud/executor/device_budget.h"

using vgpud::DeviceBudget;

TEST_CASE("a channel's share is given back once, whatever its executor does after",
          "[device_budget]") {
  std::atomic<uint64_t> used{0}, mine{0}, other{0};
  DeviceBudget channel(&used, 0, &mine);
  DeviceBudget neighbour(&used, 0, &other);
  REQUIRE_FALSE(channel.reserve(1ull << 62));  // would reach the share's mark bit
  REQUIRE(channel.reserve(300));
  REQUIRE(neighbour.reserve(50));
  channel.release(100);
  REQUIRE(used == 250);

  // The worker exits while its executor is stuck: the tenant keeps only the neighbour's bytes.
  DeviceBudget::give_back_share(&used, &mine);
  REQUIRE(used == 50);
  DeviceBudget::give_back_share(&used, &mine);  // once only
  REQUIRE(used == 50);

  // The executor's driver call returns after all: its frees and allocations no longer count.
  channel.release(200);
  REQUIRE(used == 50);
  REQUIRE(channel.reserve(70));
  REQUIRE(used == 50);
  neighbour.release(50);
  REQUIRE(used == 0);
}
