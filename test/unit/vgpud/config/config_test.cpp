#include <fstream>
#include <string>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "vgpud/config/config.h"
#include "vgpud/config/values.h"

using vgpud::config::ConfigError;
using vgpud::config::DaemonConfig;
using vgpud::config::parse_config;

namespace {

// The smallest valid tenant, to which tests add or from which they break one thing.
const char* const kMinimal =
    "tenants:\n"
    "  - name: a\n"
    "    local:\n"
    "      socket: /run/vgpu/a.sock\n";

DaemonConfig parse_ok(const std::string& text) {
  auto result = parse_config(text, "vgpu.yaml");
  if (!result) FAIL("unexpected error: " << result.error().to_string());
  return *result;
}

ConfigError parse_error(const std::string& text) {
  auto result = parse_config(text, "vgpu.yaml");
  if (result) FAIL("expected an error, parsed fine:\n" << text);
  return result.error();
}

// Checks position and field; the message is checked separately where its wording matters.
void check_error(const std::string& text, int line, int column, const std::string& field) {
  INFO(text);
  ConfigError error = parse_error(text);
  INFO(error.to_string());
  CHECK(error.file == "vgpu.yaml");
  CHECK(error.line == line);
  CHECK(error.column == column);
  CHECK(error.field == field);
  CHECK_FALSE(error.message.empty());
}

}  // namespace

TEST_CASE("a full config is read into every field", "[config]") {
  DaemonConfig config = parse_ok(
      "vgpud:\n"
      "  log_level: debug\n"
      "  driver: /opt/fake/libcuda.so\n"
      "  poll_spin_us: 0\n"
      "tenants:\n"
      "  - name: ml-team_1.a\n"
      "    gpus: [1, \"GPU-5D1B0C2E-1234-abcd-EF01-0123456789AB\"]\n"
      "    local:\n"
      "      socket: /run/vgpu/ml.sock\n"
      "      group: ml\n"
      "      mode: \"0600\"\n"
      "    limits:\n"
      "      max_processes: 4\n"
      "      device_memory: 40GiB\n"
      "      pinned_memory: 128M\n"
      "      staging_memory: 4KiB\n"
      "  - name: other\n"
      "    gpus:\n"
      "      - 0\n"
      "    local: {socket: /run/vgpu/other.sock, mode: 640}\n");
  CHECK(config.source_file == "vgpu.yaml");
  CHECK(config.log_level == "debug");
  CHECK(config.driver_path == "/opt/fake/libcuda.so");
  CHECK(config.poll_spin_us == 0);
  REQUIRE(config.tenants.size() == 2);

  const auto& ml = config.tenants[0];
  CHECK(ml.name == "ml-team_1.a");
  CHECK(ml.line == 6);
  CHECK(ml.gpus == std::vector<std::string>{"1", "GPU-5d1b0c2e-1234-abcd-ef01-0123456789ab"});
  CHECK(ml.local.socket_path == "/run/vgpu/ml.sock");
  CHECK(ml.local.group == "ml");
  CHECK(ml.local.mode == 0600);
  CHECK(ml.limits.max_processes == 4);
  CHECK(ml.limits.device_memory == 40ull << 30);
  CHECK(ml.limits.pinned_memory == 128ull << 20);
  CHECK(ml.limits.staging_memory == 4096);

  const auto& other = config.tenants[1];
  CHECK(other.name == "other");
  CHECK(other.line == 17);
  CHECK(other.gpus == std::vector<std::string>{"0"});
  CHECK(other.local.socket_path == "/run/vgpu/other.sock");
  CHECK(other.local.mode == 0640);
}

TEST_CASE("omitted fields take their defaults", "[config]") {
  DaemonConfig config = parse_ok(kMinimal);
  CHECK(config.log_level == "info");
  CHECK(config.driver_path == "libcuda.so.1");
  CHECK(config.poll_spin_us == 50);
  REQUIRE(config.tenants.size() == 1);
  const auto& tenant = config.tenants[0];
  CHECK(tenant.gpus == std::vector<std::string>{"0"});
  CHECK(tenant.local.group.empty());
  CHECK(tenant.local.mode == 0660);
  CHECK(tenant.limits.max_processes == 16);
  CHECK(tenant.limits.device_memory == 0);
  CHECK(tenant.limits.pinned_memory == 64ull << 20);
  CHECK(tenant.limits.staging_memory == 16ull << 20);
  CHECK(tenant.limits.module_cache_memory == 1ull << 30);
}

