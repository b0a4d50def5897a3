#include <initializer_list>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "vgpud/cli/options.h"

using vgpud::CommandLine;
using vgpud::parse_command_line;

namespace {

vgpu::Result<CommandLine, std::string> parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"vgpud"};
  argv.insert(argv.end(), args);
  argv.push_back(nullptr);  // as the kernel passes it
  return parse_command_line(static_cast<int>(argv.size() - 1), argv.data());
}

CommandLine parse_ok(std::initializer_list<const char*> args) {
  auto result = parse(args);
  if (!result) FAIL("unexpected error: " << result.error());
  return *result;
}

std::string parse_error(std::initializer_list<const char*> args) {
  auto result = parse(args);
  if (result) FAIL("expected an error");
  return result.error();
}

}  // namespace

TEST_CASE("no arguments gives the defaults", "[cli]") {
  CommandLine line = parse_ok({});
  CHECK(line.config_path == "/etc/vgpu/vgpu.yaml");
  CHECK_FALSE(line.check_config);
  CHECK_FALSE(line.log_level.has_value());
  CHECK_FALSE(line.show_version);
  CHECK_FALSE(line.show_help);
}

TEST_CASE("every option is recognised in its spellings", "[cli]") {
  CHECK(parse_ok({"--config", "/tmp/a.yaml"}).config_path == "/tmp/a.yaml");
  CHECK(parse_ok({"--config=/tmp/b.yaml"}).config_path == "/tmp/b.yaml");
  CHECK(parse_ok({"-c", "/tmp/c.yaml"}).config_path == "/tmp/c.yaml");
  CHECK(parse_ok({"--check-config"}).check_config);
  CHECK(parse_ok({"--version"}).show_version);
  CHECK(parse_ok({"--help"}).show_help);
  CHECK(parse_ok({"-h"}).show_help);

  CommandLine line = parse_ok({"--log-level", "debug", "--check-config", "-c", "x.yaml"});
  CHECK(line.log_level == std::optional<std::string>("debug"));
  CHECK(line.check_config);
  CHECK(line.config_path == "x.yaml");
}

TEST_CASE("every documented log level is accepted", "[cli]") {
  for (const char* level : {"trace", "debug", "info", "warn", "error", "off"}) {
    CHECK(parse_ok({"--log-level", level}).log_level == std::optional<std::string>(level));
  }
}

TEST_CASE("help text lists the options", "[cli]") {
  std::string help = parse_ok({}).help_text;
  for (const char* option : {"--config", "-c", "--check-config", "--log-level", "--version", "--help"}) {
    CHECK_THAT(help, Catch::Contains(option));
  }
}

TEST_CASE("errors are one line naming the problem", "[cli]") {
  std::string unknown = parse_error({"--confg", "x"});
  CHECK_THAT(unknown, Catch::Contains("--confg"));
  CHECK(unknown.find('\n') == std::string::npos);

  CHECK_THAT(parse_error({"--log-level", "verbose"}), Catch::Contains("verbose"));
  CHECK_THAT(parse_error({"--log-level", "INFO"}), Catch::Contains("--log-level"));
  CHECK_THAT(parse_error({"--config"}), Catch::Contains("config"));
  CHECK_THAT(parse_error({"--config="}), Catch::Contains("--config"));
  CHECK(parse_error({"--config", ""}) == "--config needs a path");
  CHECK_THAT(parse_error({"serve"}), Catch::Contains("only options"));
  CHECK_THAT(parse_error({"--check-config", "/etc/vgpu/vgpu.yaml"}), Catch::Contains("only options"));
  CHECK_THAT(parse_error({"-c", "a", "-c", "b"}), Catch::Contains("more than once"));
}

TEST_CASE("the qemu-args and counters commands", "[cli]") {
  CommandLine q = parse_ok({"--config", "x.yaml", "qemu-args", "vm1"});
  CHECK(q.command == "qemu-args");
  CHECK(q.command_argument == "vm1");
  CHECK(q.config_path == "x.yaml");
  CHECK(parse_ok({"counters"}).command == "counters");
  CHECK(parse_ok({}).command.empty());
  CHECK_THAT(parse_error({"qemu-args"}), Catch::Contains("only options"));
  CHECK_THAT(parse_error({"counters", "extra"}), Catch::Contains("only options"));
}

TEST_CASE("abbreviated options are not guessed", "[cli]") {
  CHECK_FALSE(parse({"--conf", "x.yaml"}).ok());
  CHECK_FALSE(parse({"--check"}).ok());
  CHECK_FALSE(parse({"--vers"}).ok());
}
