// Graph updates and per-node parameters (docs/design.md §19): real guest programs through vgpu's
// shims and a real vgpud over the fake driver (guest_programs/graph_update*.cpp,
// graph_exec_update.cpp). The programs check what they read back and what each replay left; here,
// that they passed, what reached the driver, and that nothing is left once they are gone.
#include <catch2/catch.hpp>

#include "test/integration/vgpud_process.h"

using namespace vgpu::test;

namespace {

std::map<std::string, std::string> env_for(const VgpudProcess& vgpud, const std::string& tenant) {
  return {{"VGPU_SOCKET", vgpud.socket(tenant)}};
}

}  // namespace

TEST_CASE("graph nodes are read back as set and set in graphs and executable graphs", "[guest][driver][graph]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("graph_update"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("graph_update ok") != std::string::npos);
  // What vgpu does not offer is said once, by name.
  CHECK(r.output.find("attribute 10 is not supported by vgpu") != std::string::npos);
  CHECK(r.output.find("setting a memcpy node's parameters to pageable memory is not supported by vgpu") !=
        std::string::npos);
  // The executable graph's kernel ran with the arguments set between launches: fake_fill_u32's
  // value then count, as the launch log writes them (little-endian, after the 8-byte pointer).
  const std::string launches = read_file(vgpud.launch_log());
  INFO(launches);
  CHECK(launches.find("690000004000000000000000") != std::string::npos);  // 105, a quarter of the words
  CHECK(launches.find("370000008000000000000000") != std::string::npos);  // 55, the graph's own set
  CHECK(launches.find("4d0000000001000000000000") != std::string::npos);  // 77, the generic setter
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
  REQUIRE(vgpud.fake_state("graphs") == 0);
  REQUIRE(vgpud.fake_state("graph_execs") == 0);
}

TEST_CASE("an executable graph is updated from graphs captured again", "[guest][driver][graph]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("graph_exec_update"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("graph_exec_update ok") != std::string::npos);
  const std::string launches = read_file(vgpud.launch_log());
  INFO(launches);
  for (const char* value : {"15000000", "16000000", "17000000", "18000000"})  // 21 to 24, one update each
    CHECK(launches.find(std::string(value) + "2000000000000000") != std::string::npos);
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
  REQUIRE(vgpud.fake_state("graphs") == 0);
}

TEST_CASE("graph updates through the runtime shim", "[guest][graph]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("graph_update_runtime"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("graph_update_runtime ok") != std::string::npos);
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
  REQUIRE(vgpud.stop() == 0);
}
