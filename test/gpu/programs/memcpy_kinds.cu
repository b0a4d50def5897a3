// memcpy_kinds: every cudaMemcpyKind (HostToHost, HostToDevice, DeviceToHost, DeviceToDevice,
// Default), synchronous and asynchronous, from pageable and pinned host memory, at unaligned
// offsets, for sizes from 1 byte to 64 MB (small copies that travel inline and large ones that are
// staged in chunks), plus cudaMemset/cudaMemsetAsync over partial ranges. Every result is checked
// byte for byte.
#include "common.h"

#include <vector>

static int g_fail = 0;

static void verify(const char* what, size_t n, const unsigned char* got, const unsigned char* want) {
  if (std::memcmp(got, want, n) == 0) return;
  size_t i = 0;
  while (i < n && got[i] == want[i]) ++i;
  std::printf("MISMATCH size=%zu %s first_bad_index=%zu got=%u want=%u\n", n, what, i, got[i], want[i]);
  ++g_fail;
}

int main() {
  const size_t sizes[] = {1,           2,          3,          63,        64,       255,
                          4096,        4097,       65536 + 7,  1u << 20,  (1u << 20) + 13,
                          (4u << 20) + 5, 16u << 20, 64u << 20};
  const size_t maxn = 64u << 20;
  const size_t pad = 64;

  unsigned char *d1, *d2, *pin1, *pin2;
  CK(cudaMalloc(&d1, maxn + pad));
  CK(cudaMalloc(&d2, maxn + pad));
  CK(cudaMallocHost(&pin1, maxn + pad));
  CK(cudaMallocHost(&pin2, maxn + pad));
  std::vector<unsigned char> hp1(maxn + pad), hp2(maxn + pad), want(maxn + pad);
  cudaStream_t s;
  CK(cudaStreamCreate(&s));

  for (size_t n : sizes) {
    const size_t o = n % 7;  // unaligned device offset
    int before = g_fail;
    // 1. synchronous, pageable host memory, explicit kinds
    fill_pattern(hp1.data(), n, static_cast<uint32_t>(n));
    std::memset(hp2.data(), 0, n);
    CK(cudaMemcpy(d1 + o, hp1.data(), n, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d2 + 1, d1 + o, n, cudaMemcpyDeviceToDevice));
    CK(cudaMemcpy(hp2.data(), d2 + 1, n, cudaMemcpyDeviceToHost));
    verify("sync_pageable_H2D_D2D_D2H", n, hp2.data(), hp1.data());

    // 2. cudaMemcpyDefault: pinned -> device -> device -> pageable
    fill_pattern(pin1, n, static_cast<uint32_t>(n) + 1);
    std::memset(hp2.data(), 0, n);
    CK(cudaMemcpy(d1, pin1, n, cudaMemcpyDefault));
    CK(cudaMemcpy(d2 + o, d1, n, cudaMemcpyDefault));
    CK(cudaMemcpy(hp2.data(), d2 + o, n, cudaMemcpyDefault));
    verify("sync_default", n, hp2.data(), pin1);
    // Default, pageable -> device -> pinned
    std::memset(pin2, 0, n);
    CK(cudaMemcpy(d1 + 3, hp1.data(), n, cudaMemcpyDefault));
    CK(cudaMemcpy(pin2, d1 + 3, n, cudaMemcpyDefault));
    verify("sync_default_pageable_to_pinned", n, pin2, hp1.data());

    // 3. HostToHost: pageable -> pageable, pinned -> pageable (explicit and Default)
    std::memset(hp2.data(), 0, n);
    CK(cudaMemcpy(hp2.data(), hp1.data(), n, cudaMemcpyHostToHost));
    verify("sync_H2H_pageable", n, hp2.data(), hp1.data());
    std::memset(hp2.data(), 0, n);
    CK(cudaMemcpy(hp2.data(), pin1, n, cudaMemcpyDefault));
    verify("sync_H2H_default_pinned_src", n, hp2.data(), pin1);

    // 4. asynchronous on a stream: pinned H2D, D2D, D2H, plus async H2H between pinned buffers
    fill_pattern(pin1, n, static_cast<uint32_t>(n) + 2);
    std::memset(pin2, 0, n);
    CK(cudaMemcpyAsync(d1 + o, pin1, n, cudaMemcpyHostToDevice, s));
    CK(cudaMemcpyAsync(d2, d1 + o, n, cudaMemcpyDeviceToDevice, s));
    CK(cudaMemcpyAsync(pin2, d2, n, cudaMemcpyDeviceToHost, s));
    CK(cudaStreamSynchronize(s));
    verify("async_pinned", n, pin2, pin1);
    std::memset(pin2, 0, n);
    CK(cudaMemcpyAsync(pin2, pin1, n, cudaMemcpyHostToHost, s));
    CK(cudaStreamSynchronize(s));
    verify("async_H2H_pinned", n, pin2, pin1);

    // 5. asynchronous with pageable memory and cudaMemcpyDefault on the legacy stream
    fill_pattern(hp1.data(), n, static_cast<uint32_t>(n) + 3);
    std::memset(hp2.data(), 0, n);
    CK(cudaMemcpyAsync(d2 + o, hp1.data(), n, cudaMemcpyHostToDevice, s));
    CK(cudaMemcpyAsync(hp2.data(), d2 + o, n, cudaMemcpyDeviceToHost, s));
    CK(cudaStreamSynchronize(s));
    verify("async_pageable", n, hp2.data(), hp1.data());
    std::memset(hp2.data(), 0, n);
    CK(cudaMemcpyAsync(d1, hp1.data(), n, cudaMemcpyDefault, 0));
    CK(cudaMemcpyAsync(hp2.data(), d1, n, cudaMemcpyDefault, 0));
    CK(cudaStreamSynchronize(0));
    verify("async_default_legacy_stream", n, hp2.data(), hp1.data());

    // 6. memset: whole range + pad, then a partial async memset at an unaligned offset
    size_t part = n / 2;
    CK(cudaMemset(d1, 0x5a, n + 16));
    CK(cudaMemsetAsync(d1 + o, 0xc3, part, s));
    CK(cudaMemsetAsync(d1 + o + part, 0x00, (n - part) / 3, 0));
    CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(hp2.data(), d1, n + 16, cudaMemcpyDeviceToHost));
    std::memset(want.data(), 0x5a, n + 16);
    std::memset(want.data() + o, 0xc3, part);
    std::memset(want.data() + o + part, 0x00, (n - part) / 3);
    verify("memset", n + 16, hp2.data(), want.data());

    std::printf("size=%zu offset=%zu pattern=0x%016llx %s\n", n, o,
                static_cast<unsigned long long>(fnv1a(hp1.data(), n)), g_fail == before ? "ok" : "BAD");
  }

  CK(cudaStreamDestroy(s));
  CK(cudaFree(d1));
  CK(cudaFree(d2));
  CK(cudaFreeHost(pin1));
  CK(cudaFreeHost(pin2));
  std::printf("memcpy_kinds %s failures=%d\n", g_fail == 0 ? "PASS" : "FAIL", g_fail);
  return g_fail == 0 ? 0 : 1;
}
