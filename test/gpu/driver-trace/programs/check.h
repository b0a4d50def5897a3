// check.h: the error checks the trace programs share. Each program prints only deterministic
// facts (values, checksums, error names), so its output with and without the interposer can be
// compared byte for byte.
#pragma once
#include <cstdio>
#include <cstdlib>

#define CHECK_CUDA(x)                                                                   \
    do {                                                                                \
        cudaError_t e_ = (x);                                                           \
        if (e_ != cudaSuccess) {                                                        \
            printf("%s failed: %s\n", #x, cudaGetErrorName(e_));                        \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

// For libraries whose status type is an enum with 0 = success (cuBLAS, cuFFT, cuRAND, cuSOLVER,
// cuSPARSE, NVRTC, the driver API).
#define CHECK_STATUS(x)                                                                 \
    do {                                                                                \
        int s_ = (int)(x);                                                              \
        if (s_ != 0) {                                                                  \
            printf("%s failed: status %d\n", #x, s_);                                   \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)
