// kernel_fault: a kernel that writes to an unmapped address, through the driver API.
// Proves that the launch itself succeeds, cuCtxSynchronize returns CUDA_ERROR_ILLEGAL_ADDRESS, and
// the error is sticky in that context (a second synchronize, cuMemAlloc and a new launch fail the
// same way). The fault happens first in a context made by cuCtxCreate; then the program prints,
// without requiring a particular outcome, what cuCtxDestroy of it returns and whether the primary
// context works afterwards; if it does, a second fault there is required to be sticky as well,
// and the program prints what cuDevicePrimaryCtxReset returns and whether a fresh retain of the
// primary context works again (the native run fixes these answers; vgpu must give the same).
// blobs: cubin
#if defined(__CUDACC__)
extern "C" __global__ void poke(int* p, int v) {
  if (threadIdx.x == 0 && blockIdx.x == 0) *p = v;
}
#else
#include "driver_common.h"
#include "drv_blobs.h"

// Loads the module in the current context, allocates, runs poke on good memory and reads it
// back; returns the first failing CUresult (printed as LABEL=NAME), or CUDA_SUCCESS.
static CUresult try_work(const char* label) {
  CUmodule mod;
  CUfunction f;
  CUdeviceptr d;
  CUresult r = cuModuleLoadData(&mod, drv_cubin);
  if (r == CUDA_SUCCESS) r = cuModuleGetFunction(&f, mod, "poke");
  if (r == CUDA_SUCCESS) r = cuMemAlloc(&d, 64);
  int v = 4242, got = 0;
  void* params[] = {&d, &v};
  if (r == CUDA_SUCCESS) r = cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, nullptr, params, nullptr);
  if (r == CUDA_SUCCESS) r = cuCtxSynchronize();
  if (r == CUDA_SUCCESS) r = cuMemcpyDtoH(&got, d, sizeof got);
  if (r == CUDA_SUCCESS && got != 4242) r = CUDA_ERROR_UNKNOWN;
  std::printf("%s=%s\n", label, cu_name(r));
  return r;
}

// Launches poke on address 0x10 in the current context and requires the fault to be sticky.
static void fault_here(const char* where) {
  CUmodule mod;
  CUfunction f;
  CHECK(cuModuleLoadData(&mod, drv_cubin));
  CHECK(cuModuleGetFunction(&f, mod, "poke"));
  CUdeviceptr bad = 0x10;
  int v = 1;
  void* params[] = {&bad, &v};
  std::printf("[%s]\n", where);
  EXPECT_RES("launch_faulting_kernel", cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, nullptr, params, nullptr),
             CUDA_SUCCESS);
  EXPECT_RES("cuCtxSynchronize", cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
  EXPECT_RES("cuCtxSynchronize_again", cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
  CUdeviceptr d;
  EXPECT_RES("cuMemAlloc_after_fault", cuMemAlloc(&d, 64), CUDA_ERROR_ILLEGAL_ADDRESS);
  EXPECT_FAIL("launch_after_fault",
              cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, nullptr, params, nullptr));
}

int main() {
  CHECK(cuInit(0));
  CUdevice dev;
  CHECK(cuDeviceGet(&dev, 0));

  CUcontext own;
  CHECK(cuCtxCreate(&own, nullptr, 0, dev));
  CHECK(try_work("own_context_before_fault"));
  fault_here("created context");
  std::printf("cuCtxDestroy(faulted)=%s\n", cu_name(cuCtxDestroy(own)));

  CUcontext primary;
  CUresult r = cuDevicePrimaryCtxRetain(&primary, dev);
  std::printf("cuDevicePrimaryCtxRetain=%s\n", cu_name(r));
  if (r == CUDA_SUCCESS) r = cuCtxSetCurrent(primary);
  if (r == CUDA_SUCCESS && try_work("primary_after_other_context_faulted") == CUDA_SUCCESS) {
    fault_here("primary context");
    std::printf("cuDevicePrimaryCtxReset=%s\n", cu_name(cuDevicePrimaryCtxReset(dev)));
    std::printf("cuDevicePrimaryCtxRelease(old)=%s\n", cu_name(cuDevicePrimaryCtxRelease(dev)));
    CUcontext fresh;
    r = cuDevicePrimaryCtxRetain(&fresh, dev);
    std::printf("cuDevicePrimaryCtxRetain(after reset)=%s\n", cu_name(r));
    if (r == CUDA_SUCCESS) {
      r = cuCtxSetCurrent(fresh);
      if (r == CUDA_SUCCESS) try_work("primary_after_reset");
      std::printf("cuDevicePrimaryCtxRelease=%s\n", cu_name(cuDevicePrimaryCtxRelease(dev)));
    }
    CUcontext again;
    r = cuCtxCreate(&again, nullptr, 0, dev);
    std::printf("cuCtxCreate(after both faults)=%s\n", cu_name(r));
    if (r == CUDA_SUCCESS) {
      try_work("new_context_after_both_faults");
      std::printf("cuCtxDestroy=%s\n", cu_name(cuCtxDestroy(again)));
    }
  }
  std::printf("kernel_fault PASS\n");
  return 0;
}
#endif
