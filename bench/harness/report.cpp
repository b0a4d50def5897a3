#include "bench/harness/report.h"

#include "bench/harness/interval.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

namespace bench {

namespace {

// Nearest-rank percentile of sorted values, q in [0, 1].
double percentile(const std::vector<double>& sorted, double q) {
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

// Four significant digits, without exponent for the magnitudes that occur here.
std::string number(double v) {
  if (v == 0) return "0";
  const double a = std::fabs(v);
  if (a >= 1e6) return fmt::format("{:.4g}M", v / 1e6);
  if (a >= 1e4) return fmt::format("{:.0f}", v);
  if (a >= 100) return fmt::format("{:.1f}", v);
  if (a >= 1) return fmt::format("{:.2f}", v);
  return fmt::format("{:.3f}", v);
}

nlohmann::json side_json(const Side& side, Better better) {
  nlohmann::json j;
  if (!side.error.empty()) j["error"] = side.error;
  if (!side.values.empty()) {
    const Summary s = summarize(side.values, better);
    j["p50"] = s.p50;
    j["p99"] = s.p99;
    j["mean"] = s.mean;
    j["count"] = s.count;
    j["samples"] = side.values;
  }
  return j;
}

RoundSamples rounds_of(const Side& side) { return {side.values, side.round_starts}; }

// "met", "**missed**", then the 95% interval where the run had rounds enough for one.
std::string verdict_cell(const CaseOutcome& o, const Side& native, const Side& shim, double n, double r) {
  const Target& t = o.spec.target;
  std::string cell = t.met(n, r) ? "met" : "**missed**";
  if (auto i = target_interval(t, rounds_of(native), rounds_of(shim)))
    cell += fmt::format(" ({} to {})", t.format_statistic(i->low), t.format_statistic(i->high));
  return cell;
}

}  // namespace

Summary summarize(std::vector<double> values, Better better) {
  Summary s;
  s.count = values.size();
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  s.p50 = percentile(values, 0.5);
  s.p99 = percentile(values, better == Better::Lower ? 0.99 : 0.01);
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  return s;
}

const Side* CaseOutcome::side(SideId id) const {
  const auto it = sides.find(id);
  return it == sides.end() ? nullptr : &it->second;
}

bool CaseOutcome::failed() const {
  return std::any_of(sides.begin(), sides.end(),
                     [](const auto& s) { return !s.second.error.empty() || s.second.values.empty(); });
}

std::string format_table(const std::vector<CaseOutcome>& outcomes,
                         const std::vector<std::string>& notes) {
  // Columns for the shim sides that some case ran, so a run without the driver shim (or one
  // asked for fewer sides) prints no empty columns.
  std::vector<SideId> shims;
  for (SideId id : kAllSides)
    if (id != SideId::Native &&
        std::any_of(outcomes.begin(), outcomes.end(), [&](const CaseOutcome& o) { return o.side(id); }))
      shims.push_back(id);

  std::string head = "| case | unit | native p50 | native p99 |";
  std::string rule = "| --- | --- | ---: | ---: |";
  for (SideId id : shims) {
    head += fmt::format(" {0} p50 | {0} p99 | {0}/native |", side_key(id));
    rule += " ---: | ---: | ---: |";
  }
  head += " target |";
  rule += " --- |";
  for (SideId id : shims) {
    head += fmt::format(" {} |", side_key(id));
    rule += " --- |";
  }
  std::string out = head + "\n" + rule + "\n";

  std::string errors;
  for (const CaseOutcome& o : outcomes) {
    const CaseSpec& c = o.spec;
    const Side* native = o.side(SideId::Native);
    const bool have_native = native && !native->values.empty() && native->error.empty();
    const Summary n = have_native ? summarize(native->values, c.better) : Summary{};
    std::string row = fmt::format("| {} | {} | {} | {} |", c.name, c.unit,
                                  have_native ? number(n.p50) : "—", have_native ? number(n.p99) : "—");
    std::string verdicts;
    for (SideId id : shims) {
      const Side* side = o.side(id);
      const bool have = side && !side->values.empty() && side->error.empty();
      const Summary r = have ? summarize(side->values, c.better) : Summary{};
      std::string ratio = "—", verdict;
      if (have && have_native && n.p50 > 0) {
        ratio = fmt::format("{:.3f}", r.p50 / n.p50);
        if (c.target.kind != Target::Kind::None) verdict = verdict_cell(o, *native, *side, n.p50, r.p50);
      } else if ((side && !have) || (have && native)) {
        // It ran without figures, or native ran without them. (A side not run for this case,
        // such as the driver side of a transport case, or no native side at all: blank.)
        verdict = "**error**";
      }
      row += fmt::format(" {} | {} | {} |", have ? number(r.p50) : "—", have ? number(r.p99) : "—",
                         ratio);
      verdicts += fmt::format(" {} |", verdict);
    }
    out += row + fmt::format(" {} |", c.target.describe(c.unit)) + verdicts + "\n";
    for (const auto& [id, side] : o.sides)
      if (!side.error.empty()) errors += fmt::format("- {} {}: {}\n", c.name, side_key(id), side.error);
  }
  if (!notes.empty()) {
    out += "\nNotes:\n";
    for (const std::string& note : notes) out += "- " + note + "\n";
  }
  if (!errors.empty()) out += "\nErrors:\n" + errors;
  return out;
}

std::string format_json(const RunInfo& info, const std::vector<CaseOutcome>& outcomes) {
  nlohmann::json j;
  j["date"] = info.date;
  j["host"] = info.host;
  j["cpu"] = info.cpu;
  j["gpu"] = info.gpu;
  j["commit"] = info.commit;
  j["command"] = info.command;
  j["rounds"] = info.rounds;
  j["scale"] = info.scale;
  j["sides"] = nlohmann::json::array();
  for (SideId id : info.sides) j["sides"].push_back(side_key(id));
  j["notes"] = info.notes;
  j["cases"] = nlohmann::json::array();
  for (const CaseOutcome& o : outcomes) {
    nlohmann::json c;
    c["name"] = o.spec.name;
    c["group"] = o.spec.group;
    c["unit"] = o.spec.unit;
    c["better"] = o.spec.better == Better::Lower ? "lower" : "higher";
    c["target"] = o.spec.target.describe(o.spec.unit);
    for (const auto& [id, side] : o.sides) c[side_key(id)] = side_json(side, o.spec.better);
    // Per shim side: its p50 over native's, and whether it met the target.
    const Side* native = o.side(SideId::Native);
    if (native && native->error.empty() && !native->values.empty()) {
      const double n = summarize(native->values, o.spec.better).p50;
      for (const auto& [id, side] : o.sides) {
        if (id == SideId::Native || !side.error.empty() || side.values.empty()) continue;
        const double r = summarize(side.values, o.spec.better).p50;
        c["ratio"][side_key(id)] = n > 0 ? r / n : 0.0;
        if (o.spec.target.kind == Target::Kind::None) continue;
        c["target_met"][side_key(id)] = o.spec.target.met(n, r);
        if (auto i = target_interval(o.spec.target, rounds_of(*native), rounds_of(side)))
          c["interval_95"][side_key(id)] = {i->low, i->high};
      }
    }
    j["cases"].push_back(std::move(c));
  }
  return j.dump(1) + "\n";
}

}  // namespace bench
