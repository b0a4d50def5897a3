// NVML in the guest (docs/design.md, "NVML in the guest") and vgpu-smi, against a real vgpud
// over the fake driver: a guest's NVML shows its tenant's GPUs, its memory limit as their size,
// its own usage and its own processes, never another tenant's; and asking costs no context.
#include <catch2/catch.hpp>

#include <signal.h>

#include <cstdint>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "test/integration/vgpud_process.h"

using namespace vgpu::test;

namespace {

std::map<std::string, std::string> env_for(const VgpudProcess& vgpud, const std::string& tenant) {
  return {{"VGPU_SOCKET", vgpud.socket(tenant)}, {"VGPU_TRANSPORT", "local"}};
}

// "key=value" from nvml_query's output: the value after the first "key=".
std::string value_of(const std::string& output, const std::string& key) {
  const std::regex re("(^|[ \\n])" + key + "=([^ \\n]*)");
  std::smatch m;
  return std::regex_search(output, m, re) ? m[2].str() : std::string("<missing " + key + ">");
}

// The pids nvml_query listed on device 0, with their memory.
std::map<uint32_t, uint64_t> listed_processes(const std::string& output) {
  std::map<uint32_t, uint64_t> out;
  const std::regex re("process 0 pid=([0-9]+) memory=([0-9]+)");
  for (auto it = std::sregex_iterator(output.begin(), output.end(), re); it != std::sregex_iterator(); ++it)
    out[static_cast<uint32_t>(std::stoul((*it)[1].str()))] = std::stoull((*it)[2].str());
  return out;
}

// A guest program that holds 3 MiB of device memory (hold_resources), started and waited for.
RunningProgram start_holder(const VgpudProcess& vgpud, const std::string& tenant) {
  RunningProgram holder = start_program(guest_program("hold_resources"), {}, env_for(vgpud, tenant));
  REQUIRE(eventually([&] { return program_output(holder).find("holding") != std::string::npos; }, 20000));
  return holder;
}

void stop(RunningProgram& program) {
  kill(program.pid, SIGKILL);
  wait_program(program);
}

constexpr uint64_t kHeld = 3ull << 20;  // hold_resources: three 1 MiB allocations
constexpr uint64_t kLimit = 64ull << 20;

}  // namespace

