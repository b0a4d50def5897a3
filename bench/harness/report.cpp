#include "bench/harness/report.h"

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

std::string format_table(const std::vector<CaseOutcome>& outcomes) {
  std::string out =
      "| case | unit | native p50 | native p99 | vgpu p50 | vgpu p99 | vgpu/native | target | |\n"
      "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |\n";
  std::string errors;
  for (const CaseOutcome& o : outcomes) {
    const CaseSpec& c = o.spec;
    const bool have_native = !o.native.values.empty() && o.native.error.empty();
    const bool have_remoted = !o.remoted.values.empty() && o.remoted.error.empty();
    const Summary n = summarize(o.native.values, c.better);
    const Summary r = summarize(o.remoted.values, c.better);
    std::string ratio = "—", verdict;
    if (have_native && have_remoted && n.p50 > 0) {
      ratio = fmt::format("{:.3f}", r.p50 / n.p50);
      if (c.target.kind != Target::Kind::None)
        verdict = c.target.met(n.p50, r.p50) ? "met" : "**missed**";
    } else {
      verdict = "**error**";
    }
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", c.name, c.unit,
                       have_native ? number(n.p50) : "—", have_native ? number(n.p99) : "—",
                       have_remoted ? number(r.p50) : "—", have_remoted ? number(r.p99) : "—",
                       ratio, c.target.describe(c.unit), verdict);
    if (!o.native.error.empty()) errors += fmt::format("- {} native: {}\n", c.name, o.native.error);
    if (!o.remoted.error.empty()) errors += fmt::format("- {} vgpu: {}\n", c.name, o.remoted.error);
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
  j["cases"] = nlohmann::json::array();
  for (const CaseOutcome& o : outcomes) {
    nlohmann::json c;
    c["name"] = o.spec.name;
    c["group"] = o.spec.group;
    c["unit"] = o.spec.unit;
    c["better"] = o.spec.better == Better::Lower ? "lower" : "higher";
    c["target"] = o.spec.target.describe(o.spec.unit);
    c["native"] = side_json(o.native, o.spec.better);
    c["vgpu"] = side_json(o.remoted, o.spec.better);
    if (o.native.error.empty() && o.remoted.error.empty() && !o.native.values.empty() &&
        !o.remoted.values.empty()) {
      const double n = summarize(o.native.values, o.spec.better).p50;
      const double r = summarize(o.remoted.values, o.spec.better).p50;
      c["ratio"] = n > 0 ? r / n : 0.0;
      if (o.spec.target.kind != Target::Kind::None) c["target_met"] = o.spec.target.met(n, r);
    }
    j["cases"].push_back(std::move(c));
  }
  return j.dump(1) + "\n";
}

}  // namespace bench
