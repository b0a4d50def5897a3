// managed_variables: __managed__ variables written alternately by the CPU and the GPU. A scalar
// with an initial value, a struct, a small array and a 4 MiB array sit in one module next to
// __device__ and __constant__ variables; host code reads and writes them directly, kernels
// update them, cudaMemcpyToSymbol/FromSymbol and cudaMemcpy use them as ends, and the
// neighbouring __device__ variable keeps what a kernel wrote there whatever the CPU writes next
// to it. A checksum or value per step.
#include "common.h"

struct Stats {
  unsigned launches;
  float total;
  int last;
};

__managed__ int counter = 7;
__device__ int neighbour[4];
__managed__ Stats stats;
__constant__ int scale = 3;
__managed__ float small[33];
__managed__ unsigned big[1 << 20];

__global__ void bump(int by) {
  if (threadIdx.x == 0 && blockIdx.x == 0) {
    counter += by * scale;
    stats.launches += 1;
    stats.last = by;
    neighbour[by & 3] = by;
  }
}

__global__ void scale_small(float f) {
  int i = threadIdx.x;
  if (i < 33) small[i] = small[i] * f + static_cast<float>(i);
}

__global__ void stamp(unsigned salt) {
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < (1u << 20); i += size_t{gridDim.x} * blockDim.x)
    big[i] = static_cast<unsigned>(i) * 2654435761u ^ salt;
}

__global__ void total_into_stats() {
  float s = 0;
  for (int i = 0; i < 33; ++i) s += small[i];
  stats.total = s;
}

unsigned long long checksum_big() {
  unsigned long long s = 0;
  for (size_t i = 0; i < (1u << 20); ++i) s = s * 31 + big[i];
  return s;
}

int main() {
  std::printf("counter starts at %d, stats.launches %u\n", counter, stats.launches);
  for (int round = 1; round <= 6; ++round) {
    counter += 100;  // the CPU writes, then a kernel adds to it
    bump<<<1, 32>>>(round);
    CK_LAUNCH();
    CK(cudaDeviceSynchronize());
    std::printf("round %d: counter %d, launches %u, last %d\n", round, counter, stats.launches, stats.last);
  }

  for (int i = 0; i < 33; ++i) small[i] = static_cast<float>(i) * 0.5f;
  for (int round = 0; round < 4; ++round) {
    CK(cudaDeviceSynchronize());  // the CPU must not touch what a running kernel uses
    small[round] += 10.0f;
    scale_small<<<1, 64>>>(1.5f);
    CK_LAUNCH();
  }
  total_into_stats<<<1, 1>>>();
  CK(cudaDeviceSynchronize());
  std::printf("small[0] %.3f small[32] %.3f stats.total %.3f\n", small[0], small[32], stats.total);

  // A large variable: the GPU writes it all, the CPU reads it in order, changes a few words,
  // and the GPU sees the change.
  stamp<<<256, 256>>>(0xabcdu);
  CK(cudaDeviceSynchronize());
  std::printf("big checksum %llx\n", checksum_big());
  for (size_t i = 0; i < (1u << 20); i += 65537) big[i] = 0;
  CK(cudaMemcpyFromSymbol(&counter, big, sizeof(int), 65537 * 4));  // a copy into a managed variable
  std::printf("counter after a copy from big %d\n", counter);
  unsigned words[4] = {};
  CK(cudaMemcpy(words, &big[65536], sizeof words, cudaMemcpyDefault));
  std::printf("big[65536..] %u %u %u %u\n", words[0], words[1], words[2], words[3]);
  std::printf("big checksum %llx\n", checksum_big());

  // The __device__ neighbour holds what kernels wrote, whatever the CPU wrote next to it.
  int host_neighbour[4] = {};
  CK(cudaMemcpyFromSymbol(host_neighbour, neighbour, sizeof host_neighbour));
  std::printf("neighbour %d %d %d %d\n", host_neighbour[0], host_neighbour[1], host_neighbour[2], host_neighbour[3]);

  int sixty = 60;
  CK(cudaMemcpyToSymbol(counter, &sixty, sizeof sixty));
  bump<<<1, 1>>>(1);
  CK(cudaDeviceSynchronize());
  std::printf("final counter %d, launches %u\n", counter, stats.launches);

  cudaPointerAttributes attributes{};
  CK(cudaPointerGetAttributes(&attributes, &counter));
  std::printf("counter's memory type: %s\n", attributes.type == cudaMemoryTypeManaged ? "managed" : "other");
  return 0;
}
