#include "vgpud/worker/worker_spec.h"

#include <boost/program_options.hpp>

namespace vgpud {

namespace po = boost::program_options;

std::vector<std::string> worker_arguments(const WorkerSpec& s) {
  std::vector<std::string> a = {
      "--tenant", s.tenant,
      "--guest-pid", std::to_string(s.guest_pid),
      "--driver", s.driver_path,
      "--driver-release", s.driver_release,
      "--nvml-version", s.nvml_version,
      "--device-memory-limit", std::to_string(s.device_memory_limit),
      "--image-memory-limit", std::to_string(s.image_memory_limit),
      "--module-cache-memory", std::to_string(s.module_cache_memory),
      "--share-slot", std::to_string(s.share_slot),
      "--spin-us", std::to_string(s.spin_us),
      "--log-level", s.log_level,
      "--submit-ring", std::to_string(s.sizes.submit),
      "--reply-ring", std::to_string(s.sizes.reply),
      "--upload-ring", std::to_string(s.sizes.upload),
      "--download-ring", std::to_string(s.sizes.download),
      "--heap", std::to_string(s.sizes.heap),
      "--region-offset", std::to_string(s.region_offset),
  };
  for (int ordinal : s.device_ordinals) {
    a.push_back("--device");
    a.push_back(std::to_string(ordinal));
  }
  return a;
}

std::string WorkerSpec::peer() const {
  if (!guest_pid_from_kernel()) return "in the VM: no host peer pid";
  // 0: the kernel did not say (getsockopt failed when the client was accepted).
  return guest_pid > 0 ? "peer pid " + std::to_string(guest_pid) : "peer pid unknown";
}

vgpu::Result<WorkerSpec, std::string> parse_worker_arguments(int argc, const char* const* argv) {
  WorkerSpec s;
  po::options_description options;
  options.add_options()
      ("channel-worker", po::bool_switch())
      ("tenant", po::value(&s.tenant)->required())
      ("guest-pid", po::value(&s.guest_pid)->required())
      ("driver", po::value(&s.driver_path)->required())
      ("driver-release", po::value(&s.driver_release)->required())
      ("nvml-version", po::value(&s.nvml_version)->required())
      ("device", po::value(&s.device_ordinals)->required())
      ("device-memory-limit", po::value(&s.device_memory_limit)->required())
      ("image-memory-limit", po::value(&s.image_memory_limit)->required())
      ("module-cache-memory", po::value(&s.module_cache_memory)->required())
      ("share-slot", po::value(&s.share_slot)->required())
      ("spin-us", po::value(&s.spin_us)->required())
      ("log-level", po::value(&s.log_level)->required())
      ("submit-ring", po::value(&s.sizes.submit)->required())
      ("reply-ring", po::value(&s.sizes.reply)->required())
      ("upload-ring", po::value(&s.sizes.upload)->required())
      ("download-ring", po::value(&s.sizes.download)->required())
      ("heap", po::value(&s.sizes.heap)->required())
      ("region-offset", po::value(&s.region_offset)->required());
  try {
    po::variables_map values;
    po::positional_options_description none;
    po::store(po::command_line_parser(argc, argv).options(options).positional(none).run(), values);
    po::notify(values);
  } catch (const po::error& e) {
    return vgpu::Err{std::string("channel worker: ") + e.what()};
  }
  return s;
}

}  // namespace vgpud
