// errors: CUresults of invalid calls through the driver API, and the error strings.
// Proves CUDA_ERROR_NOT_INITIALIZED before cuInit; invalid device ordinals, attributes, flags and
// sizes; out of memory; bad pointers for free/copy; NULL module and function handles; events never
// recorded (query succeeds, elapsed time fails); invalid launch configurations; an unknown limit
// and function attribute; missing names; cuGetErrorName/cuGetErrorString on 14 codes and on an
// unknown code; and that the context still works after all of them. Where the documentation does
// not fix the code, the program requires only an error and prints its name, which vgpu must match.
// blobs: cubin
#if defined(__CUDACC__)
extern "C" __global__ void iota(int* p, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] = i * 3;
}
#else
#include <vector>

#include "driver_common.h"
#include "drv_blobs.h"

int main() {
  int count = -1;
  EXPECT_RES("cuDeviceGetCount_before_init", cuDeviceGetCount(&count), CUDA_ERROR_NOT_INITIALIZED);
  EXPECT_FAIL("cuInit(flags=1)", cuInit(1));
  CHECK(cuInit(0));
  CUdevice dev;
  EXPECT_RES("cuDeviceGet(99)", cuDeviceGet(&dev, 99), CUDA_ERROR_INVALID_DEVICE);
  EXPECT_RES("cuDeviceGet(-1)", cuDeviceGet(&dev, -1), CUDA_ERROR_INVALID_DEVICE);
  CHECK(cuDeviceGet(&dev, 0));
  int v = 0;
  EXPECT_RES("cuDeviceGetAttribute(bad attribute)",
             cuDeviceGetAttribute(&v, static_cast<CUdevice_attribute>(99999), dev),
             CUDA_ERROR_INVALID_VALUE);
  EXPECT_FAIL("cuDevicePrimaryCtxRetain(bad device)", cuDevicePrimaryCtxRetain(nullptr, 77));

  CUcontext ctx;
  CHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
  CHECK(cuCtxSetCurrent(ctx));
  CUmodule mod;
  CHECK(cuModuleLoadData(&mod, drv_cubin));
  CUfunction f;
  CHECK(cuModuleGetFunction(&f, mod, "iota"));

  // Memory.
  CUdeviceptr p = 0;
  EXPECT_RES("cuMemAlloc(0)", cuMemAlloc(&p, 0), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RES("cuMemAlloc(1 PiB)", cuMemAlloc(&p, 1ull << 50), CUDA_ERROR_OUT_OF_MEMORY);
  EXPECT_FAIL("cuMemFree(bad pointer)", cuMemFree(static_cast<CUdeviceptr>(0x10)));
  int host[4] = {1, 2, 3, 4};
  EXPECT_FAIL("cuMemcpyHtoD(to NULL)", cuMemcpyHtoD(0, host, sizeof host));
  CUdeviceptr good;
  CHECK(cuMemAlloc(&good, 4096));
  EXPECT_FAIL("cuMemsetD32(misaligned)", cuMemsetD32(good + 1, 0, 4));

  // Handles and names.
  CUfunction none;
  EXPECT_FAIL("cuModuleGetFunction(NULL module)", cuModuleGetFunction(&none, nullptr, "iota"));
  EXPECT_RES("cuModuleGetFunction(missing)", cuModuleGetFunction(&none, mod, "atoi"),
             CUDA_ERROR_NOT_FOUND);
  EXPECT_FAIL("cuFuncGetAttribute(NULL function)",
              cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_NUM_REGS, nullptr));
  EXPECT_FAIL("cuFuncGetAttribute(bad attribute)",
              cuFuncGetAttribute(&v, static_cast<CUfunction_attribute>(9999), f));
  EXPECT_FAIL("cuCtxSetLimit(bad limit)", cuCtxSetLimit(static_cast<CUlimit>(99), 1));

  // Events never recorded.
  CUevent e1, e2;
  CHECK(cuEventCreate(&e1, CU_EVENT_DEFAULT));
  CHECK(cuEventCreate(&e2, CU_EVENT_DEFAULT));
  EXPECT_RES("cuEventQuery(never recorded)", cuEventQuery(e1), CUDA_SUCCESS);
  float ms = 0;
  EXPECT_RES("cuEventElapsedTime(never recorded)", cuEventElapsedTime(&ms, e1, e2),
             CUDA_ERROR_INVALID_HANDLE);

  // Launch configurations.
  int n = 100;
  void* params[] = {&good, &n};
  EXPECT_FAIL("launch block 2048", cuLaunchKernel(f, 1, 1, 1, 2048, 1, 1, 0, nullptr, params, nullptr));
  EXPECT_FAIL("launch block z 65", cuLaunchKernel(f, 1, 1, 1, 1, 1, 65, 0, nullptr, params, nullptr));
  EXPECT_FAIL("launch grid 0", cuLaunchKernel(f, 0, 1, 1, 32, 1, 1, 0, nullptr, params, nullptr));
  EXPECT_FAIL("launch grid y 70000", cuLaunchKernel(f, 1, 70000, 1, 32, 1, 1, 0, nullptr, params, nullptr));
  EXPECT_FAIL("launch 1 MiB shared", cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 1u << 20, nullptr, params, nullptr));
  EXPECT_FAIL("launch NULL function", cuLaunchKernel(nullptr, 1, 1, 1, 32, 1, 1, 0, nullptr, params, nullptr));

  // Names and strings.
  const CUresult codes[] = {CUDA_SUCCESS,
                            CUDA_ERROR_INVALID_VALUE,
                            CUDA_ERROR_OUT_OF_MEMORY,
                            CUDA_ERROR_NOT_INITIALIZED,
                            CUDA_ERROR_INVALID_DEVICE,
                            CUDA_ERROR_INVALID_IMAGE,
                            CUDA_ERROR_INVALID_CONTEXT,
                            CUDA_ERROR_INVALID_PTX,
                            CUDA_ERROR_FILE_NOT_FOUND,
                            CUDA_ERROR_INVALID_HANDLE,
                            CUDA_ERROR_NOT_FOUND,
                            CUDA_ERROR_NOT_READY,
                            CUDA_ERROR_ILLEGAL_ADDRESS,
                            CUDA_ERROR_UNKNOWN};
  for (CUresult r : codes) {
    const char* name = nullptr;
    const char* str = nullptr;
    CHECK(cuGetErrorName(r, &name));
    CHECK(cuGetErrorString(r, &str));
    std::printf("%d %s: %s\n", static_cast<int>(r), name, str);
  }
  const char* unknown = "unchanged";
  EXPECT_RES("cuGetErrorName(12345)", cuGetErrorName(static_cast<CUresult>(12345), &unknown),
             CUDA_ERROR_INVALID_VALUE);
  std::printf("unknown name is NULL=%d\n", unknown == nullptr ? 1 : 0);
  unknown = "unchanged";
  EXPECT_RES("cuGetErrorString(12345)", cuGetErrorString(static_cast<CUresult>(12345), &unknown),
             CUDA_ERROR_INVALID_VALUE);
  std::printf("unknown string is NULL=%d\n", unknown == nullptr ? 1 : 0);

  // The context still works.
  CHECK(cuLaunchKernel(f, 1, 1, 1, 128, 1, 1, 0, nullptr, params, nullptr));
  CHECK(cuCtxSynchronize());
  std::vector<int> h(n);
  CHECK(cuMemcpyDtoH(h.data(), good, n * sizeof(int)));
  for (int i = 0; i < n; ++i) EXPECT(h[i] == 3 * i);
  std::printf("context works after the errors: h[99]=%d\n", h[99]);

  CHECK(cuEventDestroy(e1));
  CHECK(cuEventDestroy(e2));
  CHECK(cuMemFree(good));
  CHECK(cuModuleUnload(mod));
  CHECK(cuDevicePrimaryCtxRelease(dev));
  std::printf("errors PASS\n");
  return 0;
}
#endif
