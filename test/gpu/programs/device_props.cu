// device_props: device discovery and properties: cudaGetDeviceCount, cudaGetDevice/SetDevice,
// selected stable cudaDeviceProp fields, cudaDeviceGetAttribute, driver/runtime versions,
// cudaMemGetInfo (total only), cudaFuncGetAttributes, occupancy, and cudaFuncSetAttribute to opt a
// kernel into more than 48 KB of dynamic shared memory, then a launch that uses it.
#include "common.h"

#include <vector>

__global__ void simple(float* p, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] = p[i] * 2.0f + 1.0f;
}

__global__ void regs_and_static_smem(float* p) {
  __shared__ float tile[1024];
  tile[threadIdx.x] = p[threadIdx.x];
  __syncthreads();
  float acc = 0;
  for (int k = 0; k < 32; ++k) acc += tile[(threadIdx.x + k * 33) % 1024] * static_cast<float>(k);
  p[threadIdx.x] = acc;
}

// Uses dynamic shared memory: each block fills it, then sums it.
__global__ void big_smem(unsigned int* out, int words) {
  extern __shared__ unsigned int smem[];
  for (int i = threadIdx.x; i < words; i += blockDim.x) smem[i] = static_cast<unsigned int>(i) * 3u + blockIdx.x;
  __syncthreads();
  if (threadIdx.x == 0) {
    unsigned int s = 0;
    for (int i = 0; i < words; ++i) s += smem[i];
    out[blockIdx.x] = s;
  }
}

