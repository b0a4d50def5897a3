// templates: templated kernels instantiated for int, float and double (each instantiation is a
// separate mangled kernel the shim must register and find), a non-type template parameter for the
// block size, and a templated functor parameter.
#include "common.h"

#include <vector>

template <typename T>
__global__ void axpy(T a, const T* x, T* y, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}

template <typename T, int BLOCK>
__global__ void block_sum(const T* in, T* out, int n) {
  __shared__ T s[BLOCK];
  int i = blockIdx.x * BLOCK + threadIdx.x;
  s[threadIdx.x] = i < n ? in[i] : T(0);
  __syncthreads();
  for (int stride = BLOCK / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) s[threadIdx.x] += s[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = s[0];
}

template <typename T>
struct Square {
  __device__ T operator()(T v) const { return v * v; }
};
template <typename T>
struct Negate {
  __device__ T operator()(T v) const { return -v; }
};

template <typename T, typename F>
__global__ void map(F f, T* data, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) data[i] = f(data[i]);
}

template <typename T>
struct Name;
template <> struct Name<int> { static const char* get() { return "int"; } };
template <> struct Name<float> { static const char* get() { return "float"; } };
template <> struct Name<double> { static const char* get() { return "double"; } };

template <typename T, int BLOCK>
static bool run(int n) {
  std::vector<T> x(n), y(n);
  for (int i = 0; i < n; ++i) {
    x[i] = static_cast<T>(i % 17);  // small values: float sums stay exact
    y[i] = static_cast<T>(i % 13);
  }
  T a = static_cast<T>(3);
  T *dx, *dy, *dsum;
  int blocks = (n + BLOCK - 1) / BLOCK;
  CK(cudaMalloc(&dx, sizeof(T) * n));
  CK(cudaMalloc(&dy, sizeof(T) * n));
  CK(cudaMalloc(&dsum, sizeof(T) * blocks));
  CK(cudaMemcpy(dx, x.data(), sizeof(T) * n, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dy, y.data(), sizeof(T) * n, cudaMemcpyHostToDevice));
  axpy<T><<<blocks, BLOCK>>>(a, dx, dy, n);
  CK_LAUNCH();
  map<T, Square<T>><<<blocks, BLOCK>>>(Square<T>{}, dy, n);
  CK_LAUNCH();
  map<T, Negate<T>><<<blocks, BLOCK>>>(Negate<T>{}, dy, n);
  CK_LAUNCH();
  block_sum<T, BLOCK><<<blocks, BLOCK>>>(dy, dsum, n);
  CK_LAUNCH();
  std::vector<T> sums(blocks), yo(n);
  CK(cudaMemcpy(sums.data(), dsum, sizeof(T) * blocks, cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(yo.data(), dy, sizeof(T) * n, cudaMemcpyDeviceToHost));
  int bad = 0;
  double total = 0;
  for (int i = 0; i < n; ++i) {
    T v = a * x[i] + y[i];
    v = -(v * v);
    if (yo[i] != v) ++bad;
  }
  for (int b = 0; b < blocks; ++b) {
    T ref = T(0);
    for (int i = b * BLOCK; i < (b + 1) * BLOCK && i < n; ++i) ref += yo[i];
    if (sums[b] != ref) ++bad;
    total += static_cast<double>(sums[b]);
  }
  std::printf("type=%s block=%d n=%d mismatches=%d total=%.1f checksum=0x%016llx\n", Name<T>::get(), BLOCK,
              n, bad, total, static_cast<unsigned long long>(fnv1a(yo.data(), sizeof(T) * n)));
  CK(cudaFree(dx));
  CK(cudaFree(dy));
  CK(cudaFree(dsum));
  return bad == 0;
}

int main() {
  bool ok = true;
  ok &= run<int, 128>(100000);
  ok &= run<float, 256>(100000);
  ok &= run<double, 512>(100000);
  ok &= run<int, 64>(777);
  ok &= run<double, 32>(31);
  std::printf("templates %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
