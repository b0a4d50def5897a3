// Naming GPUs (vgpud/core/gpu_names.h) against a CudaDriver table of stand-ins: a host whose
// device handles differ from their ordinals, so a mix-up of the two shows, and whose UUIDs are
// known bytes.
#include "vgpud/core/gpu_names.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <set>
#include <string>

using vgpud::CudaDriver;

namespace {

// The host the stand-ins describe; the functions of a CudaDriver table cannot capture.
int g_device_count = 0;
std::set<int> g_no_uuid;  // ordinals whose UUID the driver will not give

constexpr CUdevice kHandleBase = 100;  // device handles are ordinal + 100

CUresult fake_count(int* count) {
  *count = g_device_count;
  return CUDA_SUCCESS;
}

CUresult fake_get(CUdevice* dev, int ordinal) {
  if (ordinal < 0 || ordinal >= g_device_count) return CUDA_ERROR_INVALID_DEVICE;
  *dev = kHandleBase + ordinal;
  return CUDA_SUCCESS;
}

// Device `ordinal`'s UUID: bytes 16 * ordinal + i.
CUuuid uuid_of(int ordinal) {
  CUuuid u;
  for (int i = 0; i < 16; ++i) u.bytes[i] = static_cast<char>(16 * ordinal + i);
  return u;
}

CUresult fake_uuid(CUuuid* uuid, CUdevice dev) {
  const int ordinal = dev - kHandleBase;
  if (ordinal < 0 || ordinal >= g_device_count) return CUDA_ERROR_INVALID_DEVICE;
  if (g_no_uuid.count(ordinal)) return CUDA_ERROR_NOT_SUPPORTED;
  *uuid = uuid_of(ordinal);
  return CUDA_SUCCESS;
}

// A table with only what naming GPUs calls; a host of `count` GPUs.
CudaDriver host_with(int count, std::set<int> no_uuid = {}) {
  g_device_count = count;
  g_no_uuid = std::move(no_uuid);
  CudaDriver cu{};
  cu.cuDeviceGetCount = fake_count;
  cu.cuDeviceGet = fake_get;
  cu.cuDeviceGetUuid = fake_uuid;
  return cu;
}

}  // namespace

TEST_CASE("a UUID is written as nvidia-smi -L writes it", "[core][gpus]") {
  CHECK(vgpud::format_uuid(uuid_of(0)) == "GPU-00010203-0405-0607-0809-0a0b0c0d0e0f");
  // Bytes above 0x7f are unsigned: no sign extension into ffffff..
  CHECK(vgpud::format_uuid(uuid_of(15)) == "GPU-f0f1f2f3-f4f5-f6f7-f8f9-fafbfcfdfeff");
}

TEST_CASE("a GPU named by index is that ordinal, if the host has it", "[core][gpus]") {
  const CudaDriver cu = host_with(3);
  CHECK(*vgpud::resolve_gpu(cu, "0") == 0);
  CHECK(*vgpud::resolve_gpu(cu, "2") == 2);
  CHECK(*vgpud::resolve_gpu(cu, "01") == 1);  // digits are an index, leading zeros and all

  auto missing = vgpud::resolve_gpu(cu, "3");
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == "GPU 3 does not exist (this host has 3)");
  auto huge = vgpud::resolve_gpu(cu, "99999999999999999999");
  REQUIRE_FALSE(huge);
  CHECK(huge.error() == "GPU 99999999999999999999 does not exist (this host has 3)");

  const CudaDriver none = host_with(0);
  auto no_gpus = vgpud::resolve_gpu(none, "0");
  REQUIRE_FALSE(no_gpus);
  CHECK(no_gpus.error() == "GPU 0 does not exist (this host has 0)");
}

TEST_CASE("a GPU named by UUID is the ordinal whose UUID it is", "[core][gpus]") {
  const CudaDriver cu = host_with(3);
  CHECK(*vgpud::resolve_gpu(cu, vgpud::format_uuid(uuid_of(2))) == 2);
  CHECK(*vgpud::resolve_gpu(cu, vgpud::format_uuid(uuid_of(0))) == 0);

  // Not on this host (a fourth GPU's UUID), not a UUID at all, and empty: one sentence each.
  for (const std::string& gpu : {vgpud::format_uuid(uuid_of(3)), std::string("gpu0"), std::string("")}) {
    auto r = vgpud::resolve_gpu(cu, gpu);
    REQUIRE_FALSE(r);
    CHECK(r.error() == "no GPU with UUID " + gpu + " on this host (nvidia-smi -L lists them)");
  }
}

TEST_CASE("a GPU whose UUID the driver does not give is never matched by UUID", "[core][gpus]") {
  const CudaDriver cu = host_with(2, {1});
  CHECK_FALSE(vgpud::resolve_gpu(cu, vgpud::format_uuid(uuid_of(1))));
  CHECK(*vgpud::resolve_gpu(cu, "1") == 1);  // by index it is still there
}

TEST_CASE("a tenant's GPUs are described in its guests' order, with their UUIDs", "[core][gpus]") {
  const CudaDriver cu = host_with(3, {2});
  CHECK(vgpud::describe_gpus(cu, {1, 0}) ==
        "GPU 1 (GPU-10111213-1415-1617-1819-1a1b1c1d1e1f), GPU 0 (GPU-00010203-0405-0607-0809-0a0b0c0d0e0f)");
  CHECK(vgpud::describe_gpus(cu, {2, 0}) == "GPU 2, GPU 0 (GPU-00010203-0405-0607-0809-0a0b0c0d0e0f)");
  CHECK(vgpud::describe_gpus(cu, {}).empty());
}
