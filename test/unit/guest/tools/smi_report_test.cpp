// vgpu-smi's renderings of a report: the JSON scripts read (every field, guest text that is not
// UTF-8 replaced rather than thrown on) and the table people read.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "guest/tools/smi_report.h"

using namespace vgpu::smi;

namespace {

Report sample() {
  Report r;
  r.transport = "local:/run/vgpu/alpha.sock";
  r.vgpud_version = "0.1.0";
  r.protocol_version = 4;
  r.cuda_driver_version = 13000;
  r.driver_release = "580.159.04";
  r.memory_limit = 64ull << 20;
  r.memory_used = 3ull << 20;
  r.attached_processes = 2;
  r.devices.push_back({0, "NVIDIA H200", "GPU-00000000-0000-0000-0000-000000000001", "00000000:10:00.0", 9, 0,
                       141ull << 30, 64ull << 20, 42});
  r.processes.push_back({4242, "trainer", {0}, 3ull << 20});
  r.counters = {{"received", 17}, {"rejected", 0}};
  return r;
}

}  // namespace

TEST_CASE("vgpu-smi --json carries the whole report", "[smi][nvml]") {
  const auto j = nlohmann::json::parse(render_json(sample()));
  CHECK(j["vgpud_version"] == "0.1.0");
  CHECK(j["protocol_version"] == 4);
  CHECK(j["cuda_driver_version"] == 13000);
  CHECK(j["driver_release"] == "580.159.04");
  CHECK(j["transport"] == "local:/run/vgpu/alpha.sock");
  CHECK(j["memory"]["limit"] == (64ull << 20));
  CHECK(j["memory"]["used"] == (3ull << 20));
  CHECK(j["attached_processes"] == 2);
  REQUIRE(j["devices"].size() == 1);
  CHECK(j["devices"][0]["compute_capability"] == "9.0");
  CHECK(j["devices"][0]["memory_total"] == (64ull << 20));
  CHECK(j["devices"][0]["utilization"] == 42);
  REQUIRE(j["processes"].size() == 1);
  CHECK(j["processes"][0]["pid"] == 4242);
  CHECK(j["processes"][0]["devices"] == nlohmann::json::array({0}));
  CHECK(j["counters"]["received"] == 17);
}

TEST_CASE("vgpu-smi --json survives a process name that is not UTF-8", "[smi][nvml][hostile]") {
  Report r = sample();
  r.processes[0].name = std::string("bad\xff\xfe", 5);
  const auto j = nlohmann::json::parse(render_json(r));
  CHECK(j["processes"][0]["name"].get<std::string>().rfind("bad", 0) == 0);
}

TEST_CASE("vgpu-smi's table names versions, transport, memory, devices and processes", "[smi][nvml]") {
  const std::string t = render_table(sample());
  CHECK(t.find("vgpud 0.1.0, protocol 4, CUDA driver 13.0 (host driver 580.159.04)\n") != std::string::npos);
  CHECK(t.find("transport local:/run/vgpu/alpha.sock") != std::string::npos);
  CHECK(t.find("memory used 3 MiB of limit 64 MiB") != std::string::npos);
  CHECK(t.find("NVIDIA H200") != std::string::npos);
  CHECK(t.find("64 MiB   42%\n") != std::string::npos);  // the tenant's utilization
  CHECK(t.find("4242") != std::string::npos);
  CHECK(t.find("received=17") != std::string::npos);
  Report none = sample();
  none.processes.clear();
  none.memory_limit = 0;
  none.devices[0].utilization.reset();
  const std::string u = render_table(none);
  CHECK(u.find(" -\n") != std::string::npos);  // utilization unknown
  CHECK(u.find("no limit") != std::string::npos);
  CHECK(u.find("no process of this tenant is using a GPU") != std::string::npos);
}
