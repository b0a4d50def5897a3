#include "bench/harness/bench_run.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "bench/harness/child.h"
#include "bench/harness/side_children.h"
#include "bench/harness/vgpud_instance.h"

namespace bench {

namespace {

// The children of one kind of case, one per side it runs on.
using Children = std::map<SideId, std::unique_ptr<CaseChild>>;

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

std::string host_name() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

vgpu::Result<Children, std::string> start_children(ChildKind kind, const Options& o,
                                                    const std::vector<SideId>& sides,
                                                    const std::string& socket) {
  Children out;
  for (SideId side : sides) {
    if (!case_has_side(kind, side)) continue;
    auto child = CaseChild::start(side_child_spec(kind, side, o, socket), std::chrono::seconds(120));
    if (!child) return vgpu::Err{child.error()};
    out[side] = std::move(child).value();
  }
  return out;
}

void run_side(CaseChild& child, const CaseSpec& c, int samples, int timeout_s, Side* side) {
  if (!side->error.empty()) return;  // failed in an earlier round: its figures would mislead
  auto values = child.run(c.name, samples, std::chrono::seconds(timeout_s));
  if (!values) {
    side->error = values.error();
    return;
  }
  side->round_starts.push_back(side->values.size());
  side->values.insert(side->values.end(), values->begin(), values->end());
}

}  // namespace

vgpu::Result<RunOutput, std::string> run_benchmarks(const Options& o,
                                                    const std::vector<CaseSpec>& cases) {
  RunOutput out;
  out.info.date = utc_now();
  out.info.host = host_name();
  out.info.cpu = cpu_model();
  out.info.commit = o.commit;
  out.info.rounds = o.rounds;
  out.info.scale = o.scale;

  // Before vgpud: a side that was asked for and cannot run ends the run at once.
  auto sides = resolve_sides(o, cases, &out.info.notes);
  if (!sides) return vgpu::Err{sides.error()};
  out.info.sides = *sides;
  for (const std::string& note : out.info.notes) std::cerr << "note: " << note << "\n";

  VgpudSettings settings{o.vgpud, o.driver, o.work_dir, o.staging_memory, o.pinned_memory,
                         o.poll_spin_us};
  auto vgpud = VgpudInstance::start(settings);
  if (!vgpud) return vgpu::Err{vgpud.error()};
  std::cerr << "vgpud is up; its log: " << (*vgpud)->log_path() << "\n";

  std::map<ChildKind, Children> children;
  for (ChildKind kind : {ChildKind::Cuda, ChildKind::Transport}) {
    if (std::none_of(cases.begin(), cases.end(), [&](const CaseSpec& c) { return c.child == kind; }))
      continue;
    auto started = start_children(kind, o, *sides, (*vgpud)->socket());
    if (!started) return vgpu::Err{started.error()};
    children[kind] = std::move(started).value();
  }
  if (children.count(ChildKind::Cuda)) {
    for (const auto& [side, child] : children[ChildKind::Cuda])
      std::cerr << "cuda " << side_title(side) << ": " << child->description() << "\n";
    // The GPU as the native side names it, else as the first side that ran.
    out.info.gpu = children[ChildKind::Cuda].begin()->second->description();
  }

  for (const CaseSpec& c : cases) out.outcomes.push_back({c, {}});
  for (int round = 0; round < o.rounds; ++round) {
    const auto started = std::chrono::steady_clock::now();
    for (CaseOutcome& outcome : out.outcomes) {
      const CaseSpec& c = outcome.spec;
      Children& kids = children[c.child];
      const int samples = std::max(1, static_cast<int>(std::lround(c.samples * o.scale)));
      // Rotate which side goes first, so that none always runs on a warmer (or hotter) machine.
      for (SideId side : side_order(*sides, round)) {
        const auto child = kids.find(side);
        if (child == kids.end()) continue;  // a side this kind of case does not have
        run_side(*child->second, c, samples, o.case_timeout_s, &outcome.sides[side]);
      }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cerr << fmt::format("round {}/{} done in {:.1f} s\n", round + 1, o.rounds, seconds);
  }
  return out;
}

}  // namespace bench
