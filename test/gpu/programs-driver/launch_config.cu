// launch_config: ways to launch and configure a kernel through the driver API.
// Proves cuLaunchKernelEx with no attributes, with CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION (2 and
// 4 blocks per cluster on sm_90: each block reports %clusterid/%cluster_ctarank/
// %cluster_nctarank), CU_LAUNCH_ATTRIBUTE_COOPERATIVE and CU_LAUNCH_ATTRIBUTE_PRIORITY;
// cuLaunchCooperativeKernel; cuFuncGetParamInfo (offset and size of each parameter of a kernel
// with mixed types, and the error past the last one) and a launch whose parameters go through
// `extra` (CU_LAUNCH_PARAM_BUFFER_POINTER/SIZE) laid out from those offsets; cuFuncSetAttribute
// (MAX_DYNAMIC_SHARED_SIZE_BYTES, PREFERRED_SHARED_MEMORY_CARVEOUT): a launch with 100 KiB of
// dynamic shared memory fails before and works after, with cuLaunchKernel and cuLaunchKernelEx;
// cuFuncSetCacheConfig.
// blobs: cubin
#if defined(__CUDACC__)
extern "C" __global__ void cluster_info(unsigned int* out) {
  unsigned int rank, n, cid;
  asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(rank));
  asm volatile("mov.u32 %0, %%cluster_nctarank;" : "=r"(n));
  asm volatile("mov.u32 %0, %%clusterid.x;" : "=r"(cid));
  if (threadIdx.x == 0) out[blockIdx.x] = (cid << 16) | (n << 8) | rank;
}

extern "C" __global__ void count_blocks(unsigned int* counter, int add) {
  if (threadIdx.x == 0) atomicAdd(counter, static_cast<unsigned int>(add));
}

extern "C" __global__ void mixed_params(char c, double d, long long* out, short s, long long ll) {
  if (threadIdx.x == 0 && blockIdx.x == 0) {
    out[0] = c;
    out[1] = static_cast<long long>(d * 4.0);
    out[2] = s;
    out[3] = ll;
  }
}

// Fills `count` ints of dynamic shared memory and writes their sum.
extern "C" __global__ void big_smem(long long* out, int count) {
  extern __shared__ int buf[];
  for (int i = threadIdx.x; i < count; i += blockDim.x) buf[i] = i % 1000;
  __syncthreads();
  if (threadIdx.x == 0) {
    long long s = 0;
    for (int i = 0; i < count; ++i) s += buf[i];
    out[blockIdx.x] = s;
  }
}
#else
#include <vector>

#include "driver_common.h"
#include "drv_blobs.h"

static CUlaunchConfig config(unsigned int grid, unsigned int block, unsigned int smem,
                             CUlaunchAttribute* attrs, unsigned int nattrs) {
  CUlaunchConfig c;
  std::memset(&c, 0, sizeof c);
  c.gridDimX = grid, c.gridDimY = 1, c.gridDimZ = 1;
  c.blockDimX = block, c.blockDimY = 1, c.blockDimZ = 1;
  c.sharedMemBytes = smem;
  c.hStream = nullptr;
  c.attrs = attrs;
  c.numAttrs = nattrs;
  return c;
}

static unsigned int read_u32(CUdeviceptr p) {
  unsigned int v = 0;
  CHECK(cuMemcpyDtoH(&v, p, sizeof v));
  return v;
}

