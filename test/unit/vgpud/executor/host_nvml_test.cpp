// The tenant's utilization from NVML's per-process samples (host_nvml.h): only the tenant's
// own workers count, each by its latest sample, and the sum stops at 100.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "vgpud/executor/host_nvml.h"

using vgpud::ProcessUtilizationSample;
using vgpud::tenant_utilization;

TEST_CASE("only the tenant's workers count towards its utilization", "[host_nvml]") {
  const std::vector<ProcessUtilizationSample> samples = {
      {100, 10, 30, 5}, {200, 10, 20, 4}, {999, 10, 100, 100},  // 999: another tenant's worker
  };
  const std::vector<uint32_t> tenant = {100, 200, 300};
  const auto u = tenant_utilization(samples, tenant);
  CHECK(u.sm == 50);
  CHECK(u.memory == 9);
  const std::vector<uint32_t> nobody;
  CHECK(tenant_utilization(samples, nobody).sm == 0);
}

TEST_CASE("a worker counts by its latest sample, and the sum stops at 100", "[host_nvml]") {
  const std::vector<ProcessUtilizationSample> samples = {
      {100, 10, 90, 1}, {100, 20, 60, 2}, {100, 15, 5, 3}, {200, 20, 70, 200},
  };
  const std::vector<uint32_t> tenant = {100, 200};
  const auto u = tenant_utilization(samples, tenant);
  CHECK(u.sm == 100);      // 60 (100's latest) + 70, capped
  CHECK(u.memory == 100);  // 2 + 200 (a bad sample is taken as 100), capped
}
