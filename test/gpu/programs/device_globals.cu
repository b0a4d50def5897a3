// device_globals: __device__ and __constant__ variables (scalars, arrays, a struct) written with
// cudaMemcpyToSymbol (with offsets, from host and from device memory), read with
// cudaMemcpyFromSymbol, and addressed through cudaGetSymbolAddress (then used with cudaMemcpy,
// cudaMemset and as a kernel argument).
#include "common.h"

struct Params {
  int count;
  float scale;
  double bias;
  short tag[3];
};

__device__ int g_counter;
__device__ int g_init_value = 1234;  // initialised in the module image
__device__ float g_out[1024];
__device__ Params g_params;
__constant__ float c_coef[256];
__constant__ int c_offset;

__global__ void use_globals(int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) {
    g_out[i] = c_coef[i % 256] * g_params.scale + static_cast<float>(c_offset + g_params.count);
    atomicAdd(&g_counter, 1);
  }
}

__global__ void scale_through_pointer(float* p, int n, float f) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] *= f;
}

__global__ void read_init(int* out) { *out = g_init_value; }

int main() {
  bool ok = true;

  // A value the module image initialised, read before anything wrote it.
  int init_value = 0;
  CK(cudaMemcpyFromSymbol(&init_value, g_init_value, sizeof(int)));
  std::printf("g_init_value=%d\n", init_value);
  ok &= init_value == 1234;

  // Constants: full array, then overwrite a slice with an offset.
  float coef[256];
  for (int i = 0; i < 256; ++i) coef[i] = static_cast<float>(i) * 0.5f;
  CK(cudaMemcpyToSymbol(c_coef, coef, sizeof(coef)));
  float slice[16];
  for (int i = 0; i < 16; ++i) slice[i] = 1000.0f + static_cast<float>(i);
  CK(cudaMemcpyToSymbol(c_coef, slice, sizeof(slice), 100 * sizeof(float), cudaMemcpyHostToDevice));
  for (int i = 0; i < 16; ++i) coef[100 + i] = slice[i];
  int offset = 7;
  CK(cudaMemcpyToSymbol(c_offset, &offset, sizeof(int)));

  // Struct global, copied from device memory (cudaMemcpyDeviceToDevice into a symbol).
  Params p{};
  p.count = 3;
  p.scale = 2.0f;
  p.bias = 0.125;
  p.tag[0] = 1;
  p.tag[1] = -2;
  p.tag[2] = 3;
  Params* dp;
  CK(cudaMalloc(&dp, sizeof(Params)));
  CK(cudaMemcpy(dp, &p, sizeof(Params), cudaMemcpyHostToDevice));
  CK(cudaMemcpyToSymbol(g_params, dp, sizeof(Params), 0, cudaMemcpyDeviceToDevice));
  int zero = 0;
  CK(cudaMemcpyToSymbol(g_counter, &zero, sizeof(int)));

  const int n = 1000;
  use_globals<<<(n + 127) / 128, 128>>>(n);
  CK_LAUNCH();
  CK(cudaDeviceSynchronize());

  int counter = -1;
  CK(cudaMemcpyFromSymbol(&counter, g_counter, sizeof(int)));
  float out[1024];
  CK(cudaMemcpyFromSymbol(out, g_out, sizeof(float) * n));
  int bad = 0;
  for (int i = 0; i < n; ++i)
    if (out[i] != coef[i % 256] * 2.0f + 10.0f) ++bad;
  std::printf("counter=%d out_mismatches=%d out[0]=%.3f out[100]=%.3f out[115]=%.3f out[999]=%.3f\n",
              counter, bad, out[0], out[100], out[115], out[999]);
  ok &= counter == n && bad == 0;

  // Read back part of the array with an offset, and the struct.
  float tail[8];
  CK(cudaMemcpyFromSymbol(tail, g_out, sizeof(tail), 992 * sizeof(float), cudaMemcpyDeviceToHost));
  bool tail_ok = std::memcmp(tail, out + 992, sizeof(tail)) == 0;
  Params back{};
  CK(cudaMemcpyFromSymbol(&back, g_params, sizeof(Params)));
  std::printf("tail_ok=%d params count=%d scale=%.2f bias=%.3f tag=%d,%d,%d\n", tail_ok ? 1 : 0,
              back.count, back.scale, back.bias, back.tag[0], back.tag[1], back.tag[2]);
  ok &= tail_ok && std::memcmp(&back, &p, sizeof(Params)) == 0;

  // Symbol to device memory (FromSymbol with cudaMemcpyDeviceToDevice).
  float* dcopy;
  CK(cudaMalloc(&dcopy, sizeof(float) * 256));
  CK(cudaMemcpyFromSymbol(dcopy, c_coef, sizeof(float) * 256, 0, cudaMemcpyDeviceToDevice));
  float coef_back[256];
  CK(cudaMemcpy(coef_back, dcopy, sizeof(coef_back), cudaMemcpyDeviceToHost));
  bool coef_ok = std::memcmp(coef_back, coef, sizeof(coef)) == 0;
  std::printf("coef_roundtrip_ok=%d\n", coef_ok ? 1 : 0);
  ok &= coef_ok;

  // cudaGetSymbolAddress: use the address with memcpy, memset and as a kernel argument.
  float* gptr = nullptr;
  CK(cudaGetSymbolAddress(reinterpret_cast<void**>(&gptr), g_out));
  EXPECT(gptr != nullptr);
  scale_through_pointer<<<(n + 127) / 128, 128>>>(gptr, n, 0.5f);
  CK_LAUNCH();
  float via_ptr[1024];
  CK(cudaMemcpy(via_ptr, gptr, sizeof(float) * n, cudaMemcpyDeviceToHost));
  int bad2 = 0;
  for (int i = 0; i < n; ++i)
    if (via_ptr[i] != out[i] * 0.5f) ++bad2;
  CK(cudaMemset(gptr + 1000, 0, sizeof(float) * 24));
  float last[24];
  CK(cudaMemcpyFromSymbol(last, g_out, sizeof(last), 1000 * sizeof(float)));
  for (float v : last)
    if (v != 0.0f) ++bad2;
  int* cptr = nullptr;
  CK(cudaGetSymbolAddress(reinterpret_cast<void**>(&cptr), g_counter));
  int counter2 = -1;
  CK(cudaMemcpy(&counter2, cptr, sizeof(int), cudaMemcpyDeviceToHost));
  std::printf("symbol_address mismatches=%d counter_via_ptr=%d\n", bad2, counter2);
  ok &= bad2 == 0 && counter2 == n;

  // The module-initialised value is still there, read by a kernel.
  int* dinit;
  CK(cudaMalloc(&dinit, sizeof(int)));
  read_init<<<1, 1>>>(dinit);
  CK_LAUNCH();
  int init2 = 0;
  CK(cudaMemcpy(&init2, dinit, sizeof(int), cudaMemcpyDeviceToHost));
  std::printf("g_init_value_from_kernel=%d\n", init2);
  ok &= init2 == 1234;

  CK(cudaFree(dp));
  CK(cudaFree(dcopy));
  CK(cudaFree(dinit));
  std::printf("device_globals %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
