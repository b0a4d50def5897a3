// Arrays, texture and surface objects from real guest programs (docs/design.md §23): the runtime
// shim's calls and the driver shim's, through a real vgpud (fake driver).
#include <catch2/catch.hpp>

#include <string>

#include "test/integration/vgpud_process.h"

using namespace vgpu::test;

namespace {

std::map<std::string, std::string> env_for(const VgpudProcess& vgpud, const std::string& tenant) {
  return {{"VGPU_SOCKET", vgpud.socket(tenant)}};
}

}  // namespace

TEST_CASE("arrays, textures and surfaces round-trip through the runtime shim", "[guest][arrays]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("arrays"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("arrays ok") != std::string::npos);
  // What the program refused vgpu does not offer is said once, by name.
  CHECK(r.output.find("a channel format other than 8/16/32-bit integers, half or float is not supported by vgpu") !=
        std::string::npos);
  // Everything it made it destroyed, and its arrays' bytes were given back.
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
  REQUIRE(vgpud.counter("alpha", "device_bytes") == 0);
  REQUIRE(vgpud.stop() == 0);
}

TEST_CASE("array copies of pageable memory work without room in the shared heap", "[guest][arrays]") {
  // A 64 KiB heap leaves no staging block: large copies travel in pieces inside the messages.
  VgpudProcess vgpud({TenantSpec{"alpha", "      pinned_memory: 64KiB\n"}});
  auto r = run_program(guest_program("arrays"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("arrays ok") != std::string::npos);
}

TEST_CASE("arrays count against the tenant's device memory limit", "[guest][arrays][limits]") {
  VgpudProcess vgpud({TenantSpec{"alpha", "      device_memory: 8MiB\n"}});
  auto r = run_program(guest_program("arrays"), {"limit"}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("arrays limit ok") != std::string::npos);
  CHECK(vgpud.counter("alpha", "rejected") >= 1);  // the array that did not fit
  REQUIRE(vgpud.alive());
}

TEST_CASE("arrays, textures and surfaces through vgpu's libcuda.so.1", "[guest][driver][arrays]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("arrays_driver"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("arrays_driver ok") != std::string::npos);
  CHECK(r.output.find("a sparse, deferred-mapping or video CUDA array is not supported by vgpu") != std::string::npos);
  // The kernel got the driver's texture object as its first argument, byte for byte.
  const std::string marker = "texture object bytes ";
  const size_t at = r.output.find(marker);
  REQUIRE(at != std::string::npos);
  const std::string bytes = r.output.substr(at + marker.size(), 16);
  const std::string launches = read_file(vgpud.launch_log());
  INFO(launches);
  CHECK(launches.find("launch sample_texture grid=1,1,1 block=32,1,1 smem=0 params=" + bytes) != std::string::npos);
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
  REQUIRE(vgpud.counter("alpha", "device_bytes") == 0);
  REQUIRE(vgpud.stop() == 0);
}
