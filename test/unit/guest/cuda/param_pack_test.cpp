#include "guest/cuda/param_pack.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

using vgpu::cuda::pack_params;
using vgpu::cuda::param_layout_valid;
using vgpu::proto::KernelParamInfo;

namespace {

struct Mixed {
  char tag;
  double value;
  int index;
};

}  // namespace

TEST_CASE("parameters land at the offsets of the layout", "[cudart][params]") {
  // (uint64, Mixed, int): 8 + 24 + 4, as cuFuncGetParamInfo reports it.
  const std::vector<KernelParamInfo> layout = {{0, 8}, {8, 24}, {32, 4}};
  const uint32_t size = 36;
  REQUIRE(param_layout_valid(layout, size));

  unsigned long long first = 0x1122334455667788ull;
  Mixed m;
  std::memset(&m, 0, sizeof m);
  m.tag = 'Z';
  m.value = 2.0;
  m.index = 7;
  int last = 0x0a0b0c0d;
  void* args[] = {&first, &m, &last};

  std::vector<uint8_t> out(64, 0xee);
  REQUIRE(pack_params(layout, size, args, out) == CUDA_SUCCESS);
  CHECK(std::memcmp(out.data(), &first, 8) == 0);
  CHECK(std::memcmp(out.data() + 8, &m, sizeof m) == 0);
  CHECK(std::memcmp(out.data() + 32, &last, 4) == 0);
  CHECK(out[36] == 0xee);  // nothing written past the buffer
}

TEST_CASE("padding between parameters is zeroed", "[cudart][params]") {
  const std::vector<KernelParamInfo> layout = {{0, 1}, {8, 8}};  // char, then an 8-aligned pointer
  char c = 'x';
  void* p = reinterpret_cast<void*>(0x1234);
  void* args[] = {&c, &p};
  std::vector<uint8_t> out(16, 0xee);
  REQUIRE(pack_params(layout, 16, args, out) == CUDA_SUCCESS);
  CHECK(out[0] == 'x');
  for (int i = 1; i < 8; ++i) CHECK(out[i] == 0);
  void* back;
  std::memcpy(&back, out.data() + 8, sizeof back);
  CHECK(back == p);
}

TEST_CASE("a parameter over 4 KiB is copied whole", "[cudart][params]") {
  struct Big {
    float v[1100];
  } big;
  for (int i = 0; i < 1100; ++i) big.v[i] = static_cast<float>(i);
  float* out_ptr = reinterpret_cast<float*>(0xdead0000);
  const std::vector<KernelParamInfo> layout = {{0, sizeof big}, {4400, 8}};
  void* args[] = {&big, &out_ptr};
  std::vector<uint8_t> out(4408);
  REQUIRE(pack_params(layout, 4408, args, out) == CUDA_SUCCESS);
  CHECK(std::memcmp(out.data(), &big, sizeof big) == 0);
  CHECK(std::memcmp(out.data() + 4400, &out_ptr, 8) == 0);
}

TEST_CASE("a kernel without parameters packs nothing", "[cudart][params]") {
  std::vector<uint8_t> out;
  CHECK(pack_params({}, 0, nullptr, out) == CUDA_SUCCESS);
}

TEST_CASE("missing arguments are refused", "[cudart][params]") {
  const std::vector<KernelParamInfo> layout = {{0, 4}, {4, 4}};
  int a = 1;
  std::vector<uint8_t> out(8);
  CHECK(pack_params(layout, 8, nullptr, out) == CUDA_ERROR_INVALID_VALUE);
  void* one_null[] = {&a, nullptr};
  CHECK(pack_params(layout, 8, one_null, out) == CUDA_ERROR_INVALID_VALUE);
  void* ok[] = {&a, &a};
  std::vector<uint8_t> small(7);
  CHECK(pack_params(layout, 8, ok, small) == CUDA_ERROR_INVALID_VALUE);
}

TEST_CASE("layouts that leave the buffer are invalid", "[cudart][params]") {
  CHECK(param_layout_valid(std::vector<KernelParamInfo>{{0, 8}, {8, 8}}, 16));
  CHECK_FALSE(param_layout_valid(std::vector<KernelParamInfo>{{0, 8}, {12, 8}}, 16));
  CHECK_FALSE(param_layout_valid(std::vector<KernelParamInfo>{{20, 0}}, 16));
  CHECK_FALSE(param_layout_valid(std::vector<KernelParamInfo>{{8, UINT32_MAX - 4}}, 16));  // wraps
  CHECK_FALSE(param_layout_valid({}, vgpu::limits::kMaxKernelParamBytes + 1));
  CHECK(param_layout_valid(std::vector<KernelParamInfo>{{0, 32764}}, 32764));
}
