// Sharing between two guest processes of one tenant (docs/design.md §25), through a real vgpud
// and the fake driver, whose workers share memory through memfds: legacy IPC of memory and
// events through the runtime shim, virtual memory's shareable handles through the driver shim;
// and a process of another tenant, which opens nothing.
#include <catch2/catch.hpp>

#include "test/integration/vgpud_process.h"

using namespace vgpu::test;

namespace {

std::map<std::string, std::string> env_for(const VgpudProcess& vgpud, const std::string& tenant) {
  return {{"VGPU_SOCKET", vgpud.socket(tenant)}};
}

// Everything the two processes held went with them: no context, allocation or tenant byte left
// (memory another process held open counted until it let go).
void expect_released(VgpudProcess& vgpud, const std::string& tenant) {
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
  CHECK(vgpud.fake_state("allocations") == 0);
  REQUIRE(eventually([&] { return vgpud.counter(tenant, "device_bytes") == 0; }));
}

}  // namespace

TEST_CASE("two processes of one tenant share memory and events both ways (cudaIpc*)", "[guest][ipc]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("ipc_memory"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("child ok") != std::string::npos);
  REQUIRE(r.output.find("ipc_memory ok") != std::string::npos);
  expect_released(vgpud, "alpha");
  REQUIRE(vgpud.stop() == 0);
}

TEST_CASE("a process of another tenant opens nothing one tenant shared", "[guest][ipc]") {
  VgpudProcess vgpud(std::vector<TenantSpec>{{"alpha", ""}, {"beta", ""}});
  auto r = run_program(guest_program("ipc_memory"), {"other-tenant", vgpud.socket("beta")}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("other tenant: memory cudaErrorInvalidValue, event cudaErrorInvalidValue") != std::string::npos);
  REQUIRE(r.output.find("ipc_memory ok") != std::string::npos);
  expect_released(vgpud, "alpha");
  CHECK(vgpud.counter("beta", "device_bytes") == 0);
}

TEST_CASE("two processes of one tenant share virtual memory through file descriptors", "[guest][driver][ipc][vmm]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("ipc_shareable"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("child ok") != std::string::npos);
  REQUIRE(r.output.find("ipc_shareable ok") != std::string::npos);
  expect_released(vgpud, "alpha");
  REQUIRE(vgpud.stop() == 0);
}

TEST_CASE("a process of another tenant imports nothing from a shared file descriptor", "[guest][driver][ipc][vmm]") {
  VgpudProcess vgpud(std::vector<TenantSpec>{{"alpha", ""}, {"beta", ""}});
  auto r =
      run_program(guest_program("ipc_shareable"), {"other-tenant", vgpud.socket("beta")}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("other tenant: import CUDA_ERROR_INVALID_VALUE") != std::string::npos);
  REQUIRE(r.output.find("ipc_shareable ok") != std::string::npos);
  expect_released(vgpud, "alpha");
}
