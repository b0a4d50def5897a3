// vgpu-bench's command line.
#pragma once
#include <string>

#include "vgpu/common/result.h"

namespace bench {

struct Options {
  std::string cases = "all";    // names or groups, comma-separated
  int rounds = 5;
  double scale = 1.0;           // multiplies every case's samples per round (at least 1)
  std::string vgpud;            // paths; defaults are the build tree's layout
  std::string driver = "libcuda.so.1";
  std::string shim_dir;
  std::string cuda_lib = "/usr/local/cuda/lib64";
  std::string extra_lib_dir;    // libraries the shim and vgpud need (a bundle's lib/)
  std::string cuda_cases;
  std::string transport_cases;
  std::string work_dir;         // default: a new /tmp/vgpu-bench.XXXXXX
  std::string json_out = "bench-results.json";
  std::string staging_memory = "16MiB";
  std::string pinned_memory = "512MiB";
  int poll_spin_us = 50;
  int case_timeout_s = 300;
  std::string commit;
  bool show_help = false;
  std::string help_text;
};

// Defaults for the paths are relative to the harness's own folder (build/bench/).
vgpu::Result<Options, std::string> parse_options(int argc, const char* const* argv,
                                                 const std::string& own_dir);

}  // namespace bench
