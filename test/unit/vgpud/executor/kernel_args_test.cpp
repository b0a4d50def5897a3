// build_kernel_args: the pointers cuLaunchKernel reads parameters through all leave each
// parameter's full size inside the buffer the guest sent.
#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <vector>

#include "guest/cuda/param_pack.h"
#include "vgpud/executor/kernel_args.h"

using vgpu::proto::KernelParamInfo;
using vgpud::build_kernel_args;
using vgpud::KernelArgsError;
namespace limits = vgpu::limits;

namespace {

std::array<void*, limits::kMaxKernelParams> g_args;

KernelArgsError error_of(std::span<const KernelParamInfo> params, uint32_t expected,
                         std::span<const uint8_t> buffer) {
  auto r = build_kernel_args(params, expected, buffer, g_args);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

}  // namespace

TEST_CASE("each argument points at its parameter in the buffer", "[kernel_args]") {
  // int n; float* p; struct { float x, y, z, w; } v: as cuFuncGetParamInfo reports them.
  const std::vector<KernelParamInfo> params{{0, 4}, {8, 8}, {16, 16}};
  std::vector<uint8_t> buffer(32);
  auto r = build_kernel_args(params, 32, buffer, g_args);
  REQUIRE(r.ok());
  REQUIRE(*r == 3);
  CHECK(g_args[0] == buffer.data());
  CHECK(g_args[1] == buffer.data() + 8);
  CHECK(g_args[2] == buffer.data() + 16);

  // What the guest packs by the same layout is what the driver then reads.
  const int n = 1000;
  float* p = reinterpret_cast<float*>(0x7f3a40000000);
  const float v[4] = {1, 2, 3, 4};
  void* guest_args[3] = {const_cast<int*>(&n), &p, const_cast<float*>(v)};
  REQUIRE(vgpu::cuda::param_layout_valid(params, 32));
  REQUIRE(vgpu::cuda::pack_params(params, 32, guest_args, buffer) == CUDA_SUCCESS);
  r = build_kernel_args(params, 32, buffer, g_args);
  REQUIRE(r.ok());
  CHECK(*static_cast<int*>(g_args[0]) == n);
  CHECK(*static_cast<float**>(g_args[1]) == p);
  CHECK(std::memcmp(g_args[2], v, sizeof v) == 0);
}

TEST_CASE("a kernel without parameters takes an empty buffer", "[kernel_args]") {
  auto r = build_kernel_args({}, 0, {}, g_args);
  REQUIRE(r.ok());
  CHECK(*r == 0);
  const uint8_t one = 0;
  CHECK(error_of({}, 0, std::span(&one, 1)) == KernelArgsError::BufferSizeMismatch);
}

TEST_CASE("the buffer must be exactly the size the layout takes", "[kernel_args]") {
  const std::vector<KernelParamInfo> params{{0, 8}, {8, 4}};
  std::vector<uint8_t> buffer(12);
  CHECK(error_of(params, 16, buffer) == KernelArgsError::BufferSizeMismatch);
  CHECK(error_of(params, 12, std::span(buffer).first(11)) == KernelArgsError::BufferSizeMismatch);
  buffer.resize(13);
  CHECK(error_of(params, 12, buffer) == KernelArgsError::BufferSizeMismatch);
  // Within the protocol's bound only.
  std::vector<uint8_t> huge(limits::kMaxKernelParamBytes + 8);
  CHECK(error_of(params, limits::kMaxKernelParamBytes + 8, huge) == KernelArgsError::BufferTooLarge);
  huge.resize(limits::kMaxKernelParamBytes);
  CHECK(build_kernel_args(std::vector<KernelParamInfo>{{limits::kMaxKernelParamBytes - 4, 4}},
                          limits::kMaxKernelParamBytes, huge, g_args)
            .ok());
}

TEST_CASE("a parameter running past the buffer is refused", "[kernel_args]") {
  std::vector<uint8_t> buffer(16);
  using P = std::vector<KernelParamInfo>;
  CHECK(error_of(P{{0, 8}, {8, 9}}, 16, buffer) == KernelArgsError::ParamOutside);
  CHECK(error_of(P{{17, 0}}, 16, buffer) == KernelArgsError::ParamOutside);
  CHECK(error_of(P{{0, 17}}, 16, buffer) == KernelArgsError::ParamOutside);
  // offset + size wraps around in 32 bits.
  CHECK(error_of(P{{0xFFFFFFF8u, 0x10}}, 16, buffer) == KernelArgsError::ParamOutside);
  CHECK(error_of(P{{8, 0xFFFFFFFFu}}, 16, buffer) == KernelArgsError::ParamOutside);
  // A zero-size parameter at the very end points one past it and reads nothing.
  auto r = build_kernel_args(P{{0, 16}, {16, 0}}, 16, buffer, g_args);
  REQUIRE(r.ok());
  CHECK(g_args[1] == buffer.data() + 16);
}

TEST_CASE("at most kMaxKernelParams parameters, and no more than the array holds", "[kernel_args]") {
  std::vector<KernelParamInfo> params(limits::kMaxKernelParams, KernelParamInfo{0, 4});
  std::vector<uint8_t> buffer(4);
  auto r = build_kernel_args(params, 4, buffer, g_args);
  REQUIRE(r.ok());
  CHECK(*r == limits::kMaxKernelParams);
  params.push_back({0, 4});
  CHECK(error_of(params, 4, buffer) == KernelArgsError::TooManyParams);
  std::array<void*, 2> small;
  auto too_few = build_kernel_args(std::vector<KernelParamInfo>{{0, 1}, {1, 1}, {2, 1}}, 4, buffer, small);
  REQUIRE_FALSE(too_few.ok());
  CHECK(too_few.error() == KernelArgsError::TooManyParams);
}

TEST_CASE("the launch_params corpus format", "[kernel_args]") {
  const std::vector<KernelParamInfo> params{{0, 4}, {8, 8}};
  const std::vector<uint8_t> buffer{1, 2, 3, 4, 0, 0, 0, 0, 5, 6, 7, 8, 9, 10, 11, 12};
  const std::vector<uint8_t> encoded = vgpud::encode_launch_params(params, 16, buffer);
  const std::vector<uint8_t> expected{16, 0, 0, 0, 2, 0, 0, 0,   // expected_size, param_count
                                      0,  0, 0, 0, 4, 0, 0, 0,   // {0, 4}
                                      8,  0, 0, 0, 8, 0, 0, 0,   // {8, 8}
                                      1,  2, 3, 4, 0, 0, 0, 0, 5, 6, 7, 8, 9, 10, 11, 12};
  CHECK(encoded == expected);
}

TEST_CASE("every kernel_args error has a message", "[kernel_args]") {
  for (auto e : {KernelArgsError::TooManyParams, KernelArgsError::BufferTooLarge,
                 KernelArgsError::BufferSizeMismatch, KernelArgsError::ParamOutside})
    CHECK(std::strlen(vgpud::kernel_args_error_message(e)) > 0);
}
