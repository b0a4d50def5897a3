// vgpu-smi: what this guest's tenant has of vgpud, for people (a table) and scripts (--json).
// It opens a channel of its own, as any guest process does, and asks nothing that makes a
// context: running it costs the GPU nothing.
#include <boost/program_options.hpp>

#include <cstdio>
#include <exception>
#include <iostream>

#include "guest/client/channel.h"
#include "guest/tools/smi_report.h"
#include "vgpu/protocol/version.h"

#ifndef VGPU_VERSION
#define VGPU_VERSION "unknown"
#endif

namespace po = boost::program_options;

int main(int argc, char** argv) try {
  bool json = false;
  po::options_description options(
      "Usage: vgpu-smi [--json]\n"
      "Shows this guest's vgpu devices, its tenant's memory and processes, and the hop counters.\n"
      "VGPU_SOCKET and VGPU_TRANSPORT choose the endpoint, as for any guest program.\n\nOptions");
  options.add_options()("json", po::bool_switch(&json), "print JSON for scripts")("help,h", "print this help")(
      "version", "print the version");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, options), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << options << "\n";
    return 0;
  }
  if (vm.count("version")) {
    std::printf("vgpu-smi %s (protocol %u)\n", VGPU_VERSION, vgpu::proto::kProtocolVersion);
    return 0;
  }

  auto channel = vgpu::guest::Channel::open();
  if (!channel) {
    std::fprintf(stderr, "vgpu-smi: %s\n", channel.error().message.c_str());
    return 2;
  }
  vgpu::smi::Report report;
  std::string error;
  if (!vgpu::smi::gather(*channel.value(), &report, &error)) {
    std::fprintf(stderr, "vgpu-smi: %s\n", error.c_str());
    return 2;
  }
  const std::string text = json ? vgpu::smi::render_json(report) : vgpu::smi::render_table(report);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
} catch (const po::error& e) {
  std::fprintf(stderr, "vgpu-smi: %s (see --help)\n", e.what());
  return 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "vgpu-smi: %s\n", e.what());
  return 2;
}
