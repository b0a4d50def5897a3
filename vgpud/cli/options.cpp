#include "vgpud/cli/options.h"

#include <sstream>
#include <vector>

#include <boost/program_options.hpp>

#include "vgpud/log/log.h"

namespace vgpud {

namespace po = boost::program_options;

vgpu::Result<CommandLine, std::string> parse_command_line(int argc, const char* const* argv) {
  CommandLine line;
  std::string log_level;
  po::options_description options("Options");
  options.add_options()
      ("config,c", po::value<std::string>(&line.config_path)->value_name("PATH"),
       "configuration file (default /etc/vgpu/vgpu.yaml)")
      ("check-config", po::bool_switch(&line.check_config), "validate the configuration file and exit")
      ("log-level", po::value<std::string>(&log_level)->value_name("LEVEL"),
       "trace|debug|info|warn|error|off; overrides vgpud.log_level in the file")
      ("version", po::bool_switch(&line.show_version), "print the version and exit")
      ("help,h", po::bool_switch(&line.show_help), "print this help and exit");

  std::ostringstream help;
  help << "Usage: vgpud [--config PATH] [--check-config] [--log-level LEVEL]\n"
       << "       vgpud [--config PATH] qemu-args TENANT   print the QEMU options for a tenant's VM\n"
       << "       vgpud [--config PATH] counters           print the per-hop counters of a running vgpud\n"
       << "Shares GPUs among VMs and processes by remoting CUDA.\n\n"
       << options;
  line.help_text = help.str();

  po::variables_map values;
  try {
    // No guessing: with it "--c" or "--log" would silently pick an option, and a future option
    // sharing a prefix would change what old command lines mean.
    int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    std::vector<std::string> words;
    po::options_description hidden;
    hidden.add_options()("words", po::value(&words));
    po::options_description all;
    all.add(options).add(hidden);
    po::positional_options_description positionals;
    positionals.add("words", -1);
    po::store(po::command_line_parser(argc, argv).options(all).positional(positionals).style(style).run(),
              values);
    po::notify(values);
    // Only the two commands take words; anything else is a stray argument, rejected rather
    // than dropped ("vgpud /etc/vgpu/vgpu.yaml" must not silently ignore the path).
    const bool qemu_args = words.size() == 2 && words[0] == "qemu-args";
    const bool counters = words.size() == 1 && words[0] == "counters";
    if (!words.empty() && !qemu_args && !counters) throw po::too_many_positional_options_error();
    if (!words.empty()) {
      line.command = words[0];
      if (qemu_args) line.command_argument = words[1];
    }
  } catch (const po::too_many_positional_options_error&) {
    return vgpu::Err{std::string("unexpected argument; vgpud takes only options, or the commands qemu-args TENANT and counters (see --help)")};
  } catch (const po::error& e) {
    return vgpu::Err{std::string(e.what())};
  }

  if (line.config_path.empty()) return vgpu::Err{std::string("--config needs a path")};
  if (values.count("log-level") != 0) {
    spdlog::level::level_enum level = spdlog::level::info;
    if (!log::parse_level(log_level, &level)) {
      return vgpu::Err{"invalid --log-level '" + log_level + "' (expected trace|debug|info|warn|error|off)"};
    }
    line.log_level = log_level;
  }
  return line;
}

}  // namespace vgpud
