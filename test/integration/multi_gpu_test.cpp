// Hosts with several GPUs (the fake driver's FAKE_CUDA_DEVICE_COUNT): tenants placed on GPUs by
// index and UUID, what each guest sees, peer access and copies between GPUs, and tenants on
// different GPUs running side by side.
#include <catch2/catch.hpp>

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "test/integration/vgpud_process.h"

using namespace vgpu::test;

namespace {

std::map<std::string, std::string> env_for(const VgpudProcess& vgpud, const std::string& tenant) {
  return {{"VGPU_SOCKET", vgpud.socket(tenant)}};
}

// The fake driver's UUID of host GPU `index`, as nvidia-smi -L prints UUIDs: "vgpufake", zeros,
// then the index in the last byte.
std::string fake_uuid(int index) {
  char s[64];
  std::snprintf(s, sizeof s, "GPU-76677075-6661-6b65-0000-0000000000%02x", index);
  return s;
}

}  // namespace

TEST_CASE("a tenant sees exactly its GPUs, in its order, named by index or UUID", "[gpus]") {
  TenantSpec pair{"pair", "", false, "[2, \"" + fake_uuid(0) + "\"]"};
  TenantSpec single{"single", "", false, "[3]"};
  VgpudProcess vgpud({pair, single}, {{"FAKE_CUDA_DEVICE_COUNT", "4"}});

  auto r = run_program(guest_program("multi_gpu"), {"2"}, env_for(vgpud, "pair"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("device 0 host 2 vgpu fake device 2\n") != std::string::npos);
  REQUIRE(r.output.find("device 1 host 0 vgpu fake device 0\n") != std::string::npos);
  REQUIRE(r.output.find("multi_gpu ok") != std::string::npos);

  auto s = run_program(guest_program("multi_gpu"), {"1"}, env_for(vgpud, "single"));
  INFO(s.output);
  REQUIRE(s.exit_code == 0);
  REQUIRE(s.output.find("device 0 host 3 vgpu fake device 3\n") != std::string::npos);
  REQUIRE(s.output.find("device 1 ") == std::string::npos);

  // The log says which physical GPUs each tenant got.
  REQUIRE(vgpud.read_log().find("tenant 'pair' listening on " + vgpud.socket("pair") + " with GPU 2 (" +
                                fake_uuid(2) + "), GPU 0 (" + fake_uuid(0) + ")") != std::string::npos);
  REQUIRE(vgpud.stop() == 0);
}

TEST_CASE("copies between GPUs work where the host allows no peer access", "[gpus]") {
  VgpudProcess vgpud({TenantSpec{"pair", "", false, "[0, 1]"}},
                     {{"FAKE_CUDA_DEVICE_COUNT", "2"}, {"FAKE_CUDA_PEER_ACCESS", "0"}});
  auto r = run_program(guest_program("multi_gpu"), {"2", "no-peer"}, env_for(vgpud, "pair"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("multi_gpu ok") != std::string::npos);
  // The copies went through the driver's peer copy, not a same-device copy.
  REQUIRE(vgpud.read_log().find("cuMemcpyPeer → CUDA_SUCCESS") != std::string::npos);
  REQUIRE(vgpud.read_log().find("cuMemcpyPeerAsync → CUDA_SUCCESS") != std::string::npos);
}

TEST_CASE("tenants on different GPUs never wait on each other", "[gpus]") {
  VgpudProcess vgpud({TenantSpec{"alpha", "", false, "[0]"}, TenantSpec{"beta", "", false, "[1]"}},
                     {{"FAKE_CUDA_DEVICE_COUNT", "2"}});
  RunningProgram sleeper = start_program(guest_program("sleep_kernel"), {"4000"}, env_for(vgpud, "alpha"));
  REQUIRE(eventually([&] { return program_output(sleeper).find("sleeping") != std::string::npos; }, 20000));
  // beta's whole program, kernels, copies and all, runs on GPU 1 while alpha's GPU 0 is busy.
  auto r = run_program(guest_program("multi_gpu"), {"1"}, env_for(vgpud, "beta"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("device 0 host 1 ") != std::string::npos);
  REQUIRE(program_output(sleeper).find("sleep_kernel ok") == std::string::npos);
  auto s = wait_program(sleeper);
  REQUIRE(s.exit_code == 0);
}

TEST_CASE("a guest killed while holding memory on two GPUs leaves nothing on either", "[gpus]") {
  VgpudProcess vgpud({TenantSpec{"pair", "", false, "[1, 0]"}}, {{"FAKE_CUDA_DEVICE_COUNT", "2"}});
  RunningProgram holder = start_program(guest_program("multi_gpu"), {"2", "hold"}, env_for(vgpud, "pair"));
  REQUIRE(eventually([&] { return program_output(holder).find("holding") != std::string::npos; }, 20000));
  REQUIRE(vgpud.fake_state("contexts") == 2);  // one per GPU, in the guest's worker
  REQUIRE(vgpud.fake_state("allocations") == 2);
  kill(holder.pid, SIGKILL);
  wait_program(holder);
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
  REQUIRE(vgpud.fake_state("allocations") == 0);
  REQUIRE(vgpud.fake_state("allocated_bytes") == 0);
  REQUIRE(vgpud.alive());
}

TEST_CASE("a GPU the host lacks stops vgpud with the tenant, the file and the GPU named", "[gpus][config]") {
  char dir[] = "/tmp/vgpu-gpus-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string config = std::string(dir) + "/vgpu.yaml";
  const auto attempt = [&](const std::string& gpus) {
    std::ofstream out(config);
    out << "vgpud:\n  driver: " << VGPU_FAKE_CUDA_PATH << "\n  control_socket: " << dir << "/control.sock\n"
        << "tenants:\n  - name: alpha\n    gpus: " << gpus << "\n    local:\n      socket: " << dir << "/a.sock\n";
    out.close();
    return run_program(VGPU_VGPUD_PATH, {"--config", config}, {{"FAKE_CUDA_DEVICE_COUNT", "2"}}, 20);
  };
  auto index = attempt("[0, 2]");
  INFO(index.output);
  REQUIRE(index.exit_code != 0);
  REQUIRE(index.output.find("tenant 'alpha' (" + config + ":") != std::string::npos);
  REQUIRE(index.output.find("GPU 2 does not exist (this host has 2)") != std::string::npos);

  auto uuid = attempt("[\"" + fake_uuid(5) + "\"]");
  INFO(uuid.output);
  REQUIRE(uuid.exit_code != 0);
  REQUIRE(uuid.output.find("no GPU with UUID " + fake_uuid(5)) != std::string::npos);
  unlink(config.c_str());
  rmdir(dir);
}