int main() {
  bool ok = true;
  int count = 0;
  CK(cudaGetDeviceCount(&count));
  std::printf("device_count=%d\n", count);
  EXPECT(count >= 1);
  CK(cudaSetDevice(0));
  int dev = -1;
  CK(cudaGetDevice(&dev));
  std::printf("current_device=%d\n", dev);
  EXPECT_ERR("set_device_out_of_range", cudaSetDevice(count), cudaErrorInvalidDevice);
  std::printf("last_error_after_bad_set_device=%s\n", cudaGetErrorName(cudaGetLastError()));
  CK(cudaGetDevice(&dev));
  std::printf("current_device_after_bad_set=%d\n", dev);

  cudaDeviceProp p;
  std::memset(&p, 0, sizeof(p));
  CK(cudaGetDeviceProperties(&p, 0));
  std::printf("name=%s\n", p.name);
  std::printf("cc=%d.%d\n", p.major, p.minor);
  std::printf("multiProcessorCount=%d\n", p.multiProcessorCount);
  std::printf("warpSize=%d\n", p.warpSize);
  std::printf("maxThreadsPerBlock=%d\n", p.maxThreadsPerBlock);
  std::printf("maxThreadsDim=%d,%d,%d\n", p.maxThreadsDim[0], p.maxThreadsDim[1], p.maxThreadsDim[2]);
  std::printf("maxGridSize=%d,%d,%d\n", p.maxGridSize[0], p.maxGridSize[1], p.maxGridSize[2]);
  std::printf("totalGlobalMem=%zu\n", p.totalGlobalMem);
  std::printf("sharedMemPerBlock=%zu sharedMemPerBlockOptin=%zu sharedMemPerMultiprocessor=%zu\n",
              p.sharedMemPerBlock, p.sharedMemPerBlockOptin, p.sharedMemPerMultiprocessor);
  std::printf("regsPerBlock=%d totalConstMem=%zu l2CacheSize=%d\n", p.regsPerBlock, p.totalConstMem,
              p.l2CacheSize);
  std::printf("concurrentKernels=%d asyncEngineCount=%d unifiedAddressing=%d\n", p.concurrentKernels,
              p.asyncEngineCount, p.unifiedAddressing);
  std::printf("pciBusID_present=%d\n", p.pciBusID >= 0 ? 1 : 0);
  EXPECT_ERR("props_bad_device", cudaGetDeviceProperties(&p, count), cudaErrorInvalidDevice);
  (void)cudaGetLastError();

  struct {
    cudaDeviceAttr a;
    const char* name;
  } attrs[] = {
      {cudaDevAttrMaxThreadsPerBlock, "MaxThreadsPerBlock"},
      {cudaDevAttrMaxBlockDimX, "MaxBlockDimX"},
      {cudaDevAttrMaxGridDimX, "MaxGridDimX"},
      {cudaDevAttrMaxSharedMemoryPerBlock, "MaxSharedMemoryPerBlock"},
      {cudaDevAttrMaxSharedMemoryPerBlockOptin, "MaxSharedMemoryPerBlockOptin"},
      {cudaDevAttrWarpSize, "WarpSize"},
      {cudaDevAttrMultiProcessorCount, "MultiProcessorCount"},
      {cudaDevAttrComputeCapabilityMajor, "ComputeCapabilityMajor"},
      {cudaDevAttrComputeCapabilityMinor, "ComputeCapabilityMinor"},
      {cudaDevAttrMaxRegistersPerBlock, "MaxRegistersPerBlock"},
      {cudaDevAttrL2CacheSize, "L2CacheSize"},
      {cudaDevAttrMaxThreadsPerMultiProcessor, "MaxThreadsPerMultiProcessor"},
      {cudaDevAttrConcurrentKernels, "ConcurrentKernels"},
      {cudaDevAttrUnifiedAddressing, "UnifiedAddressing"},
      {cudaDevAttrGlobalMemoryBusWidth, "GlobalMemoryBusWidth"},
      {cudaDevAttrTotalConstantMemory, "TotalConstantMemory"},
  };
  for (auto& at : attrs) {
    int v = -1;
    CK(cudaDeviceGetAttribute(&v, at.a, 0));
    std::printf("attr %s=%d\n", at.name, v);
  }
  int v_mp = 0, v_ws = 0;
  CK(cudaDeviceGetAttribute(&v_mp, cudaDevAttrMultiProcessorCount, 0));
  CK(cudaDeviceGetAttribute(&v_ws, cudaDevAttrWarpSize, 0));
  ok &= v_mp == p.multiProcessorCount && v_ws == p.warpSize;

  int drv = 0, rt = 0;
  CK(cudaDriverGetVersion(&drv));
  CK(cudaRuntimeGetVersion(&rt));
  std::printf("driver_version=%d runtime_version=%d driver_ge_runtime=%d\n", drv, rt, drv >= rt ? 1 : 0);

  size_t free_b = 0, total_b = 0;
  CK(cudaMemGetInfo(&free_b, &total_b));
  std::printf("memgetinfo_total=%zu free_le_total=%d free_positive=%d\n", total_b, free_b <= total_b ? 1 : 0,
              free_b > 0 ? 1 : 0);

  cudaFuncAttributes fa;
  const void* kernels[] = {reinterpret_cast<const void*>(simple),
                           reinterpret_cast<const void*>(regs_and_static_smem),
                           reinterpret_cast<const void*>(big_smem)};
  const char* knames[] = {"simple", "regs_and_static_smem", "big_smem"};
  for (int k = 0; k < 3; ++k) {
    std::memset(&fa, 0, sizeof(fa));
    CK(cudaFuncGetAttributes(&fa, kernels[k]));
    std::printf("func %s: numRegs=%d maxThreadsPerBlock=%d sharedSizeBytes=%zu constSizeBytes=%zu "
                "localSizeBytes=%zu maxDynamicSharedSizeBytes=%d ptxVersion=%d binaryVersion=%d\n",
                knames[k], fa.numRegs, fa.maxThreadsPerBlock, fa.sharedSizeBytes, fa.constSizeBytes,
                fa.localSizeBytes, fa.maxDynamicSharedSizeBytes, fa.ptxVersion, fa.binaryVersion);
  }

  // The C entry point (the C++ template in cuda_runtime.h calls the ...WithFlags variant).
  int blocks = -1;
  CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, reinterpret_cast<const void*>(simple), 256, 0));
  std::printf("occupancy simple block=256 smem=0: %d\n", blocks);
  CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, reinterpret_cast<const void*>(regs_and_static_smem), 1024, 0));
  std::printf("occupancy regs_and_static_smem block=1024 smem=0: %d\n", blocks);
  CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, reinterpret_cast<const void*>(big_smem), 128, 32 * 1024));
  std::printf("occupancy big_smem block=128 smem=32KB: %d\n", blocks);

  // More than 48 KB of dynamic shared memory needs an opt-in first.
  const int smem_bytes = 100 * 1024;
  const int words = smem_bytes / 4;
  const int nblocks = 8;
  unsigned int* dout;
  CK(cudaMalloc(&dout, sizeof(unsigned int) * nblocks));
  big_smem<<<nblocks, 256, smem_bytes>>>(dout, words);
  cudaError_t before_optin = cudaGetLastError();
  std::printf("launch_100KB_before_optin=%s\n", cudaGetErrorName(before_optin));
  ok &= before_optin != cudaSuccess;
  CK(cudaFuncSetAttribute(big_smem, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_bytes));
  CK(cudaFuncGetAttributes(&fa, big_smem));
  std::printf("big_smem maxDynamicSharedSizeBytes_after_set=%d\n", fa.maxDynamicSharedSizeBytes);
  CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, reinterpret_cast<const void*>(big_smem), 256, smem_bytes));
  std::printf("occupancy big_smem block=256 smem=100KB: %d\n", blocks);
  big_smem<<<nblocks, 256, smem_bytes>>>(dout, words);
  CK_LAUNCH();
  std::vector<unsigned int> out(nblocks);
  CK(cudaMemcpy(out.data(), dout, sizeof(unsigned int) * nblocks, cudaMemcpyDeviceToHost));
  int bad = 0;
  for (int b = 0; b < nblocks; ++b) {
    unsigned int s = 0;
    for (int i = 0; i < words; ++i) s += static_cast<unsigned int>(i) * 3u + static_cast<unsigned int>(b);
    if (out[b] != s) ++bad;
  }
  std::printf("launch_100KB_after_optin mismatches=%d out[0]=%u out[7]=%u\n", bad, out[0], out[7]);
  ok &= bad == 0;
  CK(cudaFree(dout));

  std::printf("device_props %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
