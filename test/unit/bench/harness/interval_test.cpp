#include <catch2/catch.hpp>

#include "bench/harness/interval.h"

using namespace bench;

namespace {

// `rounds` rounds of `per_round` samples; round r's samples all equal level(r).
struct Rounds {
  std::vector<double> values;
  std::vector<size_t> starts;
  RoundSamples view() const { return {values, starts}; }
};
template <typename Level>
Rounds make_rounds(int rounds, int per_round, Level level) {
  Rounds out;
  for (int r = 0; r < rounds; ++r) {
    out.starts.push_back(out.values.size());
    for (int i = 0; i < per_round; ++i) out.values.push_back(level(r) + 0.001 * i);
  }
  return out;
}

}  // namespace

TEST_CASE("a steady difference gives a narrow interval around it", "[bench]") {
  const Target plus{Target::Kind::PlusAtMost, 5};
  const auto native = make_rounds(30, 20, [](int) { return 10.0; });
  const auto shim = make_rounds(30, 20, [](int) { return 11.5; });
  const auto i = target_interval(plus, native.view(), shim.view());
  REQUIRE(i);
  CHECK(i->low == Approx(1.5).margin(0.02));
  CHECK(i->high == Approx(1.5).margin(0.02));
  CHECK(plus.format_statistic(i->low) == "+1.50");
}

TEST_CASE("rounds at two levels give an interval that spans the levels' mix", "[bench]") {
  // Each side's round takes 100 or 135 at random, as the driver's large allocations do; the
  // shim adds 1.5. One run's p50s can land on different levels: the interval says so.
  const Target plus{Target::Kind::PlusAtMost, 5};
  auto level = [](uint32_t seed) {
    return [seed](int r) { return ((static_cast<uint32_t>(r) * 2654435761u + seed) >> 7) % 3 == 0 ? 135.0 : 100.0; };
  };
  const auto native = make_rounds(30, 20, level(1));
  const auto shim = make_rounds(30, 20, [&](int r) { return level(99)(r) + 1.5; });
  const auto i = target_interval(plus, native.view(), shim.view());
  REQUIRE(i);
  CHECK(i->low < 1.5);
  CHECK(i->high - i->low > 20);  // far wider than the margin: one run cannot decide it
}

TEST_CASE("the interval is reproducible, and needs a target and two rounds per side", "[bench]") {
  const Target ratio{Target::Kind::RatioAtLeast, 0.95};
  const auto native = make_rounds(10, 5, [](int r) { return 100.0 + r; });
  const auto shim = make_rounds(10, 5, [](int r) { return 96.0 + 2 * r; });
  const auto a = target_interval(ratio, native.view(), shim.view());
  const auto b = target_interval(ratio, native.view(), shim.view());
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->low == b->low);
  CHECK(a->high == b->high);
  CHECK(a->low < a->high);
  CHECK_FALSE(target_interval(Target{}, native.view(), shim.view()));
  const auto one = make_rounds(1, 5, [](int) { return 1.0; });
  CHECK_FALSE(target_interval(ratio, one.view(), shim.view()));
}
