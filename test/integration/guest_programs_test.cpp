// Real guest processes, linked against libvgpu-cudart, through a real vgpud (fake driver).
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>


#include "test/integration/vgpud_process.h"

using namespace vgpu::test;

namespace {

std::map<std::string, std::string> env_for(const VgpudProcess& vgpud, const std::string& tenant) {
  return {{"VGPU_SOCKET", vgpud.socket(tenant)}};
}

}  // namespace

TEST_CASE("memory calls round-trip data through vgpud", "[guest]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("memory_roundtrip"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("memory_roundtrip ok") != std::string::npos);
  REQUIRE(vgpud.stop() == 0);
}

TEST_CASE("pitched memory, 2D/3D copies and memsets, limits and entry points through the runtime shim",
          "[guest]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("pitched_memory"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("pitched_memory ok") != std::string::npos);
  REQUIRE(vgpud.stop() == 0);
}

TEST_CASE("launches reach the driver with the right function and argument bytes", "[guest]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("fake_kernels"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  const std::string launches = read_file(vgpud.launch_log());
  INFO(launches);
  REQUIRE(launches.find("launch fake_vector_add grid=4,1,1 block=256,1,1 smem=0") != std::string::npos);
  // u64 0x1122334455667788, then struct Mixed {char 'Z', pad, double 2.0, int 7, pad} (24
  // bytes, 8-aligned), then int 0x0a0b0c0d: little-endian bytes as the kernel receives them.
  REQUIRE(launches.find("launch record_args grid=2,3,1 block=32,1,1 smem=128 params="
                        "8877665544332211"
                        "5a00000000000000" "0000000000000040" "0700000000000000"
                        "0d0c0b0a") != std::string::npos);
  // Exactly one record_args launch: the invalid configuration never reached the driver.
  REQUIRE(launches.find("launch record_args") == launches.rfind("launch record_args"));
}

TEST_CASE("a kernel fault reaches the program and vgpud keeps serving", "[guest]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("fake_kernels"), {"fault"}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("fault -> cudaErrorIllegalAddress") != std::string::npos);
  REQUIRE(vgpud.alive());
  auto again = run_program(guest_program("memory_roundtrip"), {}, env_for(vgpud, "alpha"));
  REQUIRE(again.exit_code == 0);
}

TEST_CASE("a killed guest process leaves nothing behind", "[guest]") {
  VgpudProcess vgpud;
  RunningProgram holder = start_program(guest_program("hold_resources"), {}, env_for(vgpud, "alpha"));
  REQUIRE(eventually([&] { return program_output(holder).find("holding") != std::string::npos; }, 20000));
  REQUIRE(vgpud.fake_state("allocations") == 3);
  REQUIRE(vgpud.fake_state("contexts") == 1);

  // Another process of the same tenant is working at the same time.
  RunningProgram other = start_program(guest_program("memory_roundtrip"), {}, env_for(vgpud, "alpha"));
  kill(holder.pid, SIGKILL);
  wait_program(holder);
  REQUIRE(eventually([&] {
    return vgpud.read_log().find("disconnected") != std::string::npos;
  }));
  auto r = wait_program(other);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
  REQUIRE(vgpud.fake_state("allocations") == 0);
  REQUIRE(vgpud.fake_state("allocated_bytes") == 0);
  REQUIRE(vgpud.alive());
}

