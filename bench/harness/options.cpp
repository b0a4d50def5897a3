#include "bench/harness/options.h"

#include <boost/program_options.hpp>
#include <filesystem>
#include <sstream>

namespace bench {

namespace po = boost::program_options;

namespace {

// The build tree's path when `probe` exists under it, else the bundle's: so the harness finds
// its parts from either layout without flags.
std::string build_or_bundle(const std::string& build, const std::string& bundle,
                            const std::string& probe = "") {
  return std::filesystem::exists(build + probe) ? build : bundle;
}

}  // namespace

vgpu::Result<Options, std::string> parse_options(int argc, const char* const* argv,
                                                 const std::string& own_dir) {
  Options o;
  o.vgpud = build_or_bundle(own_dir + "/../vgpud/vgpud", own_dir + "/../bin/vgpud");
  o.shim_dir = build_or_bundle(own_dir + "/../guest/lib", own_dir + "/../shim", "/libcudart.so.13");
  o.driver_shim_dir =
      build_or_bundle(own_dir + "/../guest/lib", own_dir + "/../driver", "/libcuda.so.1");
  o.cuda_cases = own_dir + "/vgpu-bench-cuda";
  o.cuda_static_cases = own_dir + "/vgpu-bench-cuda-static";
  o.transport_cases = own_dir + "/vgpu-bench-transport";
  po::options_description d("Options");
  d.add_options()
      ("cases", po::value(&o.cases)->value_name("LIST"),
       "case names or groups, comma-separated: launch, copy, bulk, alloc, local, app, transport, all")
      ("sides", po::value(&o.sides_list)->value_name("LIST"),
       "sides, comma-separated: native, runtime (vgpu's libcudart), driver (NVIDIA's runtime on vgpu's libcuda), all (default: every side that is there)")
      ("rounds", po::value(&o.rounds)->value_name("N"), "rounds; each runs every case on every side, rotating which goes first (default 5)")
      ("scale", po::value(&o.scale)->value_name("F"), "multiply each case's samples per round (default 1; CI smoke runs use less)")
      ("out", po::value(&o.json_out)->value_name("FILE"), "machine-readable results (default bench-results.json)")
      ("vgpud", po::value(&o.vgpud)->value_name("PATH"), "vgpud binary")
      ("driver", po::value(&o.driver)->value_name("LIB"), "vgpud.driver (default libcuda.so.1)")
      ("shim-dir", po::value(&o.shim_dir)->value_name("DIR"), "folder of the runtime shim, vgpu's libcudart.so.13")
      ("driver-shim-dir", po::value(&o.driver_shim_dir)->value_name("DIR"), "folder of the driver shim, vgpu's libcuda.so.1 and libvgpu-client.so.1")
      ("cuda-lib", po::value(&o.cuda_lib)->value_name("DIR"), "folder of the real CUDA runtime (default /usr/local/cuda/lib64)")
      ("extra-lib-dir", po::value(&o.extra_lib_dir)->value_name("DIR"), "folder of libraries vgpud and the shim need, if not installed")
      ("cuda-cases", po::value(&o.cuda_cases)->value_name("PATH"), "the CUDA case child on the shared runtime (vgpu-bench-cuda)")
      ("cuda-static-cases", po::value(&o.cuda_static_cases)->value_name("PATH"), "the CUDA case child with the static runtime, for the driver side (vgpu-bench-cuda-static)")
      ("transport-cases", po::value(&o.transport_cases)->value_name("PATH"), "the transport case child (vgpu-bench-transport)")
      ("work-dir", po::value(&o.work_dir)->value_name("DIR"), "vgpud's config, socket and log, the children's stderr")
      ("staging-memory", po::value(&o.staging_memory)->value_name("SIZE"), "limits.staging_memory of the bench tenant (default 16MiB)")
      ("pinned-memory", po::value(&o.pinned_memory)->value_name("SIZE"), "limits.pinned_memory of the bench tenant (default 512MiB)")
      ("poll-spin-us", po::value(&o.poll_spin_us)->value_name("US"), "vgpud.poll_spin_us (default 50)")
      ("case-timeout", po::value(&o.case_timeout_s)->value_name("S"), "seconds one case may take on one side (default 300)")
      ("commit", po::value(&o.commit)->value_name("ID"), "the commit measured, recorded in the results")
      ("help,h", po::bool_switch(&o.show_help), "print this help and exit");
  std::ostringstream help;
  help << "Usage: vgpu-bench [options]\n"
       << "Runs each benchmark case natively, through vgpu's runtime shim and (NVIDIA's runtime)\n"
       << "through vgpu's driver shim in the same run, interleaved and repeated; prints a\n"
       << "Markdown table and writes the samples as JSON.\n\n"
       << d;
  o.help_text = help.str();
  try {
    po::variables_map vm;
    const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(argc, argv).options(d).style(style).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return vgpu::Err{std::string(e.what()) + " (vgpu-bench --help lists the options)"};
  }
  if (o.rounds < 1) return vgpu::Err{std::string("--rounds must be at least 1")};
  if (!(o.scale > 0)) return vgpu::Err{std::string("--scale must be positive")};
  auto sides = parse_sides(o.sides_list);
  if (!sides) return vgpu::Err{sides.error()};
  o.sides = std::move(sides).value();
  return o;
}

}  // namespace bench
