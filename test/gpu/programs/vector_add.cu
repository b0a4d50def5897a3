// vector_add: the smallest end-to-end proof. cudaMalloc, H2D/D2H cudaMemcpy, a <<<>>> launch
// and the same kernel through cudaLaunchKernel, results checked exactly against the CPU.
#include "common.h"

#include <vector>

__global__ void vec_add(const float* a, const float* b, float* c, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i] = a[i] + b[i];
}

static int run(int n, bool use_launch_api) {
  std::vector<float> a(n), b(n), c(n, -1.0f);
  for (int i = 0; i < n; ++i) {
    a[i] = static_cast<float>(i % 1000);          // exact in float
    b[i] = static_cast<float>(i % 777) * 0.25f;   // exact in float
  }
  size_t bytes = static_cast<size_t>(n) * sizeof(float);
  float *da = nullptr, *db = nullptr, *dc = nullptr;
  CK(cudaMalloc(&da, bytes));
  CK(cudaMalloc(&db, bytes));
  CK(cudaMalloc(&dc, bytes));
  CK(cudaMemcpy(da, a.data(), bytes, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(db, b.data(), bytes, cudaMemcpyHostToDevice));
  int threads = 256;
  int blocks = (n + threads - 1) / threads;
  if (use_launch_api) {
    void* args[] = {&da, &db, &dc, &n};
    CK(cudaLaunchKernel(reinterpret_cast<const void*>(vec_add), dim3(blocks), dim3(threads), args, 0,
                        nullptr));
  } else {
    vec_add<<<blocks, threads>>>(da, db, dc, n);
    CK_LAUNCH();
  }
  CK(cudaDeviceSynchronize());
  CK(cudaMemcpy(c.data(), dc, bytes, cudaMemcpyDeviceToHost));
  int bad = 0;
  for (int i = 0; i < n; ++i)
    if (c[i] != a[i] + b[i]) ++bad;
  std::printf("n=%d api=%s mismatches=%d checksum=0x%016llx\n", n,
              use_launch_api ? "cudaLaunchKernel" : "<<<>>>", bad,
              static_cast<unsigned long long>(fnv1a(c.data(), bytes)));
  CK(cudaFree(da));
  CK(cudaFree(db));
  CK(cudaFree(dc));
  return bad;
}

int main() {
  int bad = 0;
  bad += run(1, false);
  bad += run(1000, false);
  bad += run(1 << 20, false);
  bad += run(1 << 20, true);
  bad += run(3 << 20, true);
  std::printf("vector_add %s\n", bad == 0 ? "PASS" : "FAIL");
  return bad == 0 ? 0 : 1;
}