int main() {
  CUdevice dev;
  init_primary(&dev);
  CUmodule mod;
  CHECK(cuModuleLoadData(&mod, drv_cubin));
  CUfunction f_cluster, f_count, f_mixed, f_big;
  CHECK(cuModuleGetFunction(&f_cluster, mod, "cluster_info"));
  CHECK(cuModuleGetFunction(&f_count, mod, "count_blocks"));
  CHECK(cuModuleGetFunction(&f_mixed, mod, "mixed_params"));
  CHECK(cuModuleGetFunction(&f_big, mod, "big_smem"));

  // ---- cuLaunchKernelEx with cluster dimensions ------------------------------------------------
  const unsigned int kBlocks = 16;
  CUdeviceptr info;
  CHECK(cuMemAlloc(&info, kBlocks * sizeof(unsigned int)));
  for (unsigned int cl : {1u, 2u, 4u}) {
    CHECK(cuMemsetD32(info, 0xFFFFFFFFu, kBlocks));
    CUlaunchAttribute at[1];
    std::memset(at, 0, sizeof at);
    at[0].id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
    at[0].value.clusterDim.x = cl, at[0].value.clusterDim.y = 1, at[0].value.clusterDim.z = 1;
    CUlaunchConfig c = config(kBlocks, 64, 0, at, cl == 1 ? 0 : 1);
    void* params[] = {&info};
    CHECK(cuLaunchKernelEx(&c, f_cluster, params, nullptr));
    CHECK(cuCtxSynchronize());
    unsigned int h[kBlocks];
    CHECK(cuMemcpyDtoH(h, info, sizeof h));
    std::printf("cluster %u:", cl);
    for (unsigned int b = 0; b < kBlocks; ++b) {
      std::printf(" %u/%u/%u", h[b] >> 16, (h[b] >> 8) & 0xff, h[b] & 0xff);
      EXPECT(h[b] >> 16 == b / cl && ((h[b] >> 8) & 0xff) == cl && (h[b] & 0xff) == b % cl);
    }
    std::printf("\n");
  }

  // ---- cooperative and priority ------------------------------------------------------------------
  CUdeviceptr counter;
  CHECK(cuMemAlloc(&counter, sizeof(unsigned int)));
  CHECK(cuMemsetD32(counter, 0, 1));
  int sms = 0, least = 0, greatest = 0;
  CHECK(cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev));
  CHECK(cuCtxGetStreamPriorityRange(&least, &greatest));
  int add = 1;
  void* pcount[] = {&counter, &add};
  CUlaunchAttribute coop[1];
  std::memset(coop, 0, sizeof coop);
  coop[0].id = CU_LAUNCH_ATTRIBUTE_COOPERATIVE;
  coop[0].value.cooperative = 1;
  CUlaunchConfig cc = config(static_cast<unsigned int>(sms), 128, 0, coop, 1);
  CHECK(cuLaunchKernelEx(&cc, f_count, pcount, nullptr));
  CHECK(cuLaunchCooperativeKernel(f_count, static_cast<unsigned int>(sms), 1, 1, 128, 1, 1, 0, nullptr,
                                  pcount));
  // The multi-device form (deprecated, still in the driver), on a stream of this device.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  int multi_device = 0;
  CHECK(cuDeviceGetAttribute(&multi_device, CU_DEVICE_ATTRIBUTE_COOPERATIVE_MULTI_DEVICE_LAUNCH, dev));
  std::printf("cooperative multi-device launch attribute: %d\n", multi_device);
  CUstream multi_stream;
  CHECK(cuStreamCreate(&multi_stream, CU_STREAM_NON_BLOCKING));
  CUDA_LAUNCH_PARAMS multi{};
  multi.function = f_count;
  multi.gridDimX = static_cast<unsigned int>(sms);
  multi.gridDimY = multi.gridDimZ = 1;
  multi.blockDimX = 128;
  multi.blockDimY = multi.blockDimZ = 1;
  multi.hStream = multi_stream;
  multi.kernelParams = pcount;
  if (multi_device != 0) CHECK(cuLaunchCooperativeKernelMultiDevice(&multi, 1, 0));
  CHECK(cuStreamSynchronize(multi_stream));
  multi.hStream = nullptr;
  std::printf("multi-device launch on the NULL stream: %s\n",
              cu_name(cuLaunchCooperativeKernelMultiDevice(&multi, 1, 0)));
