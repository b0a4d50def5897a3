// Shared helpers for the GPU proof programs (test/gpu/programs/*.cu).
//
// Every program prints only deterministic results (values, checksums, error names), checks every
// CUDA return code and exits 0 on success, so test/gpu/run.sh can compare a native run with a run
// through vgpu byte for byte.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

// Check a CUDA call; on failure print the call and the error's name and exit 1.
#define CK(call)                                                                            \
  do {                                                                                      \
    cudaError_t ck_err_ = (call);                                                           \
    if (ck_err_ != cudaSuccess) {                                                           \
      std::printf("FAIL line %d: %s -> %s\n", __LINE__, #call, cudaGetErrorName(ck_err_));  \
      std::fflush(stdout);                                                                  \
      std::exit(1);                                                                         \
    }                                                                                       \
  } while (0)

// Check a launch: the launch error (cudaGetLastError) only; completion is checked by the next
// synchronizing call.
#define CK_LAUNCH() CK(cudaGetLastError())

// Check a host-side condition; on failure print it and exit 1.
#define EXPECT(cond)                                                   \
  do {                                                                 \
    if (!(cond)) {                                                     \
      std::printf("FAIL line %d: expected %s\n", __LINE__, #cond);     \
      std::fflush(stdout);                                             \
      std::exit(1);                                                    \
    }                                                                  \
  } while (0)

// Expect a call to return a particular error; print "<label>=<error name>" either way so that a
// difference shows in the output, and exit 1 if it is not the expected one.
#define EXPECT_ERR(label, call, expected)                                             \
  do {                                                                                \
    cudaError_t ee_ = (call);                                                         \
    std::printf("%s=%s\n", (label), cudaGetErrorName(ee_));                           \
    if (ee_ != (expected)) {                                                          \
      std::printf("FAIL line %d: %s expected %s\n", __LINE__, #call,                  \
                  cudaGetErrorName(expected));                                        \
      std::fflush(stdout);                                                            \
      std::exit(1);                                                                   \
    }                                                                                 \
  } while (0)

// FNV-1a 64-bit over raw bytes.
static inline uint64_t fnv1a(const void* data, size_t n, uint64_t h = 1469598103934665603ull) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

// Deterministic byte pattern that differs per seed and per position (period is not a power of 2,
// so misplaced chunks show).
static inline void fill_pattern(void* dst, size_t n, uint32_t seed) {
  unsigned char* p = static_cast<unsigned char*>(dst);
  uint32_t x = seed * 2654435761u + 12345u;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    p[i] = static_cast<unsigned char>((x >> 24) ^ (i % 251));
  }
}

// Small deterministic integer generator for test data.
struct Lcg {
  uint32_t s;
  explicit Lcg(uint32_t seed) : s(seed ? seed : 1u) {}
  uint32_t next() {
    s = s * 1664525u + 1013904223u;
    return s >> 8;
  }
  // integer in [lo, hi]
  int range(int lo, int hi) { return lo + static_cast<int>(next() % static_cast<uint32_t>(hi - lo + 1)); }
};

static inline void print_hex(const char* label, uint64_t v) {
  std::printf("%s=0x%016llx\n", label, static_cast<unsigned long long>(v));
}
