// pinned_memory: page-locked host memory from cudaMallocHost and cudaHostAlloc (Default, Portable,
// WriteCombined flags), async copies in and out of it on several streams, a kernel between, many
// allocate/free cycles of mixed sizes (reuse of freed pinned memory), a large 96 MB buffer, and a
// kernel given a cudaMallocHost pointer itself (unified addressing: one address on CPU and GPU).
#include "common.h"

#include <vector>

__global__ void xor_bytes(unsigned char* p, size_t n, unsigned char k) {
  size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (; i < n; i += stride) p[i] ^= static_cast<unsigned char>(k + (i % 13));
}

static bool roundtrip(const char* label, unsigned char* src, unsigned char* dst, size_t n, cudaStream_t s,
                      uint32_t seed) {
  unsigned char* d;
  CK(cudaMalloc(&d, n));
  fill_pattern(src, n, seed);
  std::memset(dst, 0, n);
  CK(cudaMemcpyAsync(d, src, n, cudaMemcpyHostToDevice, s));
  xor_bytes<<<256, 256, 0, s>>>(d, n, 0x5c);
  CK_LAUNCH();
  CK(cudaMemcpyAsync(dst, d, n, cudaMemcpyDeviceToHost, s));
  CK(cudaStreamSynchronize(s));
  size_t bad = 0;
  for (size_t i = 0; i < n; ++i)
    if (dst[i] != static_cast<unsigned char>(src[i] ^ static_cast<unsigned char>(0x5c + (i % 13)))) ++bad;
  std::printf("%s size=%zu mismatches=%zu checksum=0x%016llx\n", label, n, bad,
              static_cast<unsigned long long>(fnv1a(dst, n)));
  CK(cudaFree(d));
  return bad == 0;
}

