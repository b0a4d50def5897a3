#include "guest/cuda/launch_check.h"

#include <catch2/catch.hpp>
#include <cuda.h>

#include <cstddef>
#include <thread>
#include <vector>

#include "vgpu/protocol/limits.h"

using namespace vgpu::cuda;

namespace {

LaunchLimits h100() {
  LaunchLimits l;
  l.max_threads_per_block = 1024;
  l.max_block[0] = 1024;
  l.max_block[1] = 1024;
  l.max_block[2] = 64;
  l.max_grid[0] = 2147483647;
  l.max_grid[1] = 65535;
  l.max_grid[2] = 65535;
  return l;
}

}  // namespace

TEST_CASE("valid launch configurations pass", "[cudart][launch]") {
  CHECK(check_launch_config(dim3(1), dim3(1), h100()) == CUDA_SUCCESS);
  CHECK(check_launch_config(dim3(2147483647u), dim3(1024), h100()) == CUDA_SUCCESS);
  CHECK(check_launch_config(dim3(4, 65535, 65535), dim3(16, 8, 8), h100()) == CUDA_SUCCESS);
}

TEST_CASE("invalid launch configurations are refused", "[cudart][launch]") {
  CHECK(check_launch_config(dim3(0), dim3(32), h100()) == CUDA_ERROR_INVALID_VALUE);
  CHECK(check_launch_config(dim3(1), dim3(0), h100()) == CUDA_ERROR_INVALID_VALUE);
  CHECK(check_launch_config(dim3(1), dim3(32, 1, 0), h100()) == CUDA_ERROR_INVALID_VALUE);
  CHECK(check_launch_config(dim3(1), dim3(2048), h100()) == CUDA_ERROR_INVALID_VALUE);
  CHECK(check_launch_config(dim3(1), dim3(32, 32, 2), h100()) == CUDA_ERROR_INVALID_VALUE);  // 2048 threads
  CHECK(check_launch_config(dim3(1), dim3(1, 1, 65), h100()) == CUDA_ERROR_INVALID_VALUE);
  CHECK(check_launch_config(dim3(1, 65536), dim3(1), h100()) == CUDA_ERROR_INVALID_VALUE);
  // A product that would wrap 64 bits still counts as too many threads.
  LaunchLimits only_threads;
  only_threads.max_threads_per_block = 1024;
  CHECK(check_launch_config(dim3(1), dim3(0xffffffffu, 0xffffffffu, 0xffffffffu), only_threads) ==
        CUDA_ERROR_INVALID_VALUE);
}

TEST_CASE("limits come from the device's attributes", "[cudart][launch]") {
  vgpu::proto::DeviceGetInfoReply info{};
  info.attribute_count = 16;
  info.attributes[CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK] = 256;
  info.attributes[CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X] = 256;
  LaunchLimits l = launch_limits(info);
  CHECK(l.max_threads_per_block == 256);
  CHECK(check_launch_config(dim3(1), dim3(256), l) == CUDA_SUCCESS);
  CHECK(check_launch_config(dim3(1), dim3(257), l) == CUDA_ERROR_INVALID_VALUE);
  // Unreported limits are not enforced.
  CHECK(check_launch_config(dim3(1u << 30, 1u << 20), dim3(1, 200), l) == CUDA_SUCCESS);
}

namespace {

vgpu::proto::FuncGetAttributesReply attributes_with_max_dynamic_shared(int32_t value) {
  vgpu::proto::FuncGetAttributesReply reply{};
  reply.count = vgpu::limits::kMaxFunctionAttributes;
  reply.values[CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES] = value;
  return reply;
}

}  // namespace

TEST_CASE("only launches with dynamic shared memory need the kernel's limit", "[cudart][launch]") {
  CHECK_FALSE(needs_shared_limit(0));
  // Even a little: a kernel's default limit is 48 KiB less its static shared memory.
  CHECK(needs_shared_limit(1));
  CHECK(needs_shared_limit(48 * 1024));
  CHECK(needs_shared_limit(size_t{1} << 20));
}

TEST_CASE("dynamic shared memory above the kernel's limit is refused", "[cudart][launch]") {
  CHECK(check_dynamic_shared(0, 49152) == CUDA_SUCCESS);
  CHECK(check_dynamic_shared(49152, 49152) == CUDA_SUCCESS);
  CHECK(check_dynamic_shared(49153, 49152) == CUDA_ERROR_INVALID_VALUE);
  CHECK(check_dynamic_shared(100 * 1024, 49152) == CUDA_ERROR_INVALID_VALUE);  // before the opt-in
  CHECK(check_dynamic_shared(100 * 1024, 102400) == CUDA_SUCCESS);          // after it
  CHECK(check_dynamic_shared(size_t{1} << 20, 102400) == CUDA_ERROR_INVALID_VALUE);
  CHECK(check_dynamic_shared(1, 0) == CUDA_ERROR_INVALID_VALUE);  // opted down to nothing
  // No known limit: vgpud judges the launch.
  CHECK(check_dynamic_shared(size_t{1} << 20, kNoSharedLimit) == CUDA_SUCCESS);
  CHECK(check_dynamic_shared(size_t{1} << 20, SharedLimitCache::kUnknown) == CUDA_SUCCESS);
}

TEST_CASE("the limit comes from the FuncGetAttributes reply", "[cudart][launch]") {
  CHECK(shared_limit_from(attributes_with_max_dynamic_shared(49152)) == 49152);
  CHECK(shared_limit_from(attributes_with_max_dynamic_shared(32768)) == 32768);
  // 0 is what vgpud sends for an attribute the driver would not give: not a limit.
  CHECK(shared_limit_from(attributes_with_max_dynamic_shared(0)) == kNoSharedLimit);
  CHECK(shared_limit_from(attributes_with_max_dynamic_shared(-5)) == kNoSharedLimit);
  // A reply too short to carry the attribute.
  auto short_reply = attributes_with_max_dynamic_shared(49152);
  short_reply.count = CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES;
  CHECK(shared_limit_from(short_reply) == kNoSharedLimit);
  short_reply.count = CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES + 1;
  CHECK(shared_limit_from(short_reply) == 49152);
}

TEST_CASE("the limit cache", "[cudart][launch]") {
  SECTION("is unknown until fetched or set") {
    SharedLimitCache cache;
    CHECK(cache.get() == SharedLimitCache::kUnknown);
  }
  SECTION("keeps the first fetch") {
    SharedLimitCache cache;
    CHECK(cache.learn(49152) == 49152);
    CHECK(cache.get() == 49152);
    CHECK(cache.learn(1234) == 49152);
    CHECK(cache.get() == 49152);
  }
  SECTION("takes every cudaFuncSetAttribute value") {
    SharedLimitCache cache;
    CHECK(cache.learn(49152) == 49152);
    cache.set(102400);
    CHECK(cache.get() == 102400);
    cache.set(1024);
    CHECK(cache.get() == 1024);
  }
  SECTION("a fetch that lost the race with cudaFuncSetAttribute does not undo it") {
    SharedLimitCache cache;
    cache.set(102400);
    CHECK(cache.learn(49152) == 102400);
    CHECK(cache.get() == 102400);
  }
}

TEST_CASE("threads that fetch the limit at once agree on it", "[cudart][launch]") {
  SharedLimitCache cache;
  std::vector<int64_t> seen(8, 0);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < seen.size(); ++i)
    threads.emplace_back([&cache, &seen, i] { seen[i] = cache.learn(static_cast<int64_t>(1000 + i)); });
  for (auto& t : threads) t.join();
  for (int64_t v : seen) CHECK(v == cache.get());
}
