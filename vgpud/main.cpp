// vgpud: parse the command line, load the configuration and the driver, run the daemon.
#include <cstdio>
#include <cstring>

#include "vgpud/cli/options.h"
#include "vgpud/config/config.h"
#include "vgpud/core/commands.h"
#include "vgpud/core/daemon.h"
#include "vgpud/executor/cuda_driver.h"
#include "vgpu/protocol/version.h"
#include "vgpud/log/log.h"
#include "vgpud/worker/worker_main.h"
#include "vgpud/worker/worker_spec.h"

#ifndef VGPU_VERSION
#define VGPU_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  // vgpud starts itself once per guest channel; see vgpud/worker/worker_spec.h.
  if (argc > 1 && std::strcmp(argv[1], vgpud::kChannelWorkerFlag) == 0)
    return vgpud::run_channel_worker(argc, argv);
  auto cli = vgpud::parse_command_line(argc, argv);
  if (!cli) {
    std::fprintf(stderr, "vgpud: %s (try --help)\n", cli.error().c_str());
    return 2;
  }
  if (cli->show_help) {
    std::fputs(cli->help_text.c_str(), stdout);
    return 0;
  }
  if (cli->show_version) {
    std::printf("vgpud %s (protocol %u)\n", VGPU_VERSION, vgpu::proto::kProtocolVersion);
    return 0;
  }

  auto config = vgpud::config::load_config_file(cli->config_path);
  if (!config) {
    std::fprintf(stderr, "vgpud: %s\n", config.error().to_string().c_str());
    return 1;
  }
  if (cli->command == "qemu-args") return vgpud::print_qemu_args(*config, cli->command_argument);
  if (cli->command == "counters") return vgpud::print_counters(*config);
  if (cli->check_config) {
    std::printf("%s: configuration is valid (%zu tenant(s))\n", cli->config_path.c_str(),
                config->tenants.size());
    return 0;
  }

  spdlog::level::level_enum level = spdlog::level::info;
  const std::string& level_name = cli->log_level ? *cli->log_level : config->log_level;
  if (!vgpud::log::parse_level(level_name, &level)) {
    std::fprintf(stderr, "vgpud: unknown log level '%s'\n", level_name.c_str());
    return 2;
  }
  vgpud::log::init(level);

  vgpud::block_daemon_signals();  // before the driver starts threads of its own
  auto driver = vgpud::load_cuda_driver(config->driver_path);
  if (!driver) {
    vgpud::log::main().error("{}", driver.error().message);
    return 1;
  }
  auto daemon = vgpud::Daemon::create(*config, *driver, level_name);
  if (!daemon) {
    vgpud::log::main().error("{}", daemon.error());
    return 1;
  }
  return (*daemon)->run();
}
