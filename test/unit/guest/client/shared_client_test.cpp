// One guest client per process: the shims do not carry the client (the channel, the transports,
// the per-process state) but share libvgpu-client.so.1, found beside them. Checked on the
// libraries of this build tree (guest/lib/), next to which the test binary sits.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "test/unit/guest/client/elf_symbols.h"

using vgpu::test::ElfObject;
using vgpu::test::read_elf;

namespace {

constexpr const char* kClient = "libvgpu-client.so.1";
constexpr const char* kVersion = "VGPU_CLIENT_1";
// Every shim built on the client. Each name the client exports must be used by one of them.
const std::vector<std::string> kShims = {"libcudart.so.13", "libcuda.so.1"};

// <build>/guest/lib: the unit test binary is <build>/test/unit/vgpu_unit_tests.
std::filesystem::path guest_lib_dir() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path() / ".." / ".." / "guest" /
         "lib";
}

ElfObject load(const std::string& name) {
  const auto path = guest_lib_dir() / name;
  INFO("reading " << path.string() << " (built with the guest shim)");
  auto obj = read_elf(path.string());
  REQUIRE(obj.has_value());
  return *obj;
}

// The exact names the version script exports: its quoted entries ("name";), not extern "C++".
std::set<std::string> names_in_version_script() {
  std::ifstream in(std::string(VGPU_SOURCE_DIR) + "/guest/client/libvgpu-client.map");
  std::set<std::string> names;
  const std::regex quoted(R"re("([^"]+)"\s*;)re");
  for (std::string line; std::getline(in, line);) {
    if (line.find('#') != std::string::npos) line.erase(line.find('#'));
    for (std::sregex_iterator it(line.begin(), line.end(), quoted), end; it != end; ++it)
      names.insert((*it)[1]);
  }
  return names;
}

std::set<std::string> exported_by(const ElfObject& obj) {
  std::set<std::string> names;
  for (const auto& s : obj.dynamic)
    if (s.defined && !s.absolute && !s.local) names.insert(s.name);
  return names;
}

}  // namespace

TEST_CASE("libvgpu-client.so.1 exports exactly the names of its version script") {
  const ElfObject client = load(kClient);
  CHECK(client.soname == kClient);
  const std::set<std::string> expected = names_in_version_script();
  REQUIRE_FALSE(expected.empty());
  CHECK(exported_by(client) == expected);
  for (const auto& s : client.dynamic)
    if (s.defined && !s.absolute && !s.local) {
      INFO(s.name);
      CHECK(s.version == kVersion);
    }
}

TEST_CASE("the shims take the client from libvgpu-client.so.1, found beside them") {
  const std::set<std::string> exports = exported_by(load(kClient));
  std::set<std::string> used;
  for (const std::string& name : kShims) {
    INFO(name);
    const ElfObject shim = load(name);
    CHECK(std::count(shim.needed.begin(), shim.needed.end(), kClient) == 1);
    CHECK(shim.runpath == "$ORIGIN");
    for (const auto& s : shim.dynamic)
      if (!s.defined && s.version == kVersion) used.insert(s.name);
    // No copy of the client inside the shim: it defines none of the client's functions (the
    // exports, and two that only a static copy of the client would bring along).
    std::vector<std::string> copied;
    for (const auto* table : {&shim.dynamic, &shim.symtab})
      for (const auto& s : *table)
        if (s.defined && (exports.count(s.name) != 0 || s.name == "vgpu::guest::Channel::open()" ||
                          s.name == "vgpu::guest::connect_transport()"))
          copied.push_back(s.name);
    CHECK(copied.empty());
  }
  // What the shims import is what the client exports: nothing they would miss, nothing extra.
  CHECK(used == exports);
}
