#include "bench/harness/interval.h"

#include <algorithm>
#include <random>

namespace bench {

namespace {

std::span<const double> round_of(const RoundSamples& s, size_t r) {
  const size_t begin = s.round_starts[r];
  const size_t end = r + 1 < s.round_starts.size() ? s.round_starts[r + 1] : s.values.size();
  return s.values.subspan(begin, end - begin);
}

// The p50 (nearest rank, as summarize() takes it) of the rounds `picks` names, pooled.
double pooled_p50(const RoundSamples& s, const std::vector<size_t>& picks, std::vector<double>* scratch) {
  scratch->clear();
  for (size_t r : picks) {
    const auto round = round_of(s, r);
    scratch->insert(scratch->end(), round.begin(), round.end());
  }
  const size_t rank = (scratch->size() + 1) / 2;  // ceil(n / 2), at least 1
  std::nth_element(scratch->begin(), scratch->begin() + static_cast<std::ptrdiff_t>(rank - 1), scratch->end());
  return (*scratch)[rank - 1];
}

bool usable(const RoundSamples& s) {
  return s.round_starts.size() >= 2 && s.round_starts.front() == 0 && s.round_starts.back() < s.values.size() &&
         std::is_sorted(s.round_starts.begin(), s.round_starts.end());
}

}  // namespace

std::optional<Interval> target_interval(const Target& target, const RoundSamples& native,
                                        const RoundSamples& shim, int iterations) {
  if (target.kind == Target::Kind::None || iterations < 40 || !usable(native) || !usable(shim)) return std::nullopt;
  std::mt19937_64 random(0x76677075);  // fixed: a table is reproducible from its samples
  std::vector<double> stats, scratch;
  std::vector<size_t> native_picks(native.round_starts.size()), shim_picks(shim.round_starts.size());
  std::uniform_int_distribution<size_t> native_round(0, native_picks.size() - 1), shim_round(0, shim_picks.size() - 1);
  stats.reserve(static_cast<size_t>(iterations));
  for (int i = 0; i < iterations; ++i) {
    for (size_t& p : native_picks) p = native_round(random);
    for (size_t& p : shim_picks) p = shim_round(random);
    const double n = pooled_p50(native, native_picks, &scratch);
    stats.push_back(target.statistic(n, pooled_p50(shim, shim_picks, &scratch)));
  }
  std::sort(stats.begin(), stats.end());
  const auto at = [&](double q) { return stats[static_cast<size_t>(q * static_cast<double>(stats.size() - 1))]; };
  return Interval{at(0.025), at(0.975)};
}

}  // namespace bench
