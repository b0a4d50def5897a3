// cooperative_reduction: a grid-wide reduction in one cooperative launch. Every block sums its
// part, the whole grid meets at grid.sync(), and block 0 adds the partial sums: correct only if
// every block of the grid is resident at once, which is what a cooperative launch promises.
// The grid is as large as the GPU holds (the occupancy calculator's answer times the SM count);
// one block more is refused at the call (cudaErrorCooperativeLaunchTooLarge), and the context
// goes on working. Run twice, through cudaLaunchCooperativeKernel and cudaLaunchKernelExC with
// the cooperative attribute.
#include <cooperative_groups.h>

#include <vector>

#include "common.h"

namespace cg = cooperative_groups;

constexpr int kThreads = 256;
constexpr int kElements = 1 << 22;

__global__ void grid_sum(const unsigned* in, int n, unsigned long long* partial, unsigned long long* total) {
  __shared__ unsigned long long block_sum[kThreads];
  cg::grid_group grid = cg::this_grid();
  unsigned long long mine = 0;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) mine += in[i];
  block_sum[threadIdx.x] = mine;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) block_sum[threadIdx.x] += block_sum[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = block_sum[0];
  grid.sync();  // every block's partial sum is written
  if (blockIdx.x == 0 && threadIdx.x == 0) {
    unsigned long long sum = 0;
    for (unsigned b = 0; b < gridDim.x; ++b) sum += partial[b];
    *total = sum;
  }
}

int main() {
  int device = 0, cooperative = 0, sms = 0, per_sm = 0;
  CK(cudaGetDevice(&device));
  CK(cudaDeviceGetAttribute(&cooperative, cudaDevAttrCooperativeLaunch, device));
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, grid_sum, kThreads, 0));
  std::printf("cooperative launch supported=%d, blocks per SM=%d\n", cooperative, per_sm);
  EXPECT(cooperative == 1 && per_sm > 0);
  const int blocks = sms * per_sm;

  std::vector<unsigned> host(kElements);
  unsigned long long expected = 0;
  for (int i = 0; i < kElements; ++i) {
    host[i] = static_cast<unsigned>((i * 2654435761u) >> 20);
    expected += host[i];
  }
  unsigned* in = nullptr;
  unsigned long long *partial = nullptr, *total = nullptr;
  CK(cudaMalloc(&in, kElements * sizeof(unsigned)));
  CK(cudaMalloc(&partial, (blocks + 1) * sizeof(unsigned long long)));
  CK(cudaMalloc(&total, sizeof(unsigned long long)));
  CK(cudaMemcpy(in, host.data(), kElements * sizeof(unsigned), cudaMemcpyHostToDevice));
  int n = kElements;
  void* args[] = {&in, &n, &partial, &total};

  for (int way = 0; way < 2; ++way) {
    CK(cudaMemset(total, 0, sizeof(unsigned long long)));
    if (way == 0) {
      CK(cudaLaunchCooperativeKernel(reinterpret_cast<void*>(grid_sum), blocks, kThreads, args, 0, 0));
    } else {
      cudaLaunchAttribute attr{};
      attr.id = cudaLaunchAttributeCooperative;
      attr.val.cooperative = 1;
      cudaLaunchConfig_t config{};
      config.gridDim = dim3(blocks);
      config.blockDim = dim3(kThreads);
      config.attrs = &attr;
      config.numAttrs = 1;
      CK(cudaLaunchKernelExC(&config, reinterpret_cast<void*>(grid_sum), args));
    }
    CK(cudaDeviceSynchronize());
    unsigned long long got = 0;
    CK(cudaMemcpy(&got, total, sizeof got, cudaMemcpyDeviceToHost));
    std::printf("%s: sum=%llu match=%d\n", way == 0 ? "cudaLaunchCooperativeKernel" : "cudaLaunchKernelExC",
                got, got == expected);
    EXPECT(got == expected);
  }

  // One block more than the GPU holds: refused at the call, not later, and not sticky.
  EXPECT_ERR("one block too many",
             cudaLaunchCooperativeKernel(reinterpret_cast<void*>(grid_sum), blocks + 1, kThreads, args, 0, 0),
             cudaErrorCooperativeLaunchTooLarge);
  EXPECT_ERR("last error", cudaGetLastError(), cudaErrorCooperativeLaunchTooLarge);
  EXPECT_ERR("then", cudaGetLastError(), cudaSuccess);
  CK(cudaDeviceSynchronize());
  CK(cudaLaunchCooperativeKernel(reinterpret_cast<void*>(grid_sum), blocks, kThreads, args, 0, 0));
  CK(cudaDeviceSynchronize());
  unsigned long long again = 0;
  CK(cudaMemcpy(&again, total, sizeof again, cudaMemcpyDeviceToHost));
  EXPECT(again == expected);
  CK(cudaFree(in));
  CK(cudaFree(partial));
  CK(cudaFree(total));
  std::printf("cooperative_reduction PASS\n");
  return 0;
}
