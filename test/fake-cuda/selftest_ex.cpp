// fake-cuda (test double, never ships): self-check of context limits, 2D memsets, module
// enumeration, the occupancy calculators for dynamic shared memory and clusters,
// cuLaunchKernelEx and the stream memory operations.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fake_module.h"
#include "selftest.h"

namespace vgpu::fake::selftest {

namespace {

CUlaunchConfig config_of(unsigned grid, unsigned block, CUlaunchAttribute* attrs, unsigned n) {
  CUlaunchConfig c{};
  c.gridDimX = grid;
  c.gridDimY = c.gridDimZ = 1;
  c.blockDimX = block;
  c.blockDimY = c.blockDimZ = 1;
  c.attrs = attrs;
  c.numAttrs = n;
  return c;
}

CUlaunchAttribute cluster_attr(unsigned x) {
  CUlaunchAttribute a{};
  a.id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
  a.value.clusterDim.x = x;
  a.value.clusterDim.y = a.value.clusterDim.z = 1;
  return a;
}

}  // namespace

void extended_checks() {
  CUcontext before = nullptr, ctx = nullptr;
  OK(api.cuCtxGetCurrent(&before));
  OK(api.cuCtxCreate_v2(&ctx, 0, 0));

  // ---- limits: the driver's defaults, per context ----
  size_t v = 0;
  OK(api.cuCtxGetLimit(&v, CU_LIMIT_STACK_SIZE));
  CHECK(v == 1024);
  OK(api.cuCtxGetLimit(&v, CU_LIMIT_MALLOC_HEAP_SIZE));
  CHECK(v == 8u << 20);
  OK(api.cuCtxSetLimit(CU_LIMIT_MALLOC_HEAP_SIZE, 64u << 20));
  OK(api.cuCtxGetLimit(&v, CU_LIMIT_MALLOC_HEAP_SIZE));
  CHECK(v == 64u << 20);
  EXPECT_RC(api.cuCtxSetLimit(CU_LIMIT_SHMEM_SIZE, 1), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuCtxSetLimit(CU_LIMIT_MAX_L2_FETCH_GRANULARITY, 256), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuCtxGetLimit(&v, static_cast<CUlimit>(12)), CUDA_ERROR_UNSUPPORTED_LIMIT);
  EXPECT_RC(api.cuCtxGetLimit(nullptr, CU_LIMIT_STACK_SIZE), CUDA_ERROR_INVALID_VALUE);
  {
    CUcontext second = nullptr;
    OK(api.cuCtxCreate_v2(&second, 0, 0));
    OK(api.cuCtxGetLimit(&v, CU_LIMIT_MALLOC_HEAP_SIZE));
    CHECK(v == 8u << 20);  // its own
    OK(api.cuCtxDestroy_v2(second));
    OK(api.cuCtxSetCurrent(ctx));
  }

  // ---- 2D memsets write the rows and leave the gaps ----
  CUdeviceptr p = 0;
  OK(api.cuMemAlloc_v2(&p, 1024));
  OK(api.cuMemsetD8Async(p, 0, 1024, nullptr));
  OK(api.cuMemsetD2D32Async(p, 64, 0xA1B2C3D4u, 4, 3, nullptr));
  OK(api.cuMemsetD2D16Async(p + 512, 0, 0xBEEF, 3, 1, nullptr));
  OK(api.cuMemsetD2D8Async(p + 600, 8, 0x7F, 2, 2, nullptr));
  std::vector<unsigned char> host(1024);
  OK(api.cuMemcpyDtoHAsync_v2(host.data(), p, host.size(), nullptr));
  uint32_t w = 0;
  std::memcpy(&w, host.data() + 128 + 12, 4);
  CHECK(w == 0xA1B2C3D4u);
  CHECK(host[16] == 0 && host[192] == 0);
  uint16_t h = 0;
  std::memcpy(&h, host.data() + 512 + 4, 2);
  CHECK(h == 0xBEEF);
  CHECK(host[518] == 0);
  CHECK(host[600] == 0x7F && host[601] == 0x7F && host[602] == 0 && host[608] == 0x7F && host[610] == 0);
  EXPECT_RC(api.cuMemsetD2D32Async(p + 2, 64, 0, 1, 1, nullptr), CUDA_ERROR_INVALID_VALUE);  // misaligned
  EXPECT_RC(api.cuMemsetD2D32Async(p, 8, 0, 4, 2, nullptr), CUDA_ERROR_INVALID_VALUE);      // rows overlap
  EXPECT_RC(api.cuMemsetD2D8Async(p + 512, 256, 0, 16, 3, nullptr), CUDA_ERROR_INVALID_VALUE);  // past the end
  EXPECT_RC(api.cuMemsetD2D8Async(p, SIZE_MAX / 2, 0, 1, 4, nullptr), CUDA_ERROR_INVALID_VALUE);  // wraps
  OK(api.cuMemsetD2D8Async(p, 0, 0, 0, 5, nullptr));  // nothing to do

  // ---- module enumeration, names ----
  const std::string image =
      module_image({"kernel fake_fill_u32 8,4,8", "kernel _Z3bari 4", "global g 16"});
  CUmodule mod = nullptr;
  OK(api.cuModuleLoadData(&mod, image.c_str()));
  unsigned count = 0;
  OK(api.cuModuleGetFunctionCount(&count, mod));
  CHECK(count == 2);
  CUfunction fns[4] = {};
  OK(api.cuModuleEnumerateFunctions(fns, 4, mod));
  const char* name = nullptr;
  OK(api.cuFuncGetName(&name, fns[0]));
  CHECK(name != nullptr && std::string(name) == "fake_fill_u32");
  OK(api.cuFuncGetName(&name, fns[1]));
  CHECK(name != nullptr && std::string(name) == "_Z3bari");
  CUfunction by_name = nullptr;
  OK(api.cuModuleGetFunction(&by_name, mod, "_Z3bari"));
  CHECK(by_name == fns[1]);
  EXPECT_RC(api.cuModuleGetFunctionCount(&count, reinterpret_cast<CUmodule>(0x1234)), CUDA_ERROR_INVALID_HANDLE);
  EXPECT_RC(api.cuFuncGetName(&name, reinterpret_cast<CUfunction>(0x1234)), CUDA_ERROR_INVALID_HANDLE);
  const CUfunction fill = fns[0];

  // ---- occupancy: dynamic shared memory, clusters ----
  size_t smem = 0;
  OK(api.cuOccupancyAvailableDynamicSMemPerBlock(&smem, fill, 1, 256));
  CHECK(smem == 232448);
  OK(api.cuOccupancyAvailableDynamicSMemPerBlock(&smem, fill, 4, 256));
  CHECK(smem == 233472 / 4 - 1024);
  OK(api.cuOccupancyAvailableDynamicSMemPerBlock(&smem, fill, 9, 256));  // 9 x 256 threads do not fit
  CHECK(smem == 0);
  EXPECT_RC(api.cuOccupancyAvailableDynamicSMemPerBlock(&smem, fill, 0, 256), CUDA_ERROR_INVALID_VALUE);
  int blocks = 0;
  OK(api.cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(&blocks, fill, 256, 100000, 0));
  CHECK(blocks == 2);  // now bounded by shared memory too
  CUlaunchAttribute attrs[3] = {cluster_attr(2)};
  CUlaunchConfig cfg = config_of(8, 256, attrs, 1);
  int clusters = 0, size = 0;
  OK(api.cuOccupancyMaxActiveClusters(&clusters, fill, &cfg));
  CHECK(clusters == 8 * (8 * 16 / 2));
  OK(api.cuOccupancyMaxPotentialClusterSize(&size, fill, &cfg));
  CHECK(size == 8);
  OK(api.cuFuncSetAttribute(fill, CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED, 1));
  OK(api.cuOccupancyMaxPotentialClusterSize(&size, fill, &cfg));
  CHECK(size == 16);
  OK(api.cuFuncSetAttribute(fill, CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED, 0));
  CUlaunchConfig no_cluster = config_of(8, 256, nullptr, 0);
  EXPECT_RC(api.cuOccupancyMaxActiveClusters(&clusters, fill, &no_cluster), CUDA_ERROR_INVALID_CLUSTER_SIZE);
  attrs[0] = cluster_attr(9);
  EXPECT_RC(api.cuOccupancyMaxActiveClusters(&clusters, fill, &cfg), CUDA_ERROR_INVALID_CLUSTER_SIZE);
  EXPECT_RC(api.cuOccupancyMaxActiveClusters(&clusters, fill, nullptr), CUDA_ERROR_INVALID_VALUE);

  // ---- cuLaunchKernelEx runs the kernel as cuLaunchKernel does ----
  uint32_t value = 0x600DF00D;
  uint64_t n = 8;
  void* args[] = {&p, &value, &n};
  attrs[0] = cluster_attr(2);
  attrs[1] = CUlaunchAttribute{};
  attrs[1].id = CU_LAUNCH_ATTRIBUTE_COOPERATIVE;
  attrs[1].value.cooperative = 1;
  attrs[2] = CUlaunchAttribute{};
  attrs[2].id = CU_LAUNCH_ATTRIBUTE_PRIORITY;
  attrs[2].value.priority = -1;
  CUlaunchConfig launch = config_of(2, 32, attrs, 3);
  OK(api.cuLaunchKernelEx(&launch, fill, args, nullptr));
  OK(api.cuMemcpyDtoHAsync_v2(host.data(), p, 36, nullptr));
  std::memcpy(&w, host.data() + 28, 4);
  CHECK(w == value);
  std::memcpy(&w, host.data() + 32, 4);
  CHECK(w == 0);
  launch = config_of(3, 32, attrs, 1);  // a cluster of 2 does not tile 3 blocks
  EXPECT_RC(api.cuLaunchKernelEx(&launch, fill, args, nullptr), CUDA_ERROR_INVALID_CLUSTER_SIZE);
  launch = config_of(132 * 8 + 1, 256, attrs + 1, 1);  // cooperative, more blocks than fit at once
  EXPECT_RC(api.cuLaunchKernelEx(&launch, fill, args, nullptr), CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE);
  launch = config_of(1, 32, attrs, 3);
  launch.numAttrs = 3;
  launch.attrs = nullptr;
  EXPECT_RC(api.cuLaunchKernelEx(&launch, fill, args, nullptr), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuLaunchKernelEx(nullptr, fill, args, nullptr), CUDA_ERROR_INVALID_VALUE);
  launch = config_of(1, 32, nullptr, 0);
  EXPECT_RC(api.cuLaunchKernelEx(&launch, reinterpret_cast<CUfunction>(0x1234), args, nullptr),
            CUDA_ERROR_INVALID_HANDLE);

  // ---- stream memory operations ----
  OK(api.cuStreamWriteValue32_v2(nullptr, p + 64, 7, 0));
  OK(api.cuStreamWriteValue64_v2(nullptr, p + 72, 0x1122334455667788ull, CU_STREAM_WRITE_VALUE_NO_MEMORY_BARRIER));
  OK(api.cuStreamWaitValue32_v2(nullptr, p + 64, 7, CU_STREAM_WAIT_VALUE_EQ));
  OK(api.cuStreamWaitValue32_v2(nullptr, p + 64, 5, CU_STREAM_WAIT_VALUE_GEQ));
  OK(api.cuStreamWaitValue32_v2(nullptr, p + 64, 2, CU_STREAM_WAIT_VALUE_AND));
  OK(api.cuStreamWaitValue64_v2(nullptr, p + 72, 0x1122334455667788ull, CU_STREAM_WAIT_VALUE_EQ | CU_STREAM_WAIT_VALUE_FLUSH));
  // Conditions that do not hold fail at once rather than hang.
  EXPECT_RC(api.cuStreamWaitValue32_v2(nullptr, p + 64, 8, CU_STREAM_WAIT_VALUE_GEQ), CUDA_ERROR_NOT_READY);
  EXPECT_RC(api.cuStreamWaitValue32_v2(nullptr, p + 64, 8, CU_STREAM_WAIT_VALUE_AND), CUDA_ERROR_NOT_READY);
  EXPECT_RC(api.cuStreamWaitValue32_v2(nullptr, p + 64, 0xFFFFFFF8u, CU_STREAM_WAIT_VALUE_NOR), CUDA_ERROR_NOT_READY);
  OK(api.cuStreamWaitValue32_v2(nullptr, p + 64, 0, CU_STREAM_WAIT_VALUE_NOR));
  EXPECT_RC(api.cuStreamWaitValue64_v2(nullptr, p + 72, 1, CU_STREAM_WAIT_VALUE_EQ), CUDA_ERROR_NOT_READY);
  EXPECT_RC(api.cuStreamWriteValue32_v2(nullptr, p + 66, 1, 0), CUDA_ERROR_INVALID_VALUE);   // misaligned
  EXPECT_RC(api.cuStreamWriteValue64_v2(nullptr, p + 1020, 1, 0), CUDA_ERROR_INVALID_VALUE);  // past the end
  EXPECT_RC(api.cuStreamWriteValue32_v2(nullptr, p + 64, 1, 2), CUDA_ERROR_INVALID_VALUE);    // unknown flag
  EXPECT_RC(api.cuStreamWaitValue32_v2(nullptr, p + 64, 1, 4), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuStreamWaitValue32_v2(reinterpret_cast<CUstream>(0x1234), p + 64, 7, 1), CUDA_ERROR_INVALID_HANDLE);
  OK(api.cuMemcpyDtoHAsync_v2(host.data(), p + 64, 16, nullptr));
  std::memcpy(&w, host.data(), 4);
  CHECK(w == 7);

  OK(api.cuModuleUnload(mod));
  OK(api.cuMemFree_v2(p));
  OK(api.cuCtxDestroy_v2(ctx));
  OK(api.cuCtxSetCurrent(before));
}

}  // namespace vgpu::fake::selftest
