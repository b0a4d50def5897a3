#include "bench/harness/cases.h"

#include <fmt/format.h>

#include <set>
#include <sstream>

namespace bench {

std::string Target::describe(const std::string& unit) const {
  switch (kind) {
    case Kind::None: return "";
    case Kind::RatioAtLeast: return fmt::format("≥ {:g}% of native", value * 100);
    case Kind::PlusAtMost: return fmt::format("≤ native + {:g} {}", value, unit);
    case Kind::AtMost: return fmt::format("≤ {:g} {}", value, unit);
  }
  return "";
}

bool Target::met(double native_p50, double shim_p50) const {
  switch (kind) {
    case Kind::None: return true;
    case Kind::RatioAtLeast: return shim_p50 >= value * native_p50;
    case Kind::PlusAtMost: return shim_p50 <= native_p50 + value;
    case Kind::AtMost: return shim_p50 <= value;
  }
  return true;
}

double Target::statistic(double native_p50, double shim_p50) const {
  switch (kind) {
    case Kind::None:
    case Kind::RatioAtLeast: return native_p50 > 0 ? shim_p50 / native_p50 : 0;
    case Kind::PlusAtMost: return shim_p50 - native_p50;
    case Kind::AtMost: return shim_p50;
  }
  return 0;
}

std::string Target::format_statistic(double v) const {
  return kind == Kind::PlusAtMost ? fmt::format("{:+.2f}", v) : fmt::format("{:.3f}", v);
}

namespace {

constexpr Target kNoTarget{};
Target ratio_at_least(double r) { return {Target::Kind::RatioAtLeast, r}; }
Target plus_at_most(double us) { return {Target::Kind::PlusAtMost, us}; }
Target at_most(double us) { return {Target::Kind::AtMost, us}; }

std::vector<CaseSpec> make_cases() {
  using enum ChildKind;
  std::vector<CaseSpec> cases = {
      // 1, 2: launches. launch_cpu is one launch's CPU cost (mean of a batch of 100). The
      // asynchronous launch rate must stay within 5% of native through either shim.
      {"launch_cpu", "launch", Cuda, "us", Better::Lower, 100, kNoTarget},
      {"launch_rate", "launch", Cuda, "launches/s", Better::Higher, 3, ratio_at_least(0.95)},
      {"launch_sync", "launch", Cuda, "us", Better::Lower, 2000, plus_at_most(2)},
  };
  // 3: small synchronous copies (no target in the issue: reported).
  for (const char* dir : {"h2d", "d2h"})
    for (const char* size : {"8B", "4KB"})
      for (const char* mem : {"pageable", "pinned"})
        cases.push_back({fmt::format("copy_{}_{}_{}", dir, size, mem), "copy", Cuda, "us",
                         Better::Lower, 1000, kNoTarget});
  // 4: bulk copies; the targets are at 256 MB.
  for (const char* dir : {"h2d", "d2h"})
    for (const char* mem : {"pageable", "pinned"})
      for (auto [size, samples] : {std::pair{"1MB", 50}, {"16MB", 10}, {"256MB", 4}}) {
        Target t = kNoTarget;
        if (std::string(size) == "256MB")
          t = std::string(mem) == "pinned" ? ratio_at_least(0.90) : ratio_at_least(1.0);
        cases.push_back({fmt::format("bulk_{}_{}_{}", dir, size, mem), "bulk", Cuda, "GB/s",
                         Better::Higher, samples, t});
      }
  // 5: allocation.
  for (const char* op : {"malloc", "free"})
    for (auto [size, samples] : {std::pair{"256B", 200}, {"1MB", 200}, {"64MB", 100}, {"1GB", 20}})
      cases.push_back({fmt::format("{}_{}", op, size), "alloc", Cuda, "us", Better::Lower, samples,
                       plus_at_most(5)});
  // 6: calls the shim answers without a round trip (mean of 1000 calls per sample).
  for (const char* name :
       {"get_last_error", "get_device", "get_device_properties", "device_get_attribute"})
    cases.push_back({name, "local", Cuda, "us", Better::Lower, 50, at_most(0.2)});
  // 7: application-shaped loops.
  cases.push_back({"app_small_kernels", "app", Cuda, "steps/s", Better::Higher, 10,
                   ratio_at_least(0.95)});
  cases.push_back({"app_matmul", "app", Cuda, "GFLOP/s", Better::Higher, 3, ratio_at_least(0.95)});
  // 8: graphs: a captured graph of 100 small kernels, launched repeatedly.
  cases.push_back({"graph_launch", "graph", Cuda, "graphs/s", Better::Higher, 5, ratio_at_least(0.95)});
  // 8b: managed memory: the CPU writes, a kernel updates, the CPU reads; what coherence costs.
  cases.push_back({"managed_roundtrip", "managed", Cuda, "GB/s", Better::Higher, 5, kNoTarget});
  // 9: the transport alone; "native" is the same rings between two threads of one process.
  cases.push_back({"ring_round_trip", "transport", Transport, "us", Better::Lower, 5000, kNoTarget});
  cases.push_back({"ring_messages", "transport", Transport, "messages/s", Better::Higher, 5,
                   kNoTarget});
  return cases;
}

}  // namespace

const std::vector<CaseSpec>& all_cases() {
  static const std::vector<CaseSpec> cases = make_cases();
  return cases;
}

std::vector<CaseSpec> select_cases(const std::string& selection, std::vector<std::string>* unknown) {
  std::set<std::string> words;
  std::istringstream in(selection);
  for (std::string w; std::getline(in, w, ',');)
    if (!w.empty()) words.insert(w);
  std::set<std::string> used;
  std::vector<CaseSpec> out;
  for (const CaseSpec& c : all_cases()) {
    const bool all = words.count("all") != 0;
    if (all || words.count(c.name) || words.count(c.group)) out.push_back(c);
    if (words.count(c.name)) used.insert(c.name);
    if (words.count(c.group)) used.insert(c.group);
  }
  for (const std::string& w : words)
    if (w != "all" && !used.count(w)) unknown->push_back(w);
  return out;
}

}  // namespace bench
