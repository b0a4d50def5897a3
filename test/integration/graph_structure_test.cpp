// A graph's structure, captures that name their graph, graph memory, conditional nodes and user
// objects, through the driver shim and a real vgpud over the fake driver (guest programs
// graph_structure and graph_objects); graph memory charged to the tenant's device_memory.
#include <catch2/catch.hpp>

#include "test/integration/vgpud_process.h"

using namespace vgpu::test;

namespace {

std::map<std::string, std::string> env_for(const VgpudProcess& vgpud, const std::string& tenant) {
  return {{"VGPU_SOCKET", vgpud.socket(tenant)}};
}

}  // namespace

TEST_CASE("a graph's edges, roots and neighbours read as built and as captured; nodes removed, found in a clone",
          "[guest][driver][graph]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("graph_structure"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("built graphs ok") != std::string::npos);
  CHECK(r.output.find("child graphs ok") != std::string::npos);
  CHECK(r.output.find("capture graphs ok") != std::string::npos);
  CHECK(r.output.find("programmatic edges ok") != std::string::npos);
  REQUIRE(r.output.find("graph_structure ok") != std::string::npos);
  // Every graph it made, a child graph node's and the captures' included, went with it.
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
  REQUIRE(vgpud.fake_state("graphs") == 0);
}

TEST_CASE("graph memory nodes, conditional nodes and user objects run through vgpud", "[guest][driver][graph]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("graph_objects"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("memory nodes ok") != std::string::npos);
  CHECK(r.output.find("conditional nodes ok") != std::string::npos);
  CHECK(r.output.find("user objects ok") != std::string::npos);
  REQUIRE(r.output.find("graph_objects ok") != std::string::npos);
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
  REQUIRE(vgpud.fake_state("graphs") == 0);
  REQUIRE(vgpud.fake_state("allocations") == 0);
  // Graph memory given back with its graphs: the tenant holds nothing once the process is gone.
  REQUIRE(eventually([&] { return vgpud.counter("alpha", "device_bytes") == 0; }));
}

TEST_CASE("the runtime shim's graph structure, memory, conditional and user object calls", "[guest][graph]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("graph_runtime"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("graph_runtime ok") != std::string::npos);
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
  REQUIRE(vgpud.fake_state("graphs") == 0);
}