TEST_CASE("a channel worker that dies ends only its own guest's channel", "[guest]") {
  VgpudProcess vgpud;
  RunningProgram sleeper = start_program(guest_program("sleep_kernel"), {"4000"}, env_for(vgpud, "alpha"));
  REQUIRE(eventually([&] { return program_output(sleeper).find("sleeping") != std::string::npos; }, 20000));
  // "vm=alpha/<pid> connected (channel worker pid <worker>)"
  const std::string log = vgpud.read_log();
  const std::string marker = "(channel worker pid ";
  const size_t at = log.find(marker);
  REQUIRE(at != std::string::npos);
  const pid_t worker = static_cast<pid_t>(std::stol(log.substr(at + marker.size())));
  REQUIRE(kill(worker, SIGKILL) == 0);  // as if the driver crashed under this guest

  // The guest's pending call fails instead of hanging; vgpud goes on serving the tenant.
  auto s = wait_program(sleeper, 20);
  INFO(s.output);
  REQUIRE(s.exit_code != 0);
  REQUIRE(eventually([&] { return vgpud.read_log().find("its channel worker died") != std::string::npos; }));
  REQUIRE(vgpud.alive());
  auto r = run_program(guest_program("memory_roundtrip"), {}, env_for(vgpud, "alpha"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(vgpud.stop() == 0);
}

TEST_CASE("several processes of one tenant run at once", "[guest]") {
  VgpudProcess vgpud;
  std::vector<RunningProgram> programs;
  for (int i = 0; i < 3; ++i)
    programs.push_back(start_program(guest_program(i % 2 ? "fake_kernels" : "memory_roundtrip"), {},
                                     env_for(vgpud, "alpha")));
  for (auto& p : programs) {
    auto r = wait_program(p);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
  }
}

TEST_CASE("a blocking call of one tenant does not stall another", "[guest]") {
  VgpudProcess vgpud(std::vector<TenantSpec>{{"alpha", ""}, {"beta", ""}});
  RunningProgram sleeper = start_program(guest_program("sleep_kernel"), {"4000"}, env_for(vgpud, "alpha"));
  REQUIRE(eventually([&] { return program_output(sleeper).find("sleeping") != std::string::npos; }, 20000));
  auto r = run_program(guest_program("memory_roundtrip"), {}, env_for(vgpud, "beta"));
  REQUIRE(r.exit_code == 0);
  // beta finished while alpha was still blocked in its synchronize.
  REQUIRE(program_output(sleeper).find("sleep_kernel ok") == std::string::npos);
  auto s = wait_program(sleeper);
  REQUIRE(s.exit_code == 0);
}

TEST_CASE("a tenant's device memory limit is enforced", "[guest]") {
  VgpudProcess vgpud(std::vector<TenantSpec>{{"alpha", "      device_memory: 4MiB\n"}});
  auto r = run_program(guest_program("memory_roundtrip"), {}, env_for(vgpud, "alpha"));
  // Its 5 MiB copies need two 5 MiB buffers: more than the tenant may allocate.
  REQUIRE(r.exit_code != 0);
  REQUIRE(r.output.find("cudaErrorMemoryAllocation") != std::string::npos);
  REQUIRE(vgpud.alive());
}

TEST_CASE("vgpud's debug log traces every hop of a call", "[guest]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("hold_resources"), {}, {{"VGPU_SOCKET", vgpud.socket("alpha")},
                                                              {"VGPU_LOG", "debug"}}, 5);
  const std::string log = vgpud.read_log();
  INFO(r.output << "\n--- vgpud log ---\n" << log);
  REQUIRE(r.output.find("cudaMalloc size=1048576 → call_id=0x0030 seq=") != std::string::npos);
  REQUIRE(log.find("[vgpud/mediator] vm=alpha/") != std::string::npos);
  REQUIRE(log.find("call=MEM_ALLOC received") != std::string::npos);
  REQUIRE(log.find("cuMemAlloc → CUDA_SUCCESS ptr=0x") != std::string::npos);
  REQUIRE(log.find("call=MEM_ALLOC answered status=0") != std::string::npos);
}

TEST_CASE("streams are captured into graphs that vgpud instantiates and replays", "[guest][driver][graph]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("graph_capture"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("graph_capture ok") != std::string::npos);
  // Graphs and captures left to the end of the channel are gone with it.
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
}

TEST_CASE("host functions run in the guest process, in stream order, holding their stream", "[guest][driver][host]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("host_functions"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("host_functions ok") != std::string::npos);
  REQUIRE(r.output.find("child graphs ok") != std::string::npos);
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
}

