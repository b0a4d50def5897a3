// launch_ex: cudaLaunchKernelExC and the queries that go with a launch configuration.
// A kernel launched in clusters of 2 and of 4 blocks (sm_90) records each block's rank in its
// cluster, which the host checks; a cluster that does not tile the grid is refused at the
// launch call (cudaErrorInvalidClusterSize); cudaOccupancyMaxPotentialClusterSize,
// cudaOccupancyMaxActiveClusters and cudaOccupancyAvailableDynamicSMemPerBlock are printed, as
// are the parameter offsets and sizes cudaFuncGetParamInfo reports for a kernel with mixed
// parameters, and the error past its last parameter; cudaGetKernel and cudaGetFuncBySymbol.
#include <cooperative_groups.h>

#include <vector>

#include "common.h"

namespace cg = cooperative_groups;

__global__ void cluster_rank(int* out) {
  out[blockIdx.x] = static_cast<int>(cg::this_cluster().block_rank());
}

__global__ void mixed(char c, double d, int* p, short s) {
  if (p != nullptr) *p = c + static_cast<int>(d) + s;
}

int main() {
  CK(cudaSetDevice(0));
  const int blocks = 16;
  int* d_out = nullptr;
  CK(cudaMalloc(&d_out, blocks * sizeof(int)));
  for (unsigned size : {2u, 4u}) {
    CK(cudaMemset(d_out, 0xFF, blocks * sizeof(int)));
    cudaLaunchAttribute cluster{};
    cluster.id = cudaLaunchAttributeClusterDimension;
    cluster.val.clusterDim.x = size;
    cluster.val.clusterDim.y = 1;
    cluster.val.clusterDim.z = 1;
    cudaLaunchConfig_t config{};
    config.gridDim = dim3(blocks);
    config.blockDim = dim3(64);
    config.attrs = &cluster;
    config.numAttrs = 1;
    void* args[] = {&d_out};
    CK(cudaLaunchKernelExC(&config, reinterpret_cast<const void*>(&cluster_rank), args));
    std::vector<int> ranks(blocks);
    CK(cudaMemcpy(ranks.data(), d_out, blocks * sizeof(int), cudaMemcpyDeviceToHost));
    int wrong = 0;
    for (int b = 0; b < blocks; ++b) wrong += ranks[b] != static_cast<int>(b % size);
    std::printf("clusters of %u: ranks wrong=%d\n", size, wrong);

    int potential = 0, active = 0;
    CK(cudaOccupancyMaxActiveClusters(&active, reinterpret_cast<const void*>(&cluster_rank), &config));
    config.numAttrs = 0;
    CK(cudaOccupancyMaxPotentialClusterSize(&potential, reinterpret_cast<const void*>(&cluster_rank), &config));
    std::printf("clusters of %u: max active clusters=%d, max potential cluster size=%d\n", size, active, potential);
  }

  // A cluster of 3 does not tile 16 blocks.
  cudaLaunchAttribute bad{};
  bad.id = cudaLaunchAttributeClusterDimension;
  bad.val.clusterDim.x = 3;
  bad.val.clusterDim.y = 1;
  bad.val.clusterDim.z = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(blocks);
  config.blockDim = dim3(64);
  config.attrs = &bad;
  config.numAttrs = 1;
  void* args[] = {&d_out};
  const cudaError_t e = cudaLaunchKernelExC(&config, reinterpret_cast<const void*>(&cluster_rank), args);
  std::printf("cluster of 3 over 16 blocks: %s, last error %s\n", cudaGetErrorName(e),
              cudaGetErrorName(cudaGetLastError()));
  CK(cudaDeviceSynchronize());

  size_t smem = 0;
  CK(cudaOccupancyAvailableDynamicSMemPerBlock(&smem, reinterpret_cast<const void*>(&cluster_rank), 2, 64));
  std::printf("dynamic shared memory left at 2 blocks of 64: %zu\n", smem);

  for (size_t i = 0; i < 5; ++i) {
    size_t offset = 0, size = 0;
    const cudaError_t r = cudaFuncGetParamInfo(reinterpret_cast<const void*>(&mixed), i, &offset, &size);
    if (r == cudaSuccess)
      std::printf("mixed parameter %zu: offset=%zu size=%zu\n", i, offset, size);
    else
      std::printf("mixed parameter %zu: %s\n", i, cudaGetErrorName(r));
  }
  cudaGetLastError();

  cudaKernel_t k1 = nullptr, k2 = nullptr;
  cudaFunction_t fn = nullptr;
  CK(cudaGetKernel(&k1, reinterpret_cast<const void*>(&mixed)));
  CK(cudaGetKernel(&k2, reinterpret_cast<const void*>(&mixed)));
  CK(cudaGetFuncBySymbol(&fn, reinterpret_cast<const void*>(&mixed)));
  std::printf("cudaGetKernel: nonnull=%d same=%d; cudaGetFuncBySymbol: nonnull=%d\n", k1 != nullptr, k1 == k2,
              fn != nullptr);
  CK(cudaFree(d_out));
  std::printf("launch_ex PASS\n");
  return 0;
}