TEST_CASE("empty sections take their defaults", "[config]") {
  DaemonConfig config = parse_ok(std::string("vgpud:\n") + kMinimal + "    limits:\n");
  CHECK(config.poll_spin_us == 50);
  CHECK(config.tenants.at(0).limits.max_processes == 16);
}

TEST_CASE("unknown keys are errors at the key's line, at every level", "[config]") {
  check_error(std::string("vgpud:\n  log_levl: info\n") + kMinimal, 2, 3, "vgpud.log_levl");
  check_error(std::string(kMinimal) + "extra: 1\n", 5, 1, "extra");
  check_error(std::string(kMinimal) + "    limts: {}\n", 5, 5, "tenants[0].limts");
  check_error(std::string(kMinimal) + "      sockets: /x\n", 5, 7, "tenants[0].local.sockets");
  check_error(std::string(kMinimal) +
                  "    limits:\n"
                  "      max_processes: 2\n"
                  "      pinned_memroy: 1MiB\n",
              7, 7, "tenants[0].limits.pinned_memroy");

  ConfigError error = parse_error(std::string(kMinimal) + "    limts: {}\n");
  CHECK(error.message == "unknown key (expected one of: name gpus local vm limits)");
}

TEST_CASE("a repeated key is an error at its second occurrence", "[config]") {
  check_error(std::string(kMinimal) + "    name: b\n", 5, 5, "tenants[0].name");
}

TEST_CASE("missing required fields", "[config]") {
  check_error("vgpud:\n  log_level: info\n", 1, 1, "tenants");
  check_error("", 1, 1, "tenants");
  check_error("tenants:\n  - gpus: [0]\n    local: {socket: /a}\n", 2, 5, "tenants[0].name");
  check_error("tenants:\n  - name: a\n", 2, 5, "tenants[0].local");
  check_error("tenants:\n  - name: a\n    local:\n      group: g\n", 4, 7, "tenants[0].local.socket");
  CHECK(parse_error("tenants:\n  - name: a\n").message == "a tenant needs a local endpoint, a vm, or both");
}

TEST_CASE("a VM tenant: its stub socket, region and slots", "[config]") {
  DaemonConfig config = parse_ok(
      "vgpud:\n"
      "  control_socket: /run/x/control.sock\n"
      "tenants:\n"
      "  - name: vm1\n"
      "    vm:\n"
      "      socket: /run/x/vm1.ivshmem\n"
      "      region_size: 256MiB\n"
      "      slots: 4\n"
      "      lease_timeout_ms: 2000\n");
  REQUIRE(config.tenants.size() == 1);
  const vgpud::config::TenantConfig& t = config.tenants[0];
  CHECK(t.local.socket_path.empty());
  CHECK(t.vm.socket_path == "/run/x/vm1.ivshmem");
  CHECK(t.vm.region_size == (256ull << 20));
  CHECK(t.vm.slots == 4);
  CHECK(t.vm.lease_timeout_ms == 2000);
  CHECK(config.control_socket == "/run/x/control.sock");

  const std::string head = "tenants:\n  - name: vm1\n    vm:\n      socket: /run/x/vm1.ivshmem\n";
  check_error(head + "      region_size: 100MiB\n", 5, 20, "tenants[0].vm.region_size");
  check_error(head + "      slots: 33\n", 5, 14, "tenants[0].vm.slots");
  check_error(head + "      lease_ms: 3\n", 5, 7, "tenants[0].vm.lease_ms");
  check_error("tenants:\n  - name: a\n    local: {socket: /s}\n    vm: {socket: /s}\n", 4, 9,
              "tenants[0].vm.socket");
  // Sockets are unique across tenants and kinds.
  check_error(head + "  - name: b\n    local: {socket: /run/x/vm1.ivshmem}\n", 6, 21,
              "tenants[1].local.socket");
}

TEST_CASE("tenants must be a non-empty list of mappings", "[config]") {
  check_error("tenants: []\n", 1, 10, "tenants");
  check_error("tenants:\n", 1, 1, "tenants");
  check_error("tenants: {name: a}\n", 1, 10, "tenants");
  check_error("tenants:\n  - just-a-name\n", 2, 5, "tenants[0]");
  CHECK(parse_error("tenants: []\n").message == "at least one tenant is required");
}

TEST_CASE("wrong types", "[config]") {
  check_error(std::string(kMinimal) + "    gpus: 0\n", 5, 11, "tenants[0].gpus");
  check_error(std::string(kMinimal) + "    limits:\n      max_processes: [1]\n", 6, 22,
              "tenants[0].limits.max_processes");
  check_error(std::string(kMinimal) + "    limits: 5\n", 5, 13, "tenants[0].limits");
  check_error(std::string(kMinimal) + "    gpus: [[0]]\n", 5, 12, "tenants[0].gpus[0]");
  check_error("vgpud:\n  driver: {a: b}\n" + std::string(kMinimal), 2, 11, "vgpud.driver");
  // An empty scalar points at its key, not at whatever yaml-cpp finds next.
  check_error("vgpud:\n  driver:\n" + std::string(kMinimal), 2, 3, "vgpud.driver");
}

