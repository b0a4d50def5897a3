#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

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
  CaseOutcome missed{spec, {{SideId::Native, {{9, 9, 9}, {}, {}}}, {SideId::Runtime, {{12, 12, 12}, {}, {}}}}};
  CaseOutcome failed{spec,
                     {{SideId::Native, {{9}, {}, {}}},
                      {SideId::Runtime, {{}, "cuda runtime shim: no answer within the time limit", {}}}}};
  const std::string table = format_table({missed, failed});
  CHECK(table.find("| case | unit | native p50 | native p99 | runtime p50 | runtime p99 | "
                   "runtime/native | target | runtime |\n") == 0);
  CHECK(table.find("| launch_sync | us | 9.00 | 9.00 | 12.00 | 12.00 | 1.333 | ≤ native + 2 us | "
                   "**missed** |") != std::string::npos);
  CHECK(table.find("**error**") != std::string::npos);
  CHECK(table.find("launch_sync runtime: cuda runtime shim: no answer") != std::string::npos);
  CHECK(missed.failed() == false);
  CHECK(failed.failed());
}

TEST_CASE("both shims get their own columns and verdicts", "[bench]") {
  CaseSpec rate{"launch_rate", "launch", ChildKind::Cuda, "launches/s", Better::Higher, 1,
                {Target::Kind::RatioAtLeast, 0.95}};
  CaseOutcome three{rate,
                    {{SideId::Native, {{200000}, {}, {}}},
                     {SideId::Runtime, {{196000}, {}, {}}},
                     {SideId::Driver, {{180000}, {}, {}}}}};
  CaseSpec ring{"ring_round_trip", "transport", ChildKind::Transport, "us", Better::Lower, 1, {}};
  CaseOutcome two{ring, {{SideId::Native, {{1}, {}, {}}}, {SideId::Runtime, {{3}, {}, {}}}}};
  const std::string table = format_table({three, two}, {"the driver shim side was skipped: x"});
  CHECK(table.find("| case | unit | native p50 | native p99 | runtime p50 | runtime p99 | "
                   "runtime/native | driver p50 | driver p99 | driver/native | target | runtime | "
                   "driver |\n") == 0);
  CHECK(table.find("| launch_rate | launches/s | 200000 | 200000 | 196000 | 196000 | 0.980 | "
                   "180000 | 180000 | 0.900 | ≥ 95% of native | met | **missed** |") !=
        std::string::npos);
  // A transport case has no driver side: dashes and no verdict, not an error.
  CHECK(table.find("| ring_round_trip | us | 1.00 | 1.00 | 3.00 | 3.00 | 3.000 | — | — | — |  |  |  |") !=
        std::string::npos);
  CHECK(table.find("Notes:\n- the driver shim side was skipped: x\n") != std::string::npos);
  CHECK(table.find("**error**") == std::string::npos);

  // The JSON keeps every side's samples and a ratio and verdict per shim.
  RunInfo info;
  info.sides = {SideId::Native, SideId::Runtime, SideId::Driver};
  const auto json = nlohmann::json::parse(format_json(info, {three, two}));
  CHECK(json["sides"] == nlohmann::json({"native", "runtime", "driver"}));
  const auto& c = json["cases"][0];
  CHECK(c["native"]["samples"] == nlohmann::json({200000.0}));
  CHECK(c["runtime"]["samples"] == nlohmann::json({196000.0}));
  CHECK(c["driver"]["samples"] == nlohmann::json({180000.0}));
  CHECK(c["ratio"]["runtime"].get<double>() == Approx(0.98));
  CHECK(c["ratio"]["driver"].get<double>() == Approx(0.9));
  CHECK(c["target_met"]["runtime"] == true);
  CHECK(c["target_met"]["driver"] == false);
  const auto& t = json["cases"][1];
  CHECK(t.contains("runtime"));
  CHECK_FALSE(t.contains("driver"));
  CHECK_FALSE(t.contains("target_met"));
}

TEST_CASE("a verdict carries its 95% interval when the run had rounds", "[bench]") {
  CaseSpec spec{"malloc_256B", "alloc", ChildKind::Cuda, "us", Better::Lower, 2, {Target::Kind::PlusAtMost, 5}};
  Side native{{2, 2, 2, 2, 2, 2}, {}, {0, 2, 4}};
  Side runtime{{3.5, 3.5, 3.5, 3.5, 3.5, 3.5}, {}, {0, 2, 4}};
  const std::string table = format_table({{spec, {{SideId::Native, native}, {SideId::Runtime, runtime}}}});
  CHECK(table.find("| ≤ native + 5 us | met (+1.50 to +1.50) |") != std::string::npos);
  RunInfo info;
  const auto json = nlohmann::json::parse(format_json(info, {{spec, {{SideId::Native, native}, {SideId::Runtime, runtime}}}}));
  CHECK(json["cases"][0]["interval_95"]["runtime"] == nlohmann::json({1.5, 1.5}));
}
