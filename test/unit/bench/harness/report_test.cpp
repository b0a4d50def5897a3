#include <catch2/catch.hpp>

#include "bench/harness/cases.h"
#include "bench/harness/report.h"

using namespace bench;

TEST_CASE("percentiles point at the worst 1% in the metric's direction", "[bench]") {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  const Summary lower = summarize(v, Better::Lower);
  CHECK(lower.p50 == 50);
  CHECK(lower.p99 == 99);
  CHECK(lower.mean == Approx(50.5));
  const Summary higher = summarize(v, Better::Higher);
  CHECK(higher.p50 == 50);
  CHECK(higher.p99 == 1);
  CHECK(summarize({7}, Better::Lower).p99 == 7);
}

TEST_CASE("targets compare the remoted p50 with the native one", "[bench]") {
  const Target ratio{Target::Kind::RatioAtLeast, 0.95};
  CHECK(ratio.met(100, 95));
  CHECK_FALSE(ratio.met(100, 94.9));
  const Target plus{Target::Kind::PlusAtMost, 2};
  CHECK(plus.met(9.4, 11.4));
  CHECK_FALSE(plus.met(9.4, 11.5));
  const Target at_most{Target::Kind::AtMost, 0.2};
  CHECK(at_most.met(0.05, 0.2));
  CHECK_FALSE(at_most.met(0.05, 0.21));
  CHECK(Target{}.met(1, 1000));
  CHECK(plus.describe("us") == "≤ native + 2 us");
}

TEST_CASE("cases are selected by name or group, unknown words reported", "[bench]") {
  std::vector<std::string> unknown;
  auto picked = select_cases("transport,launch_sync,nonsense", &unknown);
  REQUIRE(picked.size() == 3);
  CHECK(picked[0].name == "launch_sync");  // table order, not the order asked
  CHECK(picked[1].name == "ring_round_trip");
  REQUIRE(unknown == std::vector<std::string>{"nonsense"});
  unknown.clear();
  CHECK(select_cases("all", &unknown).size() == all_cases().size());
  CHECK(unknown.empty());
}

TEST_CASE("the table marks missed targets and errors", "[bench]") {
  CaseSpec spec{"launch_sync", "launch", ChildKind::Cuda, "us", Better::Lower, 1,
                {Target::Kind::PlusAtMost, 2}};
  CaseOutcome missed{spec, {{9, 9, 9}, {}}, {{12, 12, 12}, {}}};
  CaseOutcome failed{spec, {{9}, {}}, {{}, "cuda vgpu: no answer within the time limit"}};
  const std::string table = format_table({missed, failed});
  CHECK(table.find("| launch_sync | us | 9.00 | 9.00 | 12.00 | 12.00 | 1.333 | ≤ native + 2 us | "
                   "**missed** |") != std::string::npos);
  CHECK(table.find("**error**") != std::string::npos);
  CHECK(table.find("launch_sync vgpu: cuda vgpu: no answer") != std::string::npos);
}
