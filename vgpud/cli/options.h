// vgpud's command line. Parsing only: main() decides what to do with --help, --version and
// --check-config, so this stays free of side effects and easy to test.
#pragma once
#include <optional>
#include <string>

#include "vgpu/common/result.h"

namespace vgpud {

struct CommandLine {
  std::string config_path = "/etc/vgpu/vgpu.yaml";
  bool check_config = false;              // validate the config and exit
  std::optional<std::string> log_level;   // overrides vgpud.log_level from the file; already validated
  bool show_version = false;
  bool show_help = false;
  // A command instead of serving: "qemu-args" (with the VM's tenant name) or "counters".
  std::string command;
  std::string command_argument;
  std::string help_text;                  // usage and option list, filled on every success
};

// argv[0] is the program name. The error is one line, e.g. "unrecognised option '--confg'".
vgpu::Result<CommandLine, std::string> parse_command_line(int argc, const char* const* argv);

}  // namespace vgpud