TEST_CASE("the guest's NVML answers devices, memory (the tenant's limit as total) and processes", "[nvml]") {
  VgpudProcess vgpud({TenantSpec{"alpha", "      device_memory: 64MiB\n"}});
  RunningProgram holder = start_holder(vgpud, "alpha");

  auto r = run_program(guest_program("nvml_query"), {}, env_for(vgpud, "alpha"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(value_of(r.output, "count") == "1");
  REQUIRE(value_of(r.output, "cuda") == "13000");
  // The host's driver release and NVML version, as vgpud's NVML (here the fake's) reports them:
  // NVIDIA's nvidia-smi refuses an NVML whose version differs from its own.
  REQUIRE(value_of(r.output, "driver") == "580.0.fake");
  REQUIRE(value_of(r.output, "nvml") == "13.580.0.fake");
  REQUIRE(value_of(r.output, "links") == "0/0");
  REQUIRE(value_of(r.output, "fieldreplay") == "3");  // NVML_ERROR_NOT_SUPPORTED
  REQUIRE(value_of(r.output, "index") == "0");
  REQUIRE(value_of(r.output, "name") == "vgpu");  // "vgpu fake device 0": up to the first space
  REQUIRE(r.output.find("name=vgpu fake device 0 uuid=") != std::string::npos);
  REQUIRE(std::regex_search(r.output, std::regex("uuid=GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12} ")));
  REQUIRE(value_of(r.output, "bus") == "00000000:10:00.0");
  REQUIRE(value_of(r.output, "cc") == "9.0");
  // The tenant's limit is the device's size; what it holds is its own processes' memory.
  REQUIRE(value_of(r.output, "total") == std::to_string(kLimit));
  REQUIRE(value_of(r.output, "used") == std::to_string(kHeld));
  REQUIRE(value_of(r.output, "free") == std::to_string(kLimit - kHeld));
  REQUIRE(value_of(r.output, "total2") == std::to_string(kLimit));
  REQUIRE(value_of(r.output, "used2") == std::to_string(kHeld));
  REQUIRE(value_of(r.output, "by_uuid 0") == "1");
  REQUIRE(value_of(r.output, "by_bus 0") == "1");
  // The holder is listed with its memory; the querying process, which has no context, is not.
  const auto listed = listed_processes(r.output);
  REQUIRE(listed.size() == 1);
  REQUIRE(listed.count(static_cast<uint32_t>(holder.pid)) == 1);
  REQUIRE(listed.at(static_cast<uint32_t>(holder.pid)) == kHeld);
  REQUIRE(value_of(r.output, "temperature") == "3");  // NVML_ERROR_NOT_SUPPORTED
  // nvidia-smi's private table, which it needs before it shows anything: the same handle, the
  // same process with its name, no other kind of process; a slot vgpu does not know reports
  // nothing (nvidia-smi gives up on an internal call's error).
  REQUIRE(value_of(r.output, "smi_table_size") == "4096");
  REQUIRE(value_of(r.output, "smi_handle 0") == "1");
  REQUIRE(value_of(r.output, "smi_processes 0") == "1");
  REQUIRE(r.output.find("smi_process 0 pid=" + std::to_string(holder.pid) + " memory=" + std::to_string(kHeld) +
                        " name=hold_resources\n") != std::string::npos);
  REQUIRE(value_of(r.output, "smi_other_processes 0") == "0");
  REQUIRE(value_of(r.output, "smi_unknown_slot") == "0");
  REQUIRE(value_of(r.output, "smi_unknown_device_slot") == "0/0");
  // The host's maximum PCIe link generation (nvidia-smi -q's "Host Max"): not the guest's to know,
  // refused as NVIDIA's library refuses it where there is none (shown as N/A), the value untouched.
  REQUIRE(value_of(r.output, "smi_host_max_link_gen") == "3/77");
  // dmon and pmon sample the guest's devices (with 0 they say "Not supported on the device(s)");
  // pmon's per-process samples are refused (its columns show "-"); an unknown slot whose second
  // argument is a number, not a pointer, is answered without writing through it.
  REQUIRE(value_of(r.output, "smi_sampling") == "0/1");
  REQUIRE(value_of(r.output, "smi_process_samples") == "3");
  REQUIRE(value_of(r.output, "smi_unknown_slot_no_pointer") == "0");
  // Events: no type is supported, registering none is fine, a wait times out (NVML_ERROR_TIMEOUT),
  // a freed set is gone.
  REQUIRE(r.output.find("events types=0 none=0 xid=3 wait=10\n") != std::string::npos);
  REQUIRE(value_of(r.output, "freed_again") == "2");
  REQUIRE(r.output.find("mig_devices=0 is_mig=0 display=0/0\n") != std::string::npos);
  // nvidia-smi -q's PCI section: the same address and ids as nvmlDeviceGetPciInfo, a 3D controller
  // (class 0x3, subclass 0x2: a display controller driving no display); an unknown version is
  // refused (NVML_ERROR_ARGUMENT_VERSION_MISMATCH). No HMM or ATS addressing in a guest.
  REQUIRE(r.output.find("pci_ext 0 bus=00000000:10:00.0 same=1 class=0x3/0x2 wrong_version=25\n") != std::string::npos);
  REQUIRE(value_of(r.output, "addressing 0") == "0");
  stop(holder);
}

// The fake NVML says this worker keeps the GPU 37 % busy (11 % for memory) while it has a context,
// and that pid 1, another tenant's process, keeps it fully busy (test/fake-cuda/nvml.cpp).
TEST_CASE("the guest's NVML reports its tenant's utilization, never another process's", "[nvml][isolation]") {
  VgpudProcess vgpud({TenantSpec{"alpha", ""}});
  auto idle = run_program(guest_program("nvml_query"), {}, env_for(vgpud, "alpha"));
  INFO(idle.output);
  REQUIRE(idle.exit_code == 0);
  REQUIRE(value_of(idle.output, "util") == "0/0");  // no context of its own; pid 1 not counted

  auto busy = run_program(guest_program("nvml_query"), {"context"}, env_for(vgpud, "alpha"));
  INFO(busy.output);
  REQUIRE(busy.exit_code == 0);
  REQUIRE(value_of(busy.output, "util") == "37/11");
}

TEST_CASE("an NVML query never shows another tenant's process or memory", "[nvml][isolation]") {
  VgpudProcess vgpud({TenantSpec{"alpha", "      device_memory: 64MiB\n"}, TenantSpec{"beta", ""}});
  RunningProgram a1 = start_holder(vgpud, "alpha");
  RunningProgram a2 = start_holder(vgpud, "alpha");
  RunningProgram b1 = start_holder(vgpud, "beta");

  auto in_alpha = run_program(guest_program("nvml_query"), {}, env_for(vgpud, "alpha"));
  auto in_beta = run_program(guest_program("nvml_query"), {}, env_for(vgpud, "beta"));
  INFO(in_alpha.output);
  INFO(in_beta.output);
  REQUIRE(in_alpha.exit_code == 0);
  REQUIRE(in_beta.exit_code == 0);

  const auto alpha = listed_processes(in_alpha.output);
  REQUIRE(alpha.size() == 2);
  REQUIRE(alpha.count(static_cast<uint32_t>(a1.pid)) == 1);
  REQUIRE(alpha.count(static_cast<uint32_t>(a2.pid)) == 1);
  REQUIRE(alpha.count(static_cast<uint32_t>(b1.pid)) == 0);
  REQUIRE(value_of(in_alpha.output, "used") == std::to_string(2 * kHeld));

  const auto beta = listed_processes(in_beta.output);
  REQUIRE(beta.size() == 1);
  REQUIRE(beta.count(static_cast<uint32_t>(b1.pid)) == 1);
  REQUIRE(value_of(in_beta.output, "used") == std::to_string(kHeld));
  // Names: of the tenant's own processes, as they said in HELLO; another tenant's pid is unknown.
  REQUIRE(in_alpha.output.find("pid=" + std::to_string(a1.pid) + " memory=") != std::string::npos);
  REQUIRE(in_alpha.output.find("name=?") == std::string::npos);
  auto env_with_pid = env_for(vgpud, "alpha");
  env_with_pid["NVML_QUERY_NAME_OF"] = std::to_string(b1.pid);
  auto name_of_beta = run_program(guest_program("nvml_query"), {}, env_with_pid);
  INFO(name_of_beta.output);
  REQUIRE(name_of_beta.output.find("name_of rc=6 name=\n") != std::string::npos);  // NVML_ERROR_NOT_FOUND
  // Without a limit the tenant sees the GPU's size, but only its own usage in it.
  REQUIRE(value_of(in_beta.output, "total") != std::to_string(kLimit));

  // Once a process is gone, it is gone from the listing too.
  stop(a2);
  REQUIRE(eventually([&] {
    auto again = run_program(guest_program("nvml_query"), {}, env_for(vgpud, "alpha"));
    return again.exit_code == 0 && listed_processes(again.output).size() == 1 &&
           value_of(again.output, "used") == std::to_string(kHeld);
  }, 10000));
  stop(a1);
  stop(b1);
}

TEST_CASE("a process that only asks NVML makes no GPU context", "[nvml][contexts]") {
  VgpudProcess vgpud;
  RunningProgram query = start_program(guest_program("nvml_query"), {"hold"}, env_for(vgpud, "alpha"));
  REQUIRE(eventually([&] { return program_output(query).find("holding") != std::string::npos; }, 20000));
  INFO(program_output(query));
  // Attached (its worker runs), yet no context anywhere in vgpud.
  REQUIRE(vgpud.counter("alpha", "processes") == 1);
  REQUIRE(vgpud.fake_state("contexts") <= 0);
  // The same count sees a context as soon as a process uses the GPU: one, the holder's.
  RunningProgram holder = start_holder(vgpud, "alpha");
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 1; }));
  stop(holder);
  stop(query);
}

