#include <catch2/catch.hpp>

#include "vgpud/executor/call_checks.h"

using vgpud::LaunchSetup;
using vgpud::pitched_span;

TEST_CASE("a 2D memset's span: rows, pitch, and nothing that wraps", "[memset2d]") {
  REQUIRE(pitched_span(64, 8, 4, 4) == std::optional<uint64_t>(3 * 64 + 32));
  REQUIRE(pitched_span(0, 8, 4, 1) == std::optional<uint64_t>(32));   // one row: the pitch is unused
  REQUIRE(pitched_span(7, 8, 1, 1) == std::optional<uint64_t>(8));
  REQUIRE(pitched_span(32, 8, 4, 2) == std::optional<uint64_t>(64));  // rows back to back
  REQUIRE(pitched_span(64, 0, 4, 4) == std::optional<uint64_t>(0));   // nothing touched
  REQUIRE(pitched_span(64, 8, 4, 0) == std::optional<uint64_t>(0));
  REQUIRE_FALSE(pitched_span(31, 8, 4, 2).has_value());                // overlapping rows
  REQUIRE_FALSE(pitched_span(0, 1, 1, 2).has_value());
  REQUIRE_FALSE(pitched_span(64, 8, 0, 1).has_value());                // no element
  REQUIRE_FALSE(pitched_span(0, 1ull << 62, 4, 1).has_value());        // width * element wraps
  REQUIRE(pitched_span(0, (1ull << 62) - 1, 4, 1) == std::optional<uint64_t>(UINT64_MAX - 3));
  REQUIRE_FALSE(pitched_span(1ull << 63, 1, 1, 3).has_value());        // pitch * (height - 1) wraps
  REQUIRE(pitched_span(1ull << 62, 1, 1, 3) == std::optional<uint64_t>((1ull << 63) + 1));
  REQUIRE_FALSE(pitched_span(UINT64_MAX, UINT64_MAX, 1, 2).has_value());  // + the last row wraps
  REQUIRE(pitched_span(1ull << 63, (1ull << 63) - 1, 1, 2) == std::optional<uint64_t>(UINT64_MAX));  // just fits
  REQUIRE_FALSE(pitched_span(1ull << 63, 1ull << 63, 1, 2).has_value());                               // one past
}

TEST_CASE("stream memory operations: widths, alignment, flags", "[stream_value]") {
  REQUIRE(vgpud::stream_value_shape_ok(0x1000, 4));
  REQUIRE(vgpud::stream_value_shape_ok(0x1004, 4));
  REQUIRE_FALSE(vgpud::stream_value_shape_ok(0x1004, 8));
  REQUIRE_FALSE(vgpud::stream_value_shape_ok(0x1002, 4));
  REQUIRE_FALSE(vgpud::stream_value_shape_ok(0x1000, 6));
  REQUIRE_FALSE(vgpud::stream_value_shape_ok(0x1000, 0));
  REQUIRE_FALSE(vgpud::stream_value_shape_ok(0x1000, 16));
  REQUIRE(((CU_STREAM_WAIT_VALUE_NOR | CU_STREAM_WAIT_VALUE_FLUSH) & ~vgpud::kStreamWaitValueFlags) == 0);
  REQUIRE((0x4u & ~vgpud::kStreamWaitValueFlags) != 0);
  REQUIRE((CU_STREAM_WRITE_VALUE_NO_MEMORY_BARRIER & ~vgpud::kStreamWriteValueFlags) == 0);
  REQUIRE((2u & ~vgpud::kStreamWriteValueFlags) != 0);
}

