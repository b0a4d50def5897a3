// vgpu-bench: runs the benchmark cases natively, through vgpu's runtime shim and through its
// driver shim, side by side (bench/README.md). Prints the table on stdout and writes the
// samples as JSON.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "bench/harness/bench_run.h"
#include "bench/harness/options.h"
#include "bench/harness/report.h"

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // a child that died is reported, not fatal
  const std::string own_dir =
      std::filesystem::canonical("/proc/self/exe").parent_path().string();
  auto options = bench::parse_options(argc, argv, own_dir);
  if (!options) {
    std::cerr << "vgpu-bench: " << options.error() << "\n";
    return 2;
  }
  if (options->show_help) {
    std::cout << options->help_text;
    return 0;
  }
  std::vector<std::string> unknown;
  const auto cases = bench::select_cases(options->cases, &unknown);
  if (!unknown.empty() || cases.empty()) {
    std::cerr << "vgpu-bench: no case or group named '" << (unknown.empty() ? "" : unknown[0])
              << "' (groups: launch, copy, bulk, alloc, local, app, transport, all)\n";
    return 2;
  }
  if (options->work_dir.empty()) {
    char tmpl[] = "/tmp/vgpu-bench.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      std::cerr << "vgpu-bench: cannot create a folder under /tmp\n";
      return 1;
    }
    options->work_dir = tmpl;
  }
  std::filesystem::create_directories(options->work_dir);

  auto run = bench::run_benchmarks(*options, cases);
  if (!run) {
    std::cerr << "vgpu-bench: " << run.error() << "\n";
    return 1;
  }
  std::string command;
  for (int i = 0; i < argc; ++i) {
    if (i > 0) command += ' ';
    command += argv[i];
  }
  run->info.command = command;

  std::cout << bench::format_table(run->outcomes, run->info.notes);
  std::ofstream(options->json_out) << bench::format_json(run->info, run->outcomes);
  std::cerr << "samples written to " << options->json_out << "\n";
  for (const auto& o : run->outcomes)
    if (o.failed()) return 1;
  return 0;
}
