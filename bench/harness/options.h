// vgpu-bench's command line.
#pragma once
#include <string>

#include "bench/harness/sides.h"
#include "vgpu/common/result.h"

namespace bench {

struct Options {
  std::string cases = "all";       // names or groups, comma-separated
  std::string sides_list = "all";  // --sides as given
  SideSelection sides;             // parsed from it
  int rounds = 5;
  double scale = 1.0;           // multiplies every case's samples per round (at least 1)
  std::string vgpud;            // paths; defaults: a build tree's or a bundle's layout
  std::string driver = "libcuda.so.1";
  std::string shim_dir;         // vgpu's libcudart.so.13 (the runtime shim)
  std::string driver_shim_dir;  // vgpu's libcuda.so.1 and libvgpu-client.so.1 (the driver shim)
  std::string cuda_lib = "/usr/local/cuda/lib64";
  std::string extra_lib_dir;    // libraries the shim and vgpud need (a bundle's lib/)
  std::string cuda_cases;         // built with -cudart shared: native and runtime sides
  std::string cuda_static_cases;  // the same cases, NVIDIA's runtime linked in: driver side
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

// Defaults for the paths are relative to the harness's own folder: a build tree's layout
// (build/bench/, build/guest/lib/, build/vgpud/) when that is there, else a bundle's
// (BUNDLE/bench/, BUNDLE/shim/, BUNDLE/driver/, BUNDLE/bin/; test/gpu/make-bundle.sh).
vgpu::Result<Options, std::string> parse_options(int argc, const char* const* argv,
                                                 const std::string& own_dir);

}  // namespace bench