TEST_CASE("launch configurations carry exactly the attributes asked for", "[launch_ex]") {
  const uint32_t grid[3] = {4, 2, 1}, block[3] = {128, 1, 1}, none[3] = {0, 0, 0}, cluster[3] = {2, 1, 1};
  {
    const LaunchSetup s(grid, block, 512, nullptr, none);
    REQUIRE(s.config.numAttrs == 0);
    REQUIRE(s.config.attrs == nullptr);
    REQUIRE((s.config.gridDimX == 4 && s.config.gridDimY == 2 && s.config.gridDimZ == 1));
    REQUIRE((s.config.blockDimX == 128 && s.config.blockDimY == 1 && s.config.blockDimZ == 1));
    REQUIRE(s.config.sharedMemBytes == 512);
  }
  {
    const LaunchSetup s(grid, block, 0, nullptr, cluster);
    REQUIRE(s.config.numAttrs == 1);
    REQUIRE(s.config.attrs == s.attrs);
    REQUIRE(s.attrs[0].id == CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION);
    REQUIRE((s.attrs[0].value.clusterDim.x == 2 && s.attrs[0].value.clusterDim.y == 1 &&
             s.attrs[0].value.clusterDim.z == 1));
  }
  {
    // A partial cluster goes to the driver as given (it refuses zeros).
    const uint32_t partial[3] = {0, 2, 0};
    const LaunchSetup s(grid, block, 0, nullptr, partial);
    REQUIRE(s.config.numAttrs == 1);
    REQUIRE(s.attrs[0].value.clusterDim.x == 0);
  }
  {
    const LaunchSetup s(grid, block, 0, nullptr, cluster, vgpud::kLaunchCooperative | vgpud::kLaunchPriority, -3);
    REQUIRE(s.config.numAttrs == 3);
    REQUIRE(s.attrs[1].id == CU_LAUNCH_ATTRIBUTE_COOPERATIVE);
    REQUIRE(s.attrs[1].value.cooperative == 1);
    REQUIRE(s.attrs[2].id == CU_LAUNCH_ATTRIBUTE_PRIORITY);
    REQUIRE(s.attrs[2].value.priority == -3);
  }
  {
    // The priority is ignored without its flag.
    const LaunchSetup s(grid, block, 0, nullptr, none, vgpud::kLaunchPriority * 0, -3);
    REQUIRE(s.config.numAttrs == 0);
    const LaunchSetup p(grid, block, 0, nullptr, none, vgpud::kLaunchPriority, 0);
    REQUIRE(p.config.numAttrs == 1);
    REQUIRE(p.attrs[0].id == CU_LAUNCH_ATTRIBUTE_PRIORITY);
  }
  {
    // Programmatic stream serialization: allowed, after the others.
    const LaunchSetup s(grid, block, 0, nullptr, cluster,
                        vgpud::kLaunchCooperative | vgpud::kLaunchPriority | vgpud::kLaunchProgrammatic, 1);
    REQUIRE(s.config.numAttrs == 4);
    REQUIRE(s.attrs[3].id == CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION);
    REQUIRE(s.attrs[3].value.programmaticStreamSerializationAllowed == 1);
    const LaunchSetup p(grid, block, 0, nullptr, none, vgpud::kLaunchProgrammatic);
    REQUIRE(p.config.numAttrs == 1);
    REQUIRE(p.attrs[0].id == CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION);
  }
}

// The hand-made seeds of these calls in the fuzz corpus (test/fuzz/corpus/parse_request/) are
// requests the parser takes, so that fuzz_parse_request starts inside each call's checks.
#include <fstream>
#include <iterator>
#include <vector>

#include "vgpud/mediator/parse.h"

TEST_CASE("the fuzz seeds of the calls 0x0018 … 0x0076 parse", "[fuzz_seeds]") {
  const std::pair<const char*, vgpu::proto::CallId> seeds[] = {
      {"ctx-get-limit", vgpu::proto::CallId::CtxGetLimit},
      {"ctx-set-limit", vgpu::proto::CallId::CtxSetLimit},
      {"memset-2d", vgpu::proto::CallId::Memset2D},
      {"occupancy-available-shared-mem", vgpu::proto::CallId::OccupancyAvailableSharedMem},
      {"occupancy-max-active-clusters", vgpu::proto::CallId::OccupancyMaxActiveClusters},
      {"occupancy-max-cluster-size", vgpu::proto::CallId::OccupancyMaxClusterSize},
      {"module-list-functions", vgpu::proto::CallId::ModuleListFunctions},
      {"launch-kernel-ex", vgpu::proto::CallId::LaunchKernelEx},
      {"stream-wait-value", vgpu::proto::CallId::StreamWaitValue},
      {"stream-write-value", vgpu::proto::CallId::StreamWriteValue},
  };
  for (const auto& [name, call] : seeds) {
    INFO(name);
    std::ifstream in(std::string(VGPU_SOURCE_DIR) + "/test/fuzz/corpus/parse_request/" + name, std::ios::binary);
    REQUIRE(in.good());
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto request = vgpud::parse_request(std::span(bytes.data(), bytes.size()));
    REQUIRE(request.ok());
    CHECK(request->call == call);
  }
}
