// Shared helpers for the driver-API proof programs (test/gpu/programs-driver/*.cu).
//
// Each program is one .cu file with two halves. The device half (`#if defined(__CUDACC__)`) is
// compiled by build.sh into the companion files the program asks for on its `// blobs:` line
// (NAME.cubin, NAME.fatbin, NAME.ptx.fatbin, NAME.ptx, NAME.rdc.ptx), which are written next to
// the executable and also embedded as byte arrays in the generated header drv_blobs.h
// (drv_cubin, drv_fatbin, drv_ptxfat, drv_ptx, drv_ptxrdc, each followed by a NUL byte, with
// drv_<kind>_size the file's size). The host half is compiled as plain C++ (nvcc -x c++,
// -cudart none) and linked against libcuda.so.1 only: no CUDA runtime anywhere.
//
// Every program prints only deterministic results (values, checksums, CUresult names), checks
// every call and exits 0 on success, so run-driver.sh can compare a native run with a run through
// vgpu byte for byte. On failure it prints the call and its CUresult name and exits 1.
#pragma once

#include <cuda.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <unistd.h>

// The name of a CUresult, or "(unknown CUresult N)" if the driver does not know it.
static inline const char* cu_name(CUresult r) {
  const char* n = nullptr;
  if (cuGetErrorName(r, &n) != CUDA_SUCCESS || n == nullptr) {
    static char buf[48];
    std::snprintf(buf, sizeof buf, "(unknown CUresult %d)", static_cast<int>(r));
    return buf;
  }
  return n;
}

// Check a driver call; on failure print the call and the CUresult's name and exit 1.
#define CHECK(call)                                                                         \
  do {                                                                                      \
    CUresult ck_res_ = (call);                                                              \
    if (ck_res_ != CUDA_SUCCESS) {                                                          \
      std::printf("FAIL line %d: %s -> %s\n", __LINE__, #call, cu_name(ck_res_));           \
      std::fflush(stdout);                                                                  \
      std::exit(1);                                                                         \
    }                                                                                       \
  } while (0)

// Check a host-side condition; on failure print it and exit 1.
#define EXPECT(cond)                                                   \
  do {                                                                 \
    if (!(cond)) {                                                     \
      std::printf("FAIL line %d: expected %s\n", __LINE__, #cond);     \
      std::fflush(stdout);                                             \
      std::exit(1);                                                    \
    }                                                                  \
  } while (0)

// Expect a call to return a particular CUresult; print "<label>=<name>" either way, so that a
// difference shows in the output, and exit 1 if it is not the expected one.
#define EXPECT_RES(label, call, expected)                                               \
  do {                                                                                  \
    CUresult er_ = (call);                                                              \
    std::printf("%s=%s\n", (label), cu_name(er_));                                      \
    if (er_ != (expected)) {                                                            \
      std::printf("FAIL line %d: %s expected %s\n", __LINE__, #call, cu_name(expected)); \
      std::fflush(stdout);                                                              \
      std::exit(1);                                                                     \
    }                                                                                   \
  } while (0)

// Expect a call to fail (any CUresult but CUDA_SUCCESS); print "<label>=<name>". Used where the
// exact code is not documented: the native run fixes it and vgpu must give the same.
#define EXPECT_FAIL(label, call)                                                        \
  do {                                                                                  \
    CUresult ef_ = (call);                                                              \
    std::printf("%s=%s\n", (label), cu_name(ef_));                                      \
    if (ef_ == CUDA_SUCCESS) {                                                          \
      std::printf("FAIL line %d: %s succeeded, expected an error\n", __LINE__, #call);  \
      std::fflush(stdout);                                                              \
      std::exit(1);                                                                     \
    }                                                                                   \
  } while (0)

// The path of this executable plus SUFFIX: companion files (NAME.cubin, ...) lie next to the
// binary, and the harness runs programs from another working directory.
static inline std::string companion_path(const char* suffix) {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) {
    std::printf("FAIL: readlink /proc/self/exe\n");
    std::exit(1);
  }
  buf[n] = '\0';
  return std::string(buf) + suffix;
}

// cuInit, device 0, its primary context retained and made current.
static inline CUcontext init_primary(CUdevice* dev_out) {
  CHECK(cuInit(0));
  CUdevice dev = 0;
  CHECK(cuDeviceGet(&dev, 0));
  CUcontext ctx = nullptr;
  CHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
  CHECK(cuCtxSetCurrent(ctx));
  if (dev_out) *dev_out = dev;
  return ctx;
}

// FNV-1a 64-bit over raw bytes.
static inline uint64_t fnv1a(const void* data, size_t n, uint64_t h = 1469598103934665603ull) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

// Deterministic byte pattern that differs per seed and per position.
static inline void fill_pattern(void* dst, size_t n, uint32_t seed) {
  unsigned char* p = static_cast<unsigned char*>(dst);
  uint32_t x = seed * 2654435761u + 12345u;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    p[i] = static_cast<unsigned char>((x >> 24) ^ (i % 251));
  }
}

static inline void print_hex(const char* label, uint64_t v) {
  std::printf("%s=0x%016llx\n", label, static_cast<unsigned long long>(v));
}
