// managed_memory: cudaMallocManaged memory written alternately by the CPU and the GPU. Fresh
// memory reads as zeros; the CPU fills arrays, a kernel combines them, the CPU reads the result
// and changes a few elements, for many rounds (a checksum each); kernels on two streams write
// disjoint arrays; a kernel writes a large array that the CPU then reads in order; copies and a
// memset with managed ends; prefetches to the GPU and to the CPU, advice and stream attachment;
// what cudaPointerGetAttributes says. Whether the CPU may touch managed memory while kernels run
// (concurrentManagedAccess) differs between GPUs and is not printed: the program synchronizes
// before every CPU access, as it must where it is 0.
#include <vector>

#include "common.h"

__global__ void axpy(float* y, const float* x, float a, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) y[i] += a * x[i];
}

__global__ void stamp(unsigned* p, size_t n, unsigned salt) {
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += size_t{gridDim.x} * blockDim.x)
    p[i] = static_cast<unsigned>(i) * 2654435761u ^ salt;
}

double sum(const float* p, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += p[i];
  return s;
}

int main() {
  int device = 0, managed = 0;
  CK(cudaDeviceGetAttribute(&managed, cudaDevAttrManagedMemory, device));
  std::printf("managedMemory=%d\n", managed);

  const int n = 1 << 20;
  float *x = nullptr, *y = nullptr;
  CK(cudaMallocManaged(&x, n * sizeof(float)));
  CK(cudaMallocManaged(&y, n * sizeof(float)));
  double zero = sum(x, n) + sum(y, n);
  std::printf("fresh memory sums to %.1f\n", zero);

  // Rounds: the CPU changes some of x, the GPU adds x into y, the CPU reads y.
  for (int i = 0; i < n; ++i) x[i] = static_cast<float>(i % 1000) * 0.5f;
  for (int round = 0; round < 8; ++round) {
    for (int i = round; i < n; i += 4096) x[i] += 1.0f;
    axpy<<<256, 256>>>(y, x, 2.0f, n);
    CK_LAUNCH();
    CK(cudaDeviceSynchronize());
    std::printf("round %d: sum(y) = %.1f, y[%d] = %.1f\n", round, sum(y, n), round, y[round]);
  }

  // Two streams, each on its own array; the CPU reads both afterwards.
  cudaStream_t s1, s2;
  CK(cudaStreamCreate(&s1));
  CK(cudaStreamCreate(&s2));
  const size_t words = size_t{64} << 20 >> 2;  // 64 MiB
  unsigned *u = nullptr, *v = nullptr;
  CK(cudaMallocManaged(&u, words * 4));
  CK(cudaMallocManaged(&v, words * 4));
  CK(cudaStreamAttachMemAsync(s1, u, 0, cudaMemAttachGlobal));
  stamp<<<512, 256, 0, s1>>>(u, words, 0x1234u);
  stamp<<<512, 256, 0, s2>>>(v, words, 0x9876u);
  CK_LAUNCH();
  CK(cudaStreamSynchronize(s1));
  CK(cudaStreamSynchronize(s2));
  uint64_t wrong = 0, digest = 0;
  for (size_t i = 0; i < words; ++i) {
    wrong += u[i] != (static_cast<unsigned>(i) * 2654435761u ^ 0x1234u);
    wrong += v[i] != (static_cast<unsigned>(i) * 2654435761u ^ 0x9876u);
    digest = digest * 31 + (u[i] ^ v[i]);
  }
  std::printf("two streams, 64 MiB each: %llu wrong, digest %016llx\n", static_cast<unsigned long long>(wrong),
              static_cast<unsigned long long>(digest));

  // Copies and a memset with managed ends.
  float* d = nullptr;
  CK(cudaMalloc(&d, n * sizeof(float)));
  y[17] = -1.0f;
  CK(cudaMemcpy(d, y, n * sizeof(float), cudaMemcpyDefault));
  CK(cudaMemset(y, 0, n * sizeof(float)));
  CK(cudaDeviceSynchronize());
  std::printf("after memset: sum(y) = %.1f\n", sum(y, n));
  CK(cudaMemcpy(y, d, n * sizeof(float), cudaMemcpyDeviceToHost));
  std::printf("copied back: y[17] = %.1f, sum(y) = %.1f\n", y[17], sum(y, n));
  std::vector<float> host(n);
  CK(cudaMemcpy(host.data(), x, n * sizeof(float), cudaMemcpyDefault));
  std::printf("x to the host: host[5] = %.1f\n", host[5]);

  // Prefetch, advise; the data stays right.
  cudaMemLocation gpu{cudaMemLocationTypeDevice, device}, cpu{cudaMemLocationTypeHost, 0};
  CK(cudaMemAdvise(x, n * sizeof(float), cudaMemAdviseSetReadMostly, gpu));
  CK(cudaMemPrefetchAsync(x, n * sizeof(float), gpu, 0, s1));
  axpy<<<256, 256, 0, s1>>>(y, x, 1.0f, n);
  CK_LAUNCH();
  CK(cudaMemPrefetchAsync(y, n * sizeof(float), cpu, 0, s1));
  CK(cudaStreamSynchronize(s1));
  std::printf("after prefetches: sum(y) = %.1f\n", sum(y, n));

  cudaPointerAttributes attr{};
  CK(cudaPointerGetAttributes(&attr, y + 3));
  std::printf("pointer type %d (managed %d), same pointer on both sides: %s\n", static_cast<int>(attr.type),
              static_cast<int>(cudaMemoryTypeManaged),
              attr.devicePointer == y + 3 && attr.hostPointer == y + 3 ? "yes" : "no");

  CK(cudaFree(d));
  CK(cudaFree(u));
  CK(cudaFree(v));
  CK(cudaFree(x));
  CK(cudaFree(y));
  CK(cudaStreamDestroy(s1));
  CK(cudaStreamDestroy(s2));
  std::printf("managed_memory done\n");
  return 0;
}