TEST_CASE("out-of-range values", "[config]") {
  auto limit = [](const std::string& line) { return std::string(kMinimal) + "    limits:\n      " + line + "\n"; };
  check_error(limit("max_processes: 0"), 6, 22, "tenants[0].limits.max_processes");
  check_error(limit("max_processes: 1025"), 6, 22, "tenants[0].limits.max_processes");
  check_error(limit("max_processes: -1"), 6, 22, "tenants[0].limits.max_processes");
  check_error(limit("staging_memory: 24KiB"), 6, 23, "tenants[0].limits.staging_memory");
  check_error(limit("staging_memory: 2GiB"), 6, 23, "tenants[0].limits.staging_memory");
  check_error(limit("staging_memory: 2K"), 6, 23, "tenants[0].limits.staging_memory");
  check_error(limit("pinned_memory: 5000"), 6, 22, "tenants[0].limits.pinned_memory");
  check_error(limit("pinned_memory: 65GiB"), 6, 22, "tenants[0].limits.pinned_memory");
  check_error("vgpud:\n  poll_spin_us: 100001\n" + std::string(kMinimal), 2, 17, "vgpud.poll_spin_us");

  CHECK(parse_error(limit("max_processes: 0")).message == "expected an integer from 1 to 1024");
  CHECK(parse_error(limit("staging_memory: 24KiB")).message == "must be a power of two");
  CHECK(parse_error(limit("staging_memory: 2GiB")).message == "expected a size from 4KiB to 1GiB");
  CHECK(parse_error(limit("pinned_memory: 5000")).message == "must be a multiple of 4KiB");
}

TEST_CASE("the module cache takes whole MiB up to 64GiB, and 0 for none", "[config]") {
  auto limit = [](const std::string& line) { return std::string(kMinimal) + "    limits:\n      " + line + "\n"; };
  CHECK(parse_ok(limit("module_cache_memory: 0")).tenants[0].limits.module_cache_memory == 0);
  CHECK(parse_ok(limit("module_cache_memory: 1MiB")).tenants[0].limits.module_cache_memory == 1ull << 20);
  CHECK(parse_ok(limit("module_cache_memory: 64GiB")).tenants[0].limits.module_cache_memory == 64ull << 30);
  check_error(limit("module_cache_memory: 65GiB"), 6, 28, "tenants[0].limits.module_cache_memory");
  check_error(limit("module_cache_memory: 1500KiB"), 6, 28, "tenants[0].limits.module_cache_memory");
  check_error(limit("module_cache_memory: lots"), 6, 28, "tenants[0].limits.module_cache_memory");
  CHECK(parse_error(limit("module_cache_memory: 65GiB")).message == "expected a size from 0 to 64GiB");
  CHECK(parse_error(limit("module_cache_memory: 1500KiB")).message == "must be a multiple of 1MiB");
}

TEST_CASE("malformed sizes name the expected form", "[config]") {
  std::string text = std::string(kMinimal) + "    limits:\n      pinned_memory: lots\n";
  ConfigError error = parse_error(text);
  CHECK(error.to_string() == "vgpu.yaml:6:22: tenants[0].limits.pinned_memory: expected a size like 64MiB");
  CHECK_THAT(parse_error(std::string(kMinimal) + "    limits:\n      device_memory: 8GB\n").message,
             Catch::Contains("ambiguous; use GiB"));
}

TEST_CASE("invalid names, sockets, modes, GPUs and log levels", "[config]") {
  check_error("tenants:\n  - name: a/b\n    local: {socket: /a}\n", 2, 11, "tenants[0].name");
  check_error("tenants:\n  - name: ..\n    local: {socket: /a}\n", 2, 11, "tenants[0].name");
  check_error("tenants:\n  - name: " + std::string(65, 'x') + "\n    local: {socket: /a}\n", 2, 11, "tenants[0].name");
  check_error("tenants:\n  - name: a\n    local: {socket: run/a.sock}\n", 3, 21, "tenants[0].local.socket");
  check_error("tenants:\n  - name: a\n    local: {socket: /" + std::string(108, 's') + "}\n", 3, 21,
              "tenants[0].local.socket");
  check_error("tenants:\n  - name: a\n    local: {socket: /a, mode: \"0888\"}\n", 3, 31, "tenants[0].local.mode");
  check_error("tenants:\n  - name: a\n    local: {socket: /a, mode: 01777}\n", 3, 31, "tenants[0].local.mode");
  check_error("tenants:\n  - name: a\n    gpus: [0, GPU-123]\n    local: {socket: /a}\n", 3, 15,
              "tenants[0].gpus[1]");
  check_error("tenants:\n  - name: a\n    gpus: []\n    local: {socket: /a}\n", 3, 11, "tenants[0].gpus");
  check_error("vgpud:\n  log_level: verbose\n" + std::string(kMinimal), 2, 14, "vgpud.log_level");
}

