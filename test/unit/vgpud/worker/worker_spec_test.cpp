// A worker's arguments are the daemon's whole message to it: what worker_arguments() writes,
// parse_worker_arguments() must read back unchanged, and anything missing is an error.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "vgpud/worker/worker_spec.h"

using vgpud::WorkerSpec;

namespace {

vgpu::Result<WorkerSpec, std::string> round_trip(const std::vector<std::string>& args) {
  std::vector<const char*> argv = {"vgpud", vgpud::kChannelWorkerFlag};
  for (const auto& a : args) argv.push_back(a.c_str());
  return vgpud::parse_worker_arguments(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("worker arguments read back as written", "[worker]") {
  WorkerSpec spec;
  spec.tenant = "alpha";
  spec.guest_pid = 4242;
  spec.driver_path = "/opt/nvidia/libcuda.so.1";
  spec.driver_release = "580.159.04";
  spec.device_ordinals = {2, 0};
  spec.device_memory_limit = 64ull << 20;
  spec.image_memory_limit = 1ull << 30;
  spec.module_cache_memory = 3ull << 30;
  spec.share_slot = 17;
  spec.spin_us = 7;
  spec.log_level = "debug";
  spec.sizes.upload = 1 << 20;
  spec.sizes.download = 2 << 20;
  spec.sizes.heap = 8 << 20;
  spec.region_offset = 3ull << 30;

  auto parsed = round_trip(vgpud::worker_arguments(spec));
  REQUIRE(parsed);
  CHECK(parsed->tenant == spec.tenant);
  CHECK(parsed->guest_pid == spec.guest_pid);
  CHECK(parsed->driver_path == spec.driver_path);
  CHECK(parsed->driver_release == spec.driver_release);
  CHECK(parsed->nvml_version.empty());  // unknown travels as an empty argument
  CHECK(parsed->device_ordinals == spec.device_ordinals);
  CHECK(parsed->device_memory_limit == spec.device_memory_limit);
  CHECK(parsed->image_memory_limit == spec.image_memory_limit);
  CHECK(parsed->module_cache_memory == spec.module_cache_memory);
  CHECK(parsed->share_slot == spec.share_slot);
  CHECK(parsed->spin_us == spec.spin_us);
  CHECK(parsed->log_level == spec.log_level);
  CHECK(parsed->sizes.submit == spec.sizes.submit);
  CHECK(parsed->sizes.reply == spec.sizes.reply);
  CHECK(parsed->sizes.upload == spec.sizes.upload);
  CHECK(parsed->sizes.download == spec.sizes.download);
  CHECK(parsed->sizes.heap == spec.sizes.heap);
  CHECK(parsed->region_offset == spec.region_offset);
  CHECK(parsed->name() == "alpha/4242");
}

TEST_CASE("a worker refuses arguments that are missing or malformed", "[worker]") {
  WorkerSpec spec;
  spec.tenant = "alpha";
  spec.device_ordinals = {0};
  std::vector<std::string> args = vgpud::worker_arguments(spec);

  // Without its share slot a worker would count its memory in another worker's slot.
  std::vector<std::string> missing;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--share-slot") {
      ++i;
      continue;
    }
    missing.push_back(args[i]);
  }
  auto r = round_trip(missing);
  REQUIRE_FALSE(r);
  CHECK(r.error().find("share-slot") != std::string::npos);

  std::vector<std::string> malformed = args;
  for (size_t i = 0; i + 1 < malformed.size(); ++i)
    if (malformed[i] == "--guest-pid") malformed[i + 1] = "not-a-pid";
  CHECK_FALSE(round_trip(malformed));
}