TEST_CASE("stream-ordered allocations come from memory pools kept in the guest", "[guest][driver][pools]") {
  VgpudProcess vgpud({TenantSpec{"alpha", "", false, "[0, 1]"}}, {{"FAKE_CUDA_DEVICE_COUNT", "2"}});
  auto r = run_program(guest_program("mem_pools"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("mem_pools ok") != std::string::npos);
  // What is refused is said once, by name.
  CHECK(r.output.find("cuMemPoolExportToShareableHandle (memory pool IPC) is not supported by vgpu") !=
        std::string::npos);
  // Blocks left cached in a pool at the end go with the channel.
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
  REQUIRE(vgpud.fake_state("allocations") == 0);
  REQUIRE(vgpud.stop() == 0);
}

TEST_CASE("memory a pool caches counts against the tenant's device memory limit", "[guest][driver][pools][limits]") {
  VgpudProcess vgpud({TenantSpec{"alpha", "      device_memory: 8MiB\n"}});
  auto r = run_program(guest_program("mem_pools"), {"limit"}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("mem_pools limit ok") != std::string::npos);
  REQUIRE(vgpud.alive());
}

TEST_CASE("virtual memory: reservations, physical allocations and their mappings", "[guest][driver][vmm]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("virtual_memory"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("virtual_memory ok") != std::string::npos);
  // Every allocation and mapping went with the program.
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
  REQUIRE(vgpud.fake_state("allocations") == 0);
  REQUIRE(vgpud.stop() == 0);
}

TEST_CASE("virtual memory counts against the tenant's device memory limit", "[guest][driver][vmm][limits]") {
  VgpudProcess vgpud({TenantSpec{"alpha", "      device_memory: 8MiB\n"}});
  auto r = run_program(guest_program("virtual_memory"), {"limit"}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("virtual_memory limit ok") != std::string::npos);
  REQUIRE(vgpud.alive());
}

TEST_CASE("virtual memory left behind goes with the program", "[guest][driver][vmm]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("virtual_memory"), {"leave"}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("virtual_memory leave ok") != std::string::npos);
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
  REQUIRE(eventually([&] { return vgpud.fake_state("allocations") == 0; }));
  REQUIRE(vgpud.stop() == 0);
}

TEST_CASE("managed memory: the CPU and the GPU take turns on one pointer", "[guest][driver][managed]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("managed_memory"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("managed_memory ok") != std::string::npos);
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
  REQUIRE(vgpud.fake_state("allocations") == 0);
  REQUIRE(vgpud.stop() == 0);
}

TEST_CASE("__managed__ variables: the CPU and kernels take turns, neighbours untouched", "[guest][runtime][managed]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("managed_variables"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("managed_variables ok") != std::string::npos);
  REQUIRE(vgpud.stop() == 0);
}

TEST_CASE("managed memory counts against the tenant's device memory limit", "[guest][driver][managed][limits]") {
  VgpudProcess vgpud({TenantSpec{"alpha", "      device_memory: 8MiB\n"}});
  auto r = run_program(guest_program("managed_memory"), {"limit"}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("managed_memory limit ok") != std::string::npos);
  REQUIRE(vgpud.alive());
}

TEST_CASE("a Driver API program runs through vgpu's libcuda.so.1", "[guest][driver]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("driver_api"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.output.find("driver_api ok") != std::string::npos);
  // The unsupported call was named once, and the work reached the (fake) driver.
  REQUIRE(r.output.find("cuGraphicsUnregisterResource") != std::string::npos);
  const std::string launches = read_file(vgpud.launch_log());
  REQUIRE(launches.find("launch fake_vector_add grid=4,1,1 block=256,1,1") != std::string::npos);
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
  REQUIRE(vgpud.fake_state("allocations") == 0);
  REQUIRE(vgpud.stop() == 0);
}

TEST_CASE("what a kernel prints reaches the guest's stdout, in order", "[guest][driver]") {
  VgpudProcess vgpud;
  auto r = run_program(guest_program("device_printf"), {}, env_for(vgpud, "alpha"));
  INFO(r.output << "\n--- vgpud log ---\n" << vgpud.read_log());
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("before\n"
                      "fake_printf block 0 value 7\nfake_printf block 1 value 7\nfake_printf block 2 value 7\n"
                      "between\n"
                      "fake_printf block 0 value 8\nfake_printf block 1 value 8\nfake_printf block 2 value 8\n"
                      "after\n") != std::string::npos);
  // The worker's stdout is the guest's: nothing of it reached vgpud's log.
  CHECK(vgpud.read_log().find("fake_printf block") == std::string::npos);
  REQUIRE(vgpud.stop() == 0);
}

TEST_CASE("vgpud refuses vgpu's own guest libcuda.so.1 as its driver", "[driver][config]") {
  char dir[] = "/tmp/vgpu-driver-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string config = std::string(dir) + "/vgpu.yaml";
  {
    std::ofstream out(config);
    out << "vgpud:\n  driver: " << VGPU_GUEST_DRIVER_PATH << "\n  control_socket: " << dir << "/control.sock\n"
        << "tenants:\n  - name: alpha\n    gpus: [0]\n    local:\n      socket: " << dir << "/a.sock\n";
  }
  auto r = run_program(VGPU_VGPUD_PATH, {"--config", config}, {}, 20);
  INFO(r.output);
  REQUIRE(r.exit_code != 0);
  REQUIRE(r.output.find("is vgpu's guest libcuda.so.1, not NVIDIA's driver") != std::string::npos);
  unlink(config.c_str());
  rmdir(dir);
}