TEST_CASE("the same GPU twice is an error, however it is spelled", "[config]") {
  check_error("tenants:\n  - name: a\n    gpus: [1, \"01\"]\n    local: {socket: /a}\n", 3, 15, "tenants[0].gpus[1]");
  std::string uuid = "GPU-5d1b0c2e-1234-abcd-ef01-0123456789ab";
  std::string upper = "GPU-5D1B0C2E-1234-ABCD-EF01-0123456789AB";
  check_error("tenants:\n  - name: a\n    gpus:\n      - " + uuid + "\n      - " + upper + "\n    local: {socket: /a}\n",
              5, 9, "tenants[0].gpus[1]");
}

TEST_CASE("tenant names and sockets are unique", "[config]") {
  std::string two_named_a = std::string(kMinimal) +
                            "  - name: b\n"
                            "    local:\n"
                            "      socket: /run/vgpu/b.sock\n"
                            "  - local:\n"
                            "      socket: /run/vgpu/c.sock\n"
                            "    name: a\n";
  check_error(two_named_a, 10, 11, "tenants[2].name");
  CHECK_THAT(parse_error(two_named_a).message, Catch::Contains("already used on line 2"));

  std::string same_socket = std::string(kMinimal) +
                            "  - name: b\n"
                            "    local:\n"
                            "      socket: /run/vgpu/a.sock\n";
  check_error(same_socket, 7, 15, "tenants[1].local.socket");
  CHECK_THAT(parse_error(same_socket).message, Catch::Contains("tenant \"a\""));
}

TEST_CASE("YAML syntax errors keep yaml-cpp's position, made 1-based", "[config]") {
  // yaml-cpp: "error at line 1, column 14: illegal flow end" (0-based 0:13).
  ConfigError error = parse_error("vgpud: {a: b}}\n");
  CHECK(error.line == 1);
  CHECK(error.column == 14);
  CHECK(error.field.empty());
  CHECK(error.to_string() == "vgpu.yaml:1:14: illegal flow end");

  error = parse_error("vgpud:\n  log_level: info\n bad: indent\n");
  CHECK(error.line == 3);
  CHECK(error.column == 2);
  CHECK(error.to_string() == "vgpu.yaml:3:2: " + error.message);
}

TEST_CASE("a second YAML document is an error", "[config]") {
  ConfigError error = parse_error(std::string(kMinimal) + "---\nfoo: 1\n");
  CHECK(error.line == 5);  // the "---" that starts it
  CHECK_THAT(error.message, Catch::Contains("one YAML document"));
}

TEST_CASE("a stream on which the YAML reader would loop forever ends in an error", "[config]") {
  // Found by the fuzz target: yaml-cpp's LoadAll never returns on these bytes.
  ConfigError error = parse_error(",.");
  CHECK(error.line >= 1);
  CHECK_FALSE(error.message.empty());
}

TEST_CASE("deep nesting is an error, not a stack overflow", "[config]") {
  std::string deep = "tenants: " + std::string(100000, '[');
  ConfigError error = parse_error(deep);
  CHECK(error.line == 1);
}

TEST_CASE("ConfigError::to_string leaves out what is unknown", "[config]") {
  CHECK(ConfigError{"f.yaml", 12, 5, "a.b", "bad"}.to_string() == "f.yaml:12:5: a.b: bad");
  CHECK(ConfigError{"f.yaml", 12, 0, "", "bad"}.to_string() == "f.yaml:12: bad");
  CHECK(ConfigError{"f.yaml", 0, 0, "", "cannot open"}.to_string() == "f.yaml: cannot open");
}

