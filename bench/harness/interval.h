// How far a verdict can be trusted. On the GPU machine a case's cost moves between rounds by
// more than several targets' margins (bench/RESULTS.md: the driver's own cost for a 1 GB
// allocation takes a different level each round), so the table gives, beside each verdict,
// the 95% interval of the statistic the target compares, from a bootstrap over rounds: whole
// rounds are drawn with replacement, because samples within a round are not independent.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "bench/harness/cases.h"

namespace bench {

// One side's samples, with where each round's begin.
struct RoundSamples {
  std::span<const double> values;
  std::span<const size_t> round_starts;  // ascending offsets into values; the first is 0
};

struct Interval {
  double low = 0;
  double high = 0;
};

// The 95% interval of target.statistic(native p50, shim p50) over `iterations` resamplings;
// nothing without a target, or with fewer than 2 rounds on either side. Deterministic: the
// same samples give the same interval.
std::optional<Interval> target_interval(const Target& target, const RoundSamples& native,
                                        const RoundSamples& shim, int iterations = 1000);

}  // namespace bench