TEST_CASE("vgpu-smi shows the tenant's devices, memory, processes and counters", "[nvml][smi]") {
  VgpudProcess vgpud({TenantSpec{"alpha", "      device_memory: 64MiB\n"}, TenantSpec{"beta", ""}});
  RunningProgram holder = start_holder(vgpud, "alpha");
  RunningProgram other = start_holder(vgpud, "beta");

  auto json_run = run_program(VGPU_SMI_PATH, {"--json"}, env_for(vgpud, "alpha"));
  INFO(json_run.output);
  REQUIRE(json_run.exit_code == 0);
  const auto j = nlohmann::json::parse(json_run.output);
  REQUIRE(j["protocol_version"].get<uint32_t>() > 0);
  REQUIRE(!j["vgpud_version"].get<std::string>().empty());
  REQUIRE(j["driver_release"].get<std::string>() == "580.0.fake");
  REQUIRE(j["transport"].get<std::string>() == "local:" + vgpud.socket("alpha"));
  REQUIRE(j["memory"]["limit"].get<uint64_t>() == kLimit);
  REQUIRE(j["memory"]["used"].get<uint64_t>() == kHeld);
  REQUIRE(j["devices"].size() == 1);
  REQUIRE(j["devices"][0]["name"].get<std::string>() == "vgpu fake device 0");
  REQUIRE(j["devices"][0]["pci_bus_id"].get<std::string>() == "00000000:10:00.0");
  REQUIRE(j["devices"][0]["memory_total"].get<uint64_t>() == kLimit);
  REQUIRE(j["processes"].size() == 1);  // the holder; not vgpu-smi, not beta's process
  REQUIRE(j["processes"][0]["pid"].get<int>() == holder.pid);
  REQUIRE(j["processes"][0]["name"].get<std::string>() == "hold_resources");
  REQUIRE(j["processes"][0]["memory_used"].get<uint64_t>() == kHeld);
  REQUIRE(j["attached_processes"].get<uint32_t>() == 2);  // the holder and vgpu-smi itself
  REQUIRE(j["counters"]["received"].get<uint64_t>() > 0);
  REQUIRE(j["counters"]["rejected"].get<uint64_t>() == 0);

  auto table = run_program(VGPU_SMI_PATH, {}, env_for(vgpud, "alpha"));
  INFO(table.output);
  REQUIRE(table.exit_code == 0);
  REQUIRE(table.output.find("transport local:" + vgpud.socket("alpha")) != std::string::npos);
  REQUIRE(table.output.find("memory used 3 MiB of limit 64 MiB") != std::string::npos);
  REQUIRE(table.output.find("vgpu fake device 0") != std::string::npos);
  REQUIRE(std::regex_search(table.output, std::regex("\\n" + std::to_string(holder.pid) + " +hold_resources +0 +3 MiB")));
  REQUIRE(table.output.find(std::to_string(other.pid)) == std::string::npos);

  auto bad = run_program(VGPU_SMI_PATH, {"--bogus"}, env_for(vgpud, "alpha"));
  REQUIRE(bad.exit_code == 1);
  stop(holder);
  stop(other);
}