TEST_CASE("sizes", "[config][values]") {
  using vgpud::config::parse_size;
  CHECK(*parse_size("0") == 0);
  CHECK(*parse_size("4096") == 4096);
  CHECK(*parse_size("1K") == 1024);
  CHECK(*parse_size("4KiB") == 4096);
  CHECK(*parse_size("64MiB") == 64ull << 20);
  CHECK(*parse_size("64 M") == 64ull << 20);
  CHECK(*parse_size("3G") == 3ull << 30);
  CHECK(*parse_size("2TiB") == 2ull << 40);
  CHECK(*parse_size("18446744073709551615") == UINT64_MAX);
  CHECK_FALSE(parse_size("18446744073709551616").ok());
  CHECK_FALSE(parse_size("16777216TiB").ok());  // 2^24 * 2^40 overflows
  CHECK_FALSE(parse_size("").ok());
  CHECK_FALSE(parse_size("MiB").ok());
  CHECK_FALSE(parse_size("-1").ok());
  CHECK_FALSE(parse_size("1.5GiB").ok());
  CHECK_FALSE(parse_size("0x10").ok());
  CHECK_FALSE(parse_size("64mib").ok());
  CHECK_FALSE(parse_size("64MB").ok());
}

TEST_CASE("modes and GPUs", "[config][values]") {
  using vgpud::config::parse_gpu;
  using vgpud::config::parse_mode;
  CHECK(*parse_mode("0660") == 0660);
  CHECK(*parse_mode("660") == 0660);
  CHECK(*parse_mode("0o600") == 0600);
  CHECK(*parse_mode("0") == 0);
  CHECK_FALSE(parse_mode("0778").ok());
  CHECK_FALSE(parse_mode("1000").ok());
  CHECK_FALSE(parse_mode("rw-rw----").ok());

  CHECK(*parse_gpu("0") == "0");
  CHECK(*parse_gpu("007") == "7");
  CHECK(*parse_gpu("GPU-ABCDEF01-2345-6789-abcd-ef0123456789") == "GPU-abcdef01-2345-6789-abcd-ef0123456789");
  CHECK_FALSE(parse_gpu("1024").ok());
  CHECK_FALSE(parse_gpu("-1").ok());
  CHECK_FALSE(parse_gpu("gpu-abcdef01-2345-6789-abcd-ef0123456789").ok());
  CHECK_FALSE(parse_gpu("GPU-abcdef01-2345-6789-abcd-ef012345678").ok());    // one digit short
  CHECK_FALSE(parse_gpu("GPU-abcdef01-2345-6789-abcd-ef01234567890").ok());  // one digit long
  CHECK_FALSE(parse_gpu("GPU-abcdef0g-2345-6789-abcd-ef0123456789").ok());
  CHECK_FALSE(parse_gpu("MIG-abcdef01-2345-6789-abcd-ef0123456789").ok());
}

TEST_CASE("load_config_file names the file it cannot read", "[config]") {
  auto missing = vgpud::config::load_config_file("/nonexistent/vgpu.yaml");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().to_string() == "/nonexistent/vgpu.yaml: cannot open: No such file or directory");

  auto directory = vgpud::config::load_config_file("/");
  REQUIRE_FALSE(directory.ok());
  CHECK(directory.error().to_string() == "/: not a regular file");
}

TEST_CASE("load_config_file reads a file and reports errors against its path", "[config]") {
  char path[] = "/tmp/vgpu-test-config-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  {
    std::ofstream(path) << kMinimal << "    limits:\n      staging_memory: 3MiB\n";
  }
  auto result = vgpud::config::load_config_file(path);
  unlink(path);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().file == path);
  CHECK(result.error().line == 6);
  CHECK(result.error().field == "tenants[0].limits.staging_memory");
}

TEST_CASE("the shipped config/vgpu.yaml parses to the documented defaults", "[config]") {
  auto result = vgpud::config::load_config_file(VGPU_SOURCE_DIR "/config/vgpu.yaml");
  if (!result) FAIL(result.error().to_string());
  const DaemonConfig& config = *result;
  CHECK(config.log_level == "info");
  CHECK(config.driver_path == "libcuda.so.1");
  CHECK(config.poll_spin_us == 50);
  REQUIRE(config.tenants.size() == 1);
  const auto& tenant = config.tenants[0];
  CHECK(tenant.name == "default");
  CHECK(tenant.gpus == std::vector<std::string>{"0"});
  CHECK(tenant.local.socket_path == "/run/vgpu/default.sock");
  CHECK(tenant.local.group == "vgpu");
  CHECK(tenant.local.mode == 0660);
  CHECK(tenant.limits.max_processes == 16);
  CHECK(tenant.limits.device_memory == 0);
  CHECK(tenant.limits.pinned_memory == 64ull << 20);
  CHECK(tenant.limits.staging_memory == 16ull << 20);
  CHECK(tenant.limits.module_cache_memory == 1ull << 30);
}
