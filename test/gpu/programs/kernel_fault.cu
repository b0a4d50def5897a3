// kernel_fault: a kernel writes to an invalid device address. The launch itself succeeds; the
// fault surfaces at cudaDeviceSynchronize (cudaErrorIllegalAddress natively) and is sticky: the
// next calls report it too. Every outcome is printed by name so that vgpu must reproduce it; the
// program exits 0 if the synchronize returned an error and 1 otherwise.
// (No recovery is attempted: natively, CUDA 13 answers every call after the fault with an error,
// even after cudaDeviceReset, which then gives cudaErrorDevicesUnavailable. run.sh proves that
// the next program, through the same vgpud and tenant, works.)
#include "common.h"

#include <cstdint>

__global__ void write_bad(int* p) { p[threadIdx.x] = 0xdead; }

__global__ void add_one(int* p, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] += 1;
}

int main() {
  // A good allocation and kernel first, so the context and module are live before the fault.
  int* good;
  CK(cudaMalloc(&good, sizeof(int) * 256));
  CK(cudaMemset(good, 0, sizeof(int) * 256));
  add_one<<<1, 256>>>(good, 256);
  CK_LAUNCH();
  CK(cudaDeviceSynchronize());
  std::printf("before_fault=ok\n");

  int* bad = reinterpret_cast<int*>(static_cast<uintptr_t>(0x10));
  write_bad<<<1, 32>>>(bad);
  cudaError_t launch = cudaGetLastError();
  std::printf("launch=%s\n", cudaGetErrorName(launch));
  cudaError_t sync = cudaDeviceSynchronize();
  std::printf("sync_error=%s\n", cudaGetErrorName(sync));
  std::printf("sync_error_string=%s\n", cudaGetErrorString(sync));
  // Sticky: the error stays, for the last-error slot and for new calls.
  std::printf("last_error_after_sync=%s\n", cudaGetErrorName(cudaGetLastError()));
  int* more = nullptr;
  std::printf("malloc_after_fault=%s\n", cudaGetErrorName(cudaMalloc(&more, 1024)));
  std::printf("sync_again=%s\n", cudaGetErrorName(cudaDeviceSynchronize()));

  bool got_error = sync != cudaSuccess;
  std::printf("kernel_fault %s\n", got_error ? "PASS (fault reported)" : "FAIL (no error reported)");
  return got_error ? 0 : 1;
}
