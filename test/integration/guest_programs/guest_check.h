// Shared by the guest programs: fail loudly with the CUDA error name. CHECK for the runtime
// API programs, CU_CHECK for the Driver API ones (each expands only where it is used, so a
// driver program needs no runtime library).
#pragma once
#include <cuda.h>
#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstdlib>

#define CHECK(call)                                                                   \
  do {                                                                                \
    cudaError_t err_ = (call);                                                        \
    if (err_ != cudaSuccess) {                                                        \
      std::printf("FAIL %s:%d %s -> %s\n", __FILE__, __LINE__, #call, cudaGetErrorName(err_)); \
      std::exit(1);                                                                   \
    }                                                                                 \
  } while (0)

#define CU_CHECK(call)                                                                  \
  do {                                                                                  \
    CUresult r_ = (call);                                                               \
    if (r_ != CUDA_SUCCESS) {                                                           \
      const char* n_ = nullptr;                                                         \
      cuGetErrorName(r_, &n_);                                                          \
      std::printf("FAIL %s:%d %s -> %d %s\n", __FILE__, __LINE__, #call, r_, n_ ? n_ : "?"); \
      std::exit(1);                                                                     \
    }                                                                                   \
  } while (0)

#define EXPECT(cond)                                                      \
  do {                                                                    \
    if (!(cond)) {                                                        \
      std::printf("FAIL %s:%d expected %s\n", __FILE__, __LINE__, #cond); \
      std::exit(1);                                                       \
    }                                                                     \
  } while (0)

// A Driver API call that must answer exactly `rc`.
#define EXPECT_RC(call, rc)                                                                  \
  do {                                                                                       \
    CUresult r_ = (call);                                                                    \
    if (r_ != (rc)) {                                                                        \
      std::printf("FAIL %s:%d %s -> %d, expected %s\n", __FILE__, __LINE__, #call, r_, #rc); \
      std::exit(1);                                                                          \
    }                                                                                        \
  } while (0)
