// reduction_atomics: a shared-memory tree reduction with warp shuffles, then global atomics
// (atomicAdd on 64-bit, atomicMin/Max, atomicCAS loop, atomicInc/Exch/And/Or/Xor) and a
// shared-memory histogram merged with atomicAdd. Integer data only, so the results are exact and
// independent of the order the atomics land in.
#include "common.h"

#include <vector>

constexpr int BLOCK = 256;
constexpr int BINS = 256;

__global__ void reduce_kernel(const int* in, int n, unsigned long long* sum, int* mn, int* mx,
                              unsigned long long* partials) {
  __shared__ long long s[BLOCK];
  long long acc = 0;
  int lmin = 0x7fffffff, lmax = -0x7fffffff - 1;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    int v = in[i];
    acc += v;
    lmin = min(lmin, v);
    lmax = max(lmax, v);
  }
  s[threadIdx.x] = acc;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride >= 32; stride >>= 1) {
    if (threadIdx.x < stride) s[threadIdx.x] += s[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x < 32) {
    long long v = s[threadIdx.x];
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
    if (threadIdx.x == 0) {
      partials[blockIdx.x] = static_cast<unsigned long long>(v);
      atomicAdd(sum, static_cast<unsigned long long>(v));
    }
  }
  atomicMin(mn, lmin);
  atomicMax(mx, lmax);
}

__global__ void histogram_kernel(const int* in, int n, unsigned int* hist) {
  __shared__ unsigned int local[BINS];
  for (int b = threadIdx.x; b < BINS; b += blockDim.x) local[b] = 0;
  __syncthreads();
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    atomicAdd(&local[static_cast<unsigned int>(in[i]) & (BINS - 1)], 1u);
  __syncthreads();
  for (int b = threadIdx.x; b < BINS; b += blockDim.x) atomicAdd(&hist[b], local[b]);
}

// Misc atomics on a handful of counters; each thread contributes a value that depends only on its
// global index, so the final values are order-independent.
__global__ void misc_atomics(unsigned int* c, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  atomicInc(&c[0], 0xffffffffu);              // count
  atomicOr(&c[1], 1u << (i % 32));            // all bits
  atomicAnd(&c[2], ~(1u << (i % 29)));        // clear bits 0..28
  atomicXor(&c[3], static_cast<unsigned int>(i) * 2654435761u);
  atomicExch(&c[4], 42u);                     // same value from everyone
  // CAS loop: add i*i modulo 2^32
  unsigned int old = c[5], assumed;
  do {
    assumed = old;
    old = atomicCAS(&c[5], assumed, assumed + static_cast<unsigned int>(i) * static_cast<unsigned int>(i));
  } while (old != assumed);
  atomicSub(&c[6], 3u);
  atomicMax(&c[7], static_cast<unsigned int>(i));
}

int main() {
  const int n = (1 << 24) + 12345;
  std::vector<int> h(n);
  Lcg g(7);
  for (int i = 0; i < n; ++i) h[i] = g.range(-100000, 100000);
  long long ref_sum = 0;
  int ref_min = h[0], ref_max = h[0];
  std::vector<unsigned int> ref_hist(BINS, 0);
  for (int v : h) {
    ref_sum += v;
    ref_min = v < ref_min ? v : ref_min;
    ref_max = v > ref_max ? v : ref_max;
    ref_hist[static_cast<unsigned int>(v) & (BINS - 1)]++;
  }

  int* din;
  unsigned long long *dsum, *dpart;
  int *dmin, *dmax;
  unsigned int *dhist, *dc;
  const int blocks = 264;
  CK(cudaMalloc(&din, sizeof(int) * n));
  CK(cudaMalloc(&dsum, sizeof(unsigned long long)));
  CK(cudaMalloc(&dpart, sizeof(unsigned long long) * blocks));
  CK(cudaMalloc(&dmin, sizeof(int)));
  CK(cudaMalloc(&dmax, sizeof(int)));
  CK(cudaMalloc(&dhist, sizeof(unsigned int) * BINS));
  CK(cudaMalloc(&dc, sizeof(unsigned int) * 8));
  CK(cudaMemcpy(din, h.data(), sizeof(int) * n, cudaMemcpyHostToDevice));
  CK(cudaMemset(dsum, 0, sizeof(unsigned long long)));
  int init_min = 0x7fffffff, init_max = -0x7fffffff - 1;
  CK(cudaMemcpy(dmin, &init_min, sizeof(int), cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dmax, &init_max, sizeof(int), cudaMemcpyHostToDevice));
  CK(cudaMemset(dhist, 0, sizeof(unsigned int) * BINS));
  unsigned int init_c[8] = {0, 0, 0xffffffffu, 0, 0, 0, 1000000000u, 0};
  CK(cudaMemcpy(dc, init_c, sizeof(init_c), cudaMemcpyHostToDevice));

  reduce_kernel<<<blocks, BLOCK>>>(din, n, dsum, dmin, dmax, dpart);
  CK_LAUNCH();
  histogram_kernel<<<blocks, BLOCK>>>(din, n, dhist);
  CK_LAUNCH();
  const int m = 100003;
  misc_atomics<<<(m + 255) / 256, 256>>>(dc, m);
  CK_LAUNCH();
  CK(cudaDeviceSynchronize());

  unsigned long long gsum;
  int gmin, gmax;
  std::vector<unsigned int> ghist(BINS);
  unsigned int c[8];
  CK(cudaMemcpy(&gsum, dsum, sizeof gsum, cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(&gmin, dmin, sizeof gmin, cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(&gmax, dmax, sizeof gmax, cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(ghist.data(), dhist, sizeof(unsigned int) * BINS, cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(c, dc, sizeof c, cudaMemcpyDeviceToHost));

  // CPU reference for the misc atomics
  unsigned int rx = 0, rcas = 0, rmax = 0;
  for (int i = 0; i < m; ++i) {
    rx ^= static_cast<unsigned int>(i) * 2654435761u;
    rcas += static_cast<unsigned int>(i) * static_cast<unsigned int>(i);
    rmax = static_cast<unsigned int>(i);
  }
  unsigned int rc[8] = {static_cast<unsigned int>(m), 0xffffffffu, 0xe0000000u, rx, 42u, rcas,
                        1000000000u - 3u * static_cast<unsigned int>(m), rmax};

  bool ok = true;
  ok &= static_cast<long long>(gsum) == ref_sum;
  ok &= gmin == ref_min && gmax == ref_max;
  ok &= ghist == ref_hist;
  for (int i = 0; i < 8; ++i) ok &= c[i] == rc[i];
  std::printf("n=%d sum=%lld min=%d max=%d\n", n, static_cast<long long>(gsum), gmin, gmax);
  std::printf("hist_checksum=0x%016llx hist[0]=%u hist[255]=%u\n",
              static_cast<unsigned long long>(fnv1a(ghist.data(), ghist.size() * 4)), ghist[0], ghist[255]);
  std::printf("misc inc=%u or=%08x and=%08x xor=%08x exch=%u cas=%u sub=%u max=%u\n", c[0], c[1],
              c[2], c[3], c[4], c[5], c[6], c[7]);
  std::printf("reduction_atomics %s\n", ok ? "PASS" : "FAIL");
  CK(cudaFree(din));
  CK(cudaFree(dsum));
  CK(cudaFree(dpart));
  CK(cudaFree(dmin));
  CK(cudaFree(dmax));
  CK(cudaFree(dhist));
  CK(cudaFree(dc));
  return ok ? 0 : 1;
}
