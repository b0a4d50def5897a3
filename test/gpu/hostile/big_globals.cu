// big_globals: a module whose __device__ array is 1 GiB while the image is a few KB. Under a
// tenant whose limits.device_memory is smaller, vgpu must refuse the module (the launch fails
// with cudaErrorMemoryAllocation); under a larger limit it runs as natively. Prints the sum of
// a pattern written to the array, or the error's name.
#include "../programs/common.h"

constexpr unsigned long long kBytes = 1ull << 30;
__device__ unsigned char g_big[kBytes];

__global__ void fill_and_sum(unsigned long long* sum) {
  const unsigned long long stride = static_cast<unsigned long long>(gridDim.x) * blockDim.x;
  unsigned long long local = 0;
  for (unsigned long long i = blockIdx.x * blockDim.x + threadIdx.x; i < kBytes; i += stride) {
    g_big[i] = static_cast<unsigned char>(i % 251);
    local += g_big[i];
  }
  atomicAdd(sum, local);
}

int main() {
  unsigned long long* d_sum = nullptr;
  CK(cudaMalloc(&d_sum, sizeof *d_sum));
  CK(cudaMemset(d_sum, 0, sizeof *d_sum));
  fill_and_sum<<<1024, 256>>>(d_sum);
  const cudaError_t launched = cudaGetLastError();
  if (launched != cudaSuccess) {
    std::printf("big_globals: %s\n", cudaGetErrorName(launched));
    return 1;
  }
  unsigned long long sum = 0;
  CK(cudaMemcpy(&sum, d_sum, sizeof sum, cudaMemcpyDeviceToHost));
  std::printf("big_globals: sum %llu\n", sum);
  return 0;
}
