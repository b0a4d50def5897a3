// The benchmark cases: what each measures, in which unit, how many samples a round takes, and
// the target it is held to (the targets; cases without one are reported only).
#pragma once
#include <string>
#include <vector>

namespace bench {

// Which child program runs a case (bench/README.md).
enum class ChildKind { Cuda, Transport };
enum class Better { Lower, Higher };

struct Target {
  enum class Kind { None, RatioAtLeast, PlusAtMost, AtMost };
  Kind kind = Kind::None;
  double value = 0;

  // "≥ 95% of native", "≤ native + 2 us", "≤ 0.2 us", or "" for none.
  std::string describe(const std::string& unit) const;
  // Whether a shim side's p50 meets it against the native p50 (always true without a target).
  // Both shims are held to the same targets.
  bool met(double native_p50, double shim_p50) const;
  // What met() compares with `value`: shim / native, shim − native, or the shim's p50 alone.
  double statistic(double native_p50, double shim_p50) const;
  // That statistic as the table shows it: "0.962", "+1.41", "0.150".
  std::string format_statistic(double v) const;
};

struct CaseSpec {
  std::string name;   // what the child knows it by
  std::string group;  // launch, copy, bulk, alloc, local, app, transport
  ChildKind child;
  std::string unit;
  Better better;
  int samples;        // per round and per side, before --scale
  Target target;      // for every shim side
};

const std::vector<CaseSpec>& all_cases();

// Cases whose name or group is in `selection` (comma-separated; "all" for every case), in
// table order. Unknown words are returned in *unknown.
std::vector<CaseSpec> select_cases(const std::string& selection, std::vector<std::string>* unknown);

}  // namespace bench