int main() {
  bool ok = true;
  cudaStream_t s1, s2;
  CK(cudaStreamCreate(&s1));
  CK(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));

  // cudaMallocHost
  const size_t n1 = (8u << 20) + 3;
  unsigned char *a, *b;
  CK(cudaMallocHost(&a, n1));
  CK(cudaMallocHost(&b, n1));
  ok &= roundtrip("cudaMallocHost", a, b, n1, s1, 1);

  // cudaHostAlloc with flags
  unsigned char *c, *d, *wc;
  CK(cudaHostAlloc(&c, n1, cudaHostAllocDefault));
  CK(cudaHostAlloc(&d, n1, cudaHostAllocPortable));
  ok &= roundtrip("cudaHostAllocDefault_to_Portable", c, d, n1, s2, 2);
  const size_t nwc = 1u << 20;
  CK(cudaHostAlloc(&wc, nwc, cudaHostAllocWriteCombined));
  // write-combined memory: written by the CPU, read by the GPU only
  fill_pattern(wc, nwc, 3);
  std::vector<unsigned char> expect(nwc);
  fill_pattern(expect.data(), nwc, 3);
  unsigned char* dw;
  CK(cudaMalloc(&dw, nwc));
  CK(cudaMemcpyAsync(dw, wc, nwc, cudaMemcpyHostToDevice, s1));
  CK(cudaMemcpyAsync(a, dw, nwc, cudaMemcpyDeviceToHost, s1));
  CK(cudaStreamSynchronize(s1));
  bool wc_ok = std::memcmp(a, expect.data(), nwc) == 0;
  std::printf("cudaHostAllocWriteCombined size=%zu ok=%d\n", nwc, wc_ok ? 1 : 0);
  ok &= wc_ok;
  CK(cudaFree(dw));

  // Two streams at once, each on its own pinned pair.
  {
    const size_t n = 4u << 20;
    unsigned char *d1, *d2;
    CK(cudaMalloc(&d1, n));
    CK(cudaMalloc(&d2, n));
    fill_pattern(a, n, 10);
    fill_pattern(c, n, 11);
    CK(cudaMemcpyAsync(d1, a, n, cudaMemcpyHostToDevice, s1));
    CK(cudaMemcpyAsync(d2, c, n, cudaMemcpyHostToDevice, s2));
    xor_bytes<<<128, 256, 0, s1>>>(d1, n, 1);
    CK_LAUNCH();
    xor_bytes<<<128, 256, 0, s2>>>(d2, n, 2);
    CK_LAUNCH();
    CK(cudaMemcpyAsync(b, d1, n, cudaMemcpyDeviceToHost, s1));
    CK(cudaMemcpyAsync(d, d2, n, cudaMemcpyDeviceToHost, s2));
    CK(cudaStreamSynchronize(s1));
    CK(cudaStreamSynchronize(s2));
    size_t bad = 0;
    for (size_t i = 0; i < n; ++i) {
      if (b[i] != static_cast<unsigned char>(a[i] ^ static_cast<unsigned char>(1 + (i % 13)))) ++bad;
      if (d[i] != static_cast<unsigned char>(c[i] ^ static_cast<unsigned char>(2 + (i % 13)))) ++bad;
    }
    std::printf("two_streams size=%zu mismatches=%zu checksum=0x%016llx\n", n, bad,
                static_cast<unsigned long long>(fnv1a(d, n, fnv1a(b, n))));
    ok &= bad == 0;
    CK(cudaFree(d1));
    CK(cudaFree(d2));
  }

  CK(cudaFreeHost(a));
  CK(cudaFreeHost(b));
  CK(cudaFreeHost(c));
  CK(cudaFreeHost(d));
  CK(cudaFreeHost(wc));

  // Allocation churn: mixed sizes, freed in a different order, contents checked each time.
  {
    const size_t sizes[] = {1, 4096, 100000, 1u << 20, 3u << 20, 17, 65536, 5u << 20};
    const int nsz = sizeof(sizes) / sizeof(sizes[0]);
    uint64_t h = 1469598103934665603ull;
    int bad = 0;
    for (int round = 0; round < 8; ++round) {
      unsigned char* p[nsz];
      for (int k = 0; k < nsz; ++k) {
        if (k % 2)
          CK(cudaHostAlloc(&p[k], sizes[k], cudaHostAllocDefault));
        else
          CK(cudaMallocHost(&p[k], sizes[k]));
        fill_pattern(p[k], sizes[k], static_cast<uint32_t>(round * 100 + k));
      }
      for (int k = 0; k < nsz; ++k) {
        std::vector<unsigned char> e(sizes[k]);
        fill_pattern(e.data(), sizes[k], static_cast<uint32_t>(round * 100 + k));
        if (std::memcmp(e.data(), p[k], sizes[k]) != 0) ++bad;  // neighbours did not overwrite it
        h = fnv1a(p[k], sizes[k], h);
      }
      for (int k = nsz - 1; k >= 0; k -= 2) CK(cudaFreeHost(p[k]));
      for (int k = 0; k < nsz; k += 2) CK(cudaFreeHost(p[k]));
    }
    std::printf("churn rounds=8 mismatches=%d checksum=0x%016llx\n", bad, static_cast<unsigned long long>(h));
    ok &= bad == 0;
  }

  // One large buffer.
  {
    const size_t n = 96u << 20;
    unsigned char *big_in, *big_out;
    CK(cudaMallocHost(&big_in, n));
    CK(cudaHostAlloc(&big_out, n, cudaHostAllocDefault));
    ok &= roundtrip("large", big_in, big_out, n, s2, 77);
    CK(cudaFreeHost(big_in));
    CK(cudaFreeHost(big_out));
  }

  // Unified addressing: the kernel gets the host pointer, not one from cudaHostGetDevicePointer.
  {
    const size_t n = 1u << 16;
    unsigned char* h;
    CK(cudaMallocHost(&h, n));
    std::memset(h, 0x0f, n);
    cudaPointerAttributes attr{};
    CK(cudaPointerGetAttributes(&attr, h));
    xor_bytes<<<16, 256, 0, s1>>>(h, n, 0x30);
    CK_LAUNCH();
    CK(cudaStreamSynchronize(s1));
    size_t bad = 0;
    for (size_t i = 0; i < n; ++i)
      if (h[i] != static_cast<unsigned char>(0x0f ^ static_cast<unsigned char>(0x30 + (i % 13)))) ++bad;
    std::printf("host_pointer_in_kernel device_pointer_is_host=%d mismatches=%zu\n",
                attr.devicePointer == h ? 1 : 0, bad);
    ok &= bad == 0 && attr.devicePointer == h;
    CK(cudaFreeHost(h));
  }

  // cudaFreeHost(nullptr) is a no-op.
  CK(cudaFreeHost(nullptr));

  CK(cudaStreamDestroy(s1));
  CK(cudaStreamDestroy(s2));
  std::printf("pinned_memory %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
