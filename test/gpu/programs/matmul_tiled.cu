// matmul_tiled: C = A x B with 16x16 shared-memory tiles and __syncthreads, for square and ragged
// shapes. Inputs are small integers, so float sums are exact and compared exactly with the CPU.
// A repeated run on a stream makes the program last long enough to overlap with another program
// (run.sh starts it concurrently with streams_events_overlap).
#include "common.h"

#include <vector>

constexpr int TILE = 16;

__global__ void matmul(const float* A, const float* B, float* C, int M, int N, int K) {
  __shared__ float As[TILE][TILE];
  __shared__ float Bs[TILE][TILE + 1];
  int row = blockIdx.y * TILE + threadIdx.y;
  int col = blockIdx.x * TILE + threadIdx.x;
  float acc = 0.0f;
  for (int t = 0; t < K; t += TILE) {
    int ak = t + threadIdx.x;
    int bk = t + threadIdx.y;
    As[threadIdx.y][threadIdx.x] = (row < M && ak < K) ? A[row * K + ak] : 0.0f;
    Bs[threadIdx.y][threadIdx.x] = (bk < K && col < N) ? B[bk * N + col] : 0.0f;
    __syncthreads();
#pragma unroll
    for (int k = 0; k < TILE; ++k) acc += As[threadIdx.y][k] * Bs[k][threadIdx.x];
    __syncthreads();
  }
  if (row < M && col < N) C[row * N + col] = acc;
}

static bool run(int M, int N, int K, int repeats, uint32_t seed) {
  std::vector<float> A(static_cast<size_t>(M) * K), B(static_cast<size_t>(K) * N),
      C(static_cast<size_t>(M) * N), R(static_cast<size_t>(M) * N, 0.0f);
  Lcg g(seed);
  for (auto& x : A) x = static_cast<float>(g.range(-4, 4));
  for (auto& x : B) x = static_cast<float>(g.range(-4, 4));
  for (int i = 0; i < M; ++i)
    for (int k = 0; k < K; ++k) {
      float a = A[static_cast<size_t>(i) * K + k];
      for (int j = 0; j < N; ++j) R[static_cast<size_t>(i) * N + j] += a * B[static_cast<size_t>(k) * N + j];
    }
  float *dA, *dB, *dC;
  CK(cudaMalloc(&dA, A.size() * sizeof(float)));
  CK(cudaMalloc(&dB, B.size() * sizeof(float)));
  CK(cudaMalloc(&dC, C.size() * sizeof(float)));
  CK(cudaMemcpy(dA, A.data(), A.size() * sizeof(float), cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dB, B.data(), B.size() * sizeof(float), cudaMemcpyHostToDevice));
  CK(cudaMemset(dC, 0xff, C.size() * sizeof(float)));
  cudaStream_t s;
  CK(cudaStreamCreate(&s));
  dim3 block(TILE, TILE);
  dim3 grid((N + TILE - 1) / TILE, (M + TILE - 1) / TILE);
  for (int r = 0; r < repeats; ++r) {
    matmul<<<grid, block, 0, s>>>(dA, dB, dC, M, N, K);
    CK_LAUNCH();
  }
  CK(cudaStreamSynchronize(s));
  CK(cudaMemcpy(C.data(), dC, C.size() * sizeof(float), cudaMemcpyDeviceToHost));
  size_t bad = 0;
  double trace = 0;
  for (size_t i = 0; i < C.size(); ++i)
    if (C[i] != R[i]) ++bad;
  for (int i = 0; i < M && i < N; ++i) trace += C[static_cast<size_t>(i) * N + i];
  std::printf("M=%d N=%d K=%d repeats=%d mismatches=%zu trace=%.1f checksum=0x%016llx\n", M, N, K,
              repeats, bad, trace,
              static_cast<unsigned long long>(fnv1a(C.data(), C.size() * sizeof(float))));
  CK(cudaStreamDestroy(s));
  CK(cudaFree(dA));
  CK(cudaFree(dB));
  CK(cudaFree(dC));
  return bad == 0;
}

int main() {
  bool ok = true;
  ok &= run(16, 16, 16, 1, 1);
  ok &= run(512, 512, 512, 1, 2);
  ok &= run(333, 257, 129, 1, 3);
  ok &= run(1, 1000, 37, 1, 4);
  ok &= run(768, 768, 768, 40, 5);
  std::printf("matmul_tiled %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
