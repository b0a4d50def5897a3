// struct_params: kernel parameters of mixed sizes and alignments: char, short, double, structs
// passed by value with padding inside, an alignas(16) struct, a 6 KB struct (parameters above
// 4 KB, the old limit) and a pointer last; launched with <<<>>> and with cudaLaunchKernel. The
// kernel echoes what it received into a result buffer, which is checked field by field.
#include "common.h"

struct Small {  // 24 bytes with padding: char @0, double @8, short @16, int @20
  char c;
  double d;
  short s;
  int i;
};

struct alignas(16) Vec {  // 16-byte aligned
  float x, y, z;
  int w;
};

struct Odd {  // 7 bytes, alignment 1
  char b[7];
};

struct Big {  // 6000 bytes
  int data[1500];
};

struct Result {
  int c;
  double d;
  int s;
  int i;
  float vx, vy, vz;
  int vw;
  int odd_sum;
  long long big_sum;
  int big_first, big_last;
  short sh;
  double dd;
  unsigned char uc;
};

__global__ void echo(char c0, Small sm, short sh, Vec v, Odd odd, double dd, Big big, unsigned char uc,
                     Result* out) {
  if (threadIdx.x != 0 || blockIdx.x != 0) return;
  out->c = c0 + sm.c;
  out->d = sm.d;
  out->s = sm.s;
  out->i = sm.i;
  out->vx = v.x;
  out->vy = v.y;
  out->vz = v.z;
  out->vw = v.w;
  int os = 0;
  for (int k = 0; k < 7; ++k) os = os * 3 + odd.b[k];
  out->odd_sum = os;
  long long bs = 0;
  for (int k = 0; k < 1500; ++k) bs += static_cast<long long>(big.data[k]) * (k + 1);
  out->big_sum = bs;
  out->big_first = big.data[0];
  out->big_last = big.data[1499];
  out->sh = sh;
  out->dd = dd;
  out->uc = uc;
}

// A block-parallel use of the big struct: every thread reads a different element.
__global__ void big_gather(Big big, int* out) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < 1500) out[i] = big.data[1499 - i] * 2 + 1;
}

static bool check(const char* how, const Result& r, char c0, const Small& sm, short sh, const Vec& v,
                  const Odd& odd, double dd, const Big& big, unsigned char uc) {
  int os = 0;
  for (int k = 0; k < 7; ++k) os = os * 3 + odd.b[k];
  long long bs = 0;
  for (int k = 0; k < 1500; ++k) bs += static_cast<long long>(big.data[k]) * (k + 1);
  bool ok = r.c == c0 + sm.c && r.d == sm.d && r.s == sm.s && r.i == sm.i && r.vx == v.x && r.vy == v.y &&
            r.vz == v.z && r.vw == v.w && r.odd_sum == os && r.big_sum == bs && r.big_first == big.data[0] &&
            r.big_last == big.data[1499] && r.sh == sh && r.dd == dd && r.uc == uc;
  std::printf("%s: c=%d d=%.4f s=%d i=%d v=(%.2f,%.2f,%.2f,%d) odd=%d big_sum=%lld big_first=%d big_last=%d "
              "sh=%d dd=%.6f uc=%u %s\n",
              how, r.c, r.d, r.s, r.i, r.vx, r.vy, r.vz, r.vw, r.odd_sum, r.big_sum, r.big_first, r.big_last,
              r.sh, r.dd, r.uc, ok ? "ok" : "BAD");
  return ok;
}

int main() {
  static_assert(sizeof(Big) > 4096, "Big must exceed 4 KB");
  std::printf("sizeof Small=%zu Vec=%zu Odd=%zu Big=%zu\n", sizeof(Small), sizeof(Vec), sizeof(Odd), sizeof(Big));
  char c0 = 5;
  Small sm{-7, 3.25, -1234, 0x12345678};
  short sh = -32000;
  Vec v{1.5f, -2.5f, 1e10f, -99};
  Odd odd{{1, -2, 3, -4, 5, -6, 7}};
  double dd = 6.02214076e23;
  static Big big;
  for (int k = 0; k < 1500; ++k) big.data[k] = (k * 7919) % 10007 - 5000;
  unsigned char uc = 250;

  Result* dres;
  int* dg;
  CK(cudaMalloc(&dres, sizeof(Result)));
  CK(cudaMalloc(&dg, sizeof(int) * 1500));
  bool ok = true;

  CK(cudaMemset(dres, 0, sizeof(Result)));
  echo<<<1, 32>>>(c0, sm, sh, v, odd, dd, big, uc, dres);
  CK_LAUNCH();
  Result r{};
  CK(cudaMemcpy(&r, dres, sizeof(Result), cudaMemcpyDeviceToHost));
  ok &= check("<<<>>>", r, c0, sm, sh, v, odd, dd, big, uc);

  // Same kernel through cudaLaunchKernel with different values.
  c0 = -3;
  sm = Small{100, -0.5, 77, -1};
  v = Vec{0.0f, 0.25f, -0.125f, 12345};
  big.data[0] = 42;
  big.data[1499] = -42;
  uc = 1;
  CK(cudaMemset(dres, 0, sizeof(Result)));
  void* args[] = {&c0, &sm, &sh, &v, &odd, &dd, &big, &uc, &dres};
  CK(cudaLaunchKernel(reinterpret_cast<const void*>(echo), dim3(1), dim3(32), args, 0, nullptr));
  CK(cudaMemcpy(&r, dres, sizeof(Result), cudaMemcpyDeviceToHost));
  ok &= check("cudaLaunchKernel", r, c0, sm, sh, v, odd, dd, big, uc);

  big_gather<<<(1500 + 255) / 256, 256>>>(big, dg);
  CK_LAUNCH();
  int g[1500];
  CK(cudaMemcpy(g, dg, sizeof(g), cudaMemcpyDeviceToHost));
  int bad = 0;
  for (int i = 0; i < 1500; ++i)
    if (g[i] != big.data[1499 - i] * 2 + 1) ++bad;
  std::printf("big_gather mismatches=%d checksum=0x%016llx\n", bad,
              static_cast<unsigned long long>(fnv1a(g, sizeof(g))));
  ok &= bad == 0;

  CK(cudaFree(dres));
  CK(cudaFree(dg));
  std::printf("struct_params %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