#pragma GCC diagnostic pop
  CHECK(cuStreamDestroy(multi_stream));
  CUlaunchAttribute prio[1];
  std::memset(prio, 0, sizeof prio);
  prio[0].id = CU_LAUNCH_ATTRIBUTE_PRIORITY;
  prio[0].value.priority = greatest;
  CUlaunchConfig pc = config(10, 32, 0, prio, 1);
  CHECK(cuLaunchKernelEx(&pc, f_count, pcount, nullptr));
  CHECK(cuCtxSynchronize());
  const unsigned int got = read_u32(counter);
  const unsigned int want = (multi_device != 0 ? 3u : 2u) * static_cast<unsigned int>(sms) + 10u;
  std::printf("cooperative+priority blocks counted: as_launched=%d\n", got == want ? 1 : 0);
  EXPECT(got == want);

  // ---- parameter layout and `extra` --------------------------------------------------------------
  size_t off[5], sz[5];
  for (size_t i = 0; i < 5; ++i) {
    CHECK(cuFuncGetParamInfo(f_mixed, i, &off[i], &sz[i]));
    std::printf("mixed_params param %zu: offset=%zu size=%zu\n", i, off[i], sz[i]);
  }
  size_t o, s;
  EXPECT_RES("param_info_past_end", cuFuncGetParamInfo(f_mixed, 5, &o, &s), CUDA_ERROR_INVALID_VALUE);
  CUdeviceptr out;
  CHECK(cuMemAlloc(&out, 4 * sizeof(long long)));
  CHECK(cuMemsetD8(out, 0, 4 * sizeof(long long)));
  alignas(16) unsigned char buf[64];
  std::memset(buf, 0, sizeof buf);
  const char c = -5;
  const double d = 10.75;
  const short sh = -1234;
  const long long ll = -0x123456789ALL;
  std::memcpy(buf + off[0], &c, sizeof c);
  std::memcpy(buf + off[1], &d, sizeof d);
  std::memcpy(buf + off[2], &out, sizeof out);
  std::memcpy(buf + off[3], &sh, sizeof sh);
  std::memcpy(buf + off[4], &ll, sizeof ll);
  size_t buf_size = off[4] + sz[4];
  void* extra[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, buf, CU_LAUNCH_PARAM_BUFFER_SIZE, &buf_size,
                   CU_LAUNCH_PARAM_END};
  CHECK(cuLaunchKernel(f_mixed, 1, 1, 1, 32, 1, 1, 0, nullptr, nullptr, extra));
  CHECK(cuCtxSynchronize());
  long long h[4];
  CHECK(cuMemcpyDtoH(h, out, sizeof h));
  std::printf("extra launch: c=%lld d*4=%lld s=%lld ll=%lld\n", h[0], h[1], h[2], h[3]);
  EXPECT(h[0] == -5 && h[1] == 43 && h[2] == -1234 && h[3] == ll);
  // The same through cuLaunchKernelEx with extra.
  CHECK(cuMemsetD8(out, 0, 4 * sizeof(long long)));
  CUlaunchConfig ec = config(1, 32, 0, nullptr, 0);
  CHECK(cuLaunchKernelEx(&ec, f_mixed, nullptr, extra));
  CHECK(cuCtxSynchronize());
  CHECK(cuMemcpyDtoH(h, out, sizeof h));
  EXPECT(h[0] == -5 && h[1] == 43 && h[2] == -1234 && h[3] == ll);
  std::printf("extra launch (Ex): same\n");

  // ---- more than 48 KiB of dynamic shared memory -------------------------------------------------
  const int count = 100 * 1024 / 4;
  const unsigned int smem = 100 * 1024;
  CUdeviceptr sums;
  CHECK(cuMemAlloc(&sums, 4 * sizeof(long long)));
  void* pbig[] = {&sums, const_cast<int*>(&count)};
  EXPECT_FAIL("launch_100KiB_before_opt_in",
              cuLaunchKernel(f_big, 4, 1, 1, 256, 1, 1, smem, nullptr, pbig, nullptr));
  CHECK(cuFuncSetAttribute(f_big, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem));
  CHECK(cuFuncSetAttribute(f_big, CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, 100));
  CHECK(cuFuncSetCacheConfig(f_big, CU_FUNC_CACHE_PREFER_SHARED));
  int max_dyn = 0;
  CHECK(cuFuncGetAttribute(&max_dyn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, f_big));
  std::printf("big_smem max_dynamic_shared_bytes=%d\n", max_dyn);
  CHECK(cuLaunchKernel(f_big, 4, 1, 1, 256, 1, 1, smem, nullptr, pbig, nullptr));
  CUlaunchConfig bc = config(2, 512, smem, nullptr, 0);
  CHECK(cuLaunchKernelEx(&bc, f_big, pbig, nullptr));  // overwrites sums[0..1]
  CHECK(cuCtxSynchronize());
  long long sh4[4];
  CHECK(cuMemcpyDtoH(sh4, sums, sizeof sh4));
  long long expect = 0;
  for (int i = 0; i < count; ++i) expect += i % 1000;
  std::printf("big_smem sums=%lld,%lld,%lld,%lld\n", sh4[0], sh4[1], sh4[2], sh4[3]);
  for (long long v : sh4) EXPECT(v == expect);
  CHECK(cuFuncSetCacheConfig(f_count, CU_FUNC_CACHE_PREFER_L1));
  CHECK(cuLaunchKernel(f_count, 3, 1, 1, 32, 1, 1, 0, nullptr, pcount, nullptr));
  CHECK(cuCtxSynchronize());
  std::printf("after PREFER_L1: counter_plus_3=%d\n", read_u32(counter) == got + 3 ? 1 : 0);

  for (CUdeviceptr p : {info, counter, out, sums}) CHECK(cuMemFree(p));
  CHECK(cuModuleUnload(mod));
  CHECK(cuDevicePrimaryCtxRelease(dev));
  std::printf("launch_config PASS\n");
  return 0;
}
#endif
