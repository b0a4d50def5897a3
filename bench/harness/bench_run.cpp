#include "bench/harness/bench_run.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "bench/harness/child.h"
#include "bench/harness/vgpud_instance.h"

namespace bench {

namespace {

// The two children that run one kind of case: native and through vgpud.
struct ChildPair {
  std::unique_ptr<CaseChild> native;
  std::unique_ptr<CaseChild> remoted;
};

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

std::string with_extra(const std::string& dir, const std::string& extra) {
  return extra.empty() ? dir : dir + ":" + extra;
}

vgpu::Result<ChildPair, std::string> start_pair(ChildKind kind, const Options& o,
                                                const std::string& socket) {
  const auto timeout = std::chrono::seconds(120);
  ChildSpec native, remoted;
  if (kind == ChildKind::Cuda) {
    native = {"cuda native", {o.cuda_cases}, {{"LD_LIBRARY_PATH", o.cuda_lib}},
              o.work_dir + "/cuda-native.stderr"};
    remoted = {"cuda vgpu",
               {o.cuda_cases},
               {{"LD_LIBRARY_PATH", with_extra(o.shim_dir, o.extra_lib_dir)},
                {"VGPU_SOCKET", socket},
                {"VGPU_TRANSPORT", "local"}},
               o.work_dir + "/cuda-vgpu.stderr"};
  } else {
    native = {"transport floor", {o.transport_cases, "--floor"}, {},
              o.work_dir + "/transport-floor.stderr"};
    remoted = {"transport vgpu",
               {o.transport_cases},
               {{"VGPU_SOCKET", socket}, {"VGPU_TRANSPORT", "local"}},
               o.work_dir + "/transport-vgpu.stderr"};
  }
  auto n = CaseChild::start(native, timeout);
  if (!n) return vgpu::Err{n.error()};
  auto r = CaseChild::start(remoted, timeout);
  if (!r) return vgpu::Err{r.error()};
  return ChildPair{std::move(n).value(), std::move(r).value()};
}

void run_side(CaseChild& child, const CaseSpec& c, int samples, int timeout_s, Side* side) {
  if (!side->error.empty()) return;  // failed in an earlier round: its figures would mislead
  auto values = child.run(c.name, samples, std::chrono::seconds(timeout_s));
  if (!values) {
    side->error = values.error();
    return;
  }
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

  VgpudSettings settings{o.vgpud, o.driver, o.work_dir, o.staging_memory, o.pinned_memory,
                         o.poll_spin_us};
  auto vgpud = VgpudInstance::start(settings);
  if (!vgpud) return vgpu::Err{vgpud.error()};
  std::cerr << "vgpud is up; its log: " << (*vgpud)->log_path() << "\n";

  const bool need_cuda = std::any_of(cases.begin(), cases.end(),
                                     [](const CaseSpec& c) { return c.child == ChildKind::Cuda; });
  const bool need_transport = std::any_of(
      cases.begin(), cases.end(), [](const CaseSpec& c) { return c.child == ChildKind::Transport; });
  ChildPair cuda, transport;
  if (need_cuda) {
    auto p = start_pair(ChildKind::Cuda, o, (*vgpud)->socket());
    if (!p) return vgpu::Err{p.error()};
    cuda = std::move(p).value();
    out.info.gpu = cuda.native->description();
    std::cerr << "cuda: native on " << cuda.native->description() << "; remoted via "
              << cuda.remoted->description() << "\n";
  }
  if (need_transport) {
    auto p = start_pair(ChildKind::Transport, o, (*vgpud)->socket());
    if (!p) return vgpu::Err{p.error()};
    transport = std::move(p).value();
  }

  for (const CaseSpec& c : cases) out.outcomes.push_back({c, {}, {}});
  for (int round = 0; round < o.rounds; ++round) {
    const auto started = std::chrono::steady_clock::now();
    for (CaseOutcome& outcome : out.outcomes) {
      const CaseSpec& c = outcome.spec;
      ChildPair& pair = c.child == ChildKind::Cuda ? cuda : transport;
      const int samples = std::max(1, static_cast<int>(std::lround(c.samples * o.scale)));
      // Alternate which side goes first, so neither always runs on a warmer machine.
      if (round % 2 == 0) {
        run_side(*pair.native, c, samples, o.case_timeout_s, &outcome.native);
        run_side(*pair.remoted, c, samples, o.case_timeout_s, &outcome.remoted);
      } else {
        run_side(*pair.remoted, c, samples, o.case_timeout_s, &outcome.remoted);
        run_side(*pair.native, c, samples, o.case_timeout_s, &outcome.native);
      }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cerr << fmt::format("round {}/{} done in {:.1f} s\n", round + 1, o.rounds, seconds);
  }
  return out;
}

}  // namespace bench
