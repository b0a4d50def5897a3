// proc_address: driver entry points found through cuGetProcAddress and called through the
// returned pointers only (as NVIDIA's runtime and the frameworks find the driver).
// Proves cuGetProcAddress (the _v2 form with symbolStatus) with cudaVersion 13000 and 12000, the
// DEFAULT, LEGACY_STREAM and PER_THREAD_DEFAULT_STREAM flags; calls cuDriverGetVersion,
// cuDeviceGet, cuDeviceGetName, cuCtxCreate (v4 ABI), cuModuleLoadData, cuModuleGetFunction,
// cuMemAlloc, cuMemcpyHtoD, the per-thread cuLaunchKernel and cuStreamSynchronize,
// cuMemcpyDtoH, cuMemFree, cuGetErrorName and cuGetProcAddress itself through what it returned;
// prints symbolStatus for a found symbol, an unknown one (SYMBOL_NOT_FOUND) and one newer than the
// requested version (cuMemAllocAsync at 10000: VERSION_NOT_SUFFICIENT).
// As cuda.h documents cuGetProcAddress, a symbol that is unknown, or has no version for the
// requested cudaVersion, is not an error: the call returns CUDA_SUCCESS with *pfn set to NULL, and
// only symbolStatus tells the two apart. (An error is for bad arguments, e.g. a cudaVersion newer
// than the driver: CUDA_ERROR_INVALID_VALUE.)
// blobs: cubin
#if defined(__CUDACC__)
extern "C" __global__ void square(int* p, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] = p[i] * p[i];
}
#else
#include <vector>

#include "driver_common.h"
#include "drv_blobs.h"

typedef CUresult (*PFN_driverGetVersion)(int*);
typedef CUresult (*PFN_deviceGet)(CUdevice*, int);
typedef CUresult (*PFN_deviceGetName)(char*, int, CUdevice);
typedef CUresult (*PFN_ctxCreate_v4)(CUcontext*, CUctxCreateParams*, unsigned int, CUdevice);
typedef CUresult (*PFN_ctxDestroy)(CUcontext);
typedef CUresult (*PFN_moduleLoadData)(CUmodule*, const void*);
typedef CUresult (*PFN_moduleGetFunction)(CUfunction*, CUmodule, const char*);
typedef CUresult (*PFN_memAlloc)(CUdeviceptr*, size_t);
typedef CUresult (*PFN_memFree)(CUdeviceptr);
typedef CUresult (*PFN_memcpyHtoD)(CUdeviceptr, const void*, size_t);
typedef CUresult (*PFN_memcpyDtoH)(void*, CUdeviceptr, size_t);
typedef CUresult (*PFN_launchKernel)(CUfunction, unsigned int, unsigned int, unsigned int,
                                     unsigned int, unsigned int, unsigned int, unsigned int,
                                     CUstream, void**, void**);
typedef CUresult (*PFN_streamSynchronize)(CUstream);
typedef CUresult (*PFN_getErrorName)(CUresult, const char**);
typedef CUresult (*PFN_getProcAddress)(const char*, void**, int, cuuint64_t,
                                       CUdriverProcAddressQueryResult*);

static const char* flag_name(cuuint64_t f) {
  switch (f) {
    case CU_GET_PROC_ADDRESS_DEFAULT: return "DEFAULT";
    case CU_GET_PROC_ADDRESS_LEGACY_STREAM: return "LEGACY_STREAM";
    case CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM: return "PER_THREAD_DEFAULT_STREAM";
  }
  return "?";
}

static const char* status_name(CUdriverProcAddressQueryResult s) {
  switch (s) {
    case CU_GET_PROC_ADDRESS_SUCCESS: return "SUCCESS";
    case CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND: return "SYMBOL_NOT_FOUND";
    case CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT: return "VERSION_NOT_SUFFICIENT";
  }
  return "?";
}

// Looks SYMBOL up; prints the result, symbolStatus and whether a pointer came back. The call must
// succeed whether or not the symbol is there (see above); symbolStatus must be EXPECT_STATUS, and
// a pointer comes back exactly when it is SUCCESS.
static void* lookup(const char* symbol, int version, cuuint64_t flags,
                    CUdriverProcAddressQueryResult expect_status = CU_GET_PROC_ADDRESS_SUCCESS) {
  void* pfn = nullptr;
  CUdriverProcAddressQueryResult status = static_cast<CUdriverProcAddressQueryResult>(-1);
  CUresult r = cuGetProcAddress(symbol, &pfn, version, flags, &status);
  std::printf("cuGetProcAddress(%s, %d, %s) = %s, symbolStatus=%s, pfn=%s\n", symbol, version,
              flag_name(flags), cu_name(r), status_name(status), pfn ? "set" : "NULL");
  EXPECT(r == CUDA_SUCCESS);
  EXPECT(status == expect_status);
  EXPECT((status == CU_GET_PROC_ADDRESS_SUCCESS) == (pfn != nullptr));
  return pfn;
}

#define LOOKUP(type, sym, ver, flags) reinterpret_cast<type>(lookup(sym, ver, flags))

int main() {
  CHECK(cuInit(0));
  const cuuint64_t D = CU_GET_PROC_ADDRESS_DEFAULT;
  auto getVersion = LOOKUP(PFN_driverGetVersion, "cuDriverGetVersion", 13000, D);
  auto deviceGet = LOOKUP(PFN_deviceGet, "cuDeviceGet", 13000, D);
  auto deviceGetName = LOOKUP(PFN_deviceGetName, "cuDeviceGetName", 12000, D);
  auto ctxCreate = LOOKUP(PFN_ctxCreate_v4, "cuCtxCreate", 13000, D);
  auto ctxDestroy = LOOKUP(PFN_ctxDestroy, "cuCtxDestroy", 13000, D);
  auto loadData = LOOKUP(PFN_moduleLoadData, "cuModuleLoadData", 13000, D);
  auto getFunction = LOOKUP(PFN_moduleGetFunction, "cuModuleGetFunction", 13000, D);
  auto memAlloc = LOOKUP(PFN_memAlloc, "cuMemAlloc", 13000, D);
  auto memFree = LOOKUP(PFN_memFree, "cuMemFree", 12000, D);
  auto htod = LOOKUP(PFN_memcpyHtoD, "cuMemcpyHtoD", 13000, CU_GET_PROC_ADDRESS_LEGACY_STREAM);
  auto dtoh = LOOKUP(PFN_memcpyDtoH, "cuMemcpyDtoH", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM);
  auto launch = LOOKUP(PFN_launchKernel, "cuLaunchKernel", 13000, CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM);
  auto sync = LOOKUP(PFN_streamSynchronize, "cuStreamSynchronize", 13000,
                     CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM);
  auto errName = LOOKUP(PFN_getErrorName, "cuGetErrorName", 13000, D);
  auto gpa = LOOKUP(PFN_getProcAddress, "cuGetProcAddress", 13000, D);
  lookup("cuNoSuchFunctionAnywhere", 13000, D, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
  lookup("cuMemAllocAsync", 10000, D, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);  // new in 11.2

  // Everything below goes through the looked-up pointers.
  int version = 0;
  CHECK(getVersion(&version));
  std::printf("driver version=%d\n", version);
  CUdevice dev;
  CHECK(deviceGet(&dev, 0));
  char name[256] = {0};
  CHECK(deviceGetName(name, sizeof name, dev));
  std::printf("device name non-empty=%d\n", name[0] != '\0' ? 1 : 0);
  CUcontext ctx;
  CHECK(ctxCreate(&ctx, nullptr, 0, dev));
  CUmodule mod;
  CHECK(loadData(&mod, drv_cubin));
  CUfunction f;
  CHECK(getFunction(&f, mod, "square"));
  const int n = 1000;
  std::vector<int> h(n);
  for (int i = 0; i < n; ++i) h[i] = i - 500;
  CUdeviceptr d;
  CHECK(memAlloc(&d, n * sizeof(int)));
  CHECK(htod(d, h.data(), n * sizeof(int)));
  int nn = n;
  void* params[] = {&d, &nn};
  CHECK(launch(f, (n + 127) / 128, 1, 1, 128, 1, 1, 0, nullptr, params, nullptr));
  CHECK(sync(nullptr));
  CHECK(dtoh(h.data(), d, n * sizeof(int)));
  for (int i = 0; i < n; ++i) EXPECT(h[i] == (i - 500) * (i - 500));
  print_hex("squares", fnv1a(h.data(), h.size() * sizeof(int)));
  CHECK(memFree(d));

  const char* en = nullptr;
  CHECK(errName(CUDA_ERROR_ILLEGAL_ADDRESS, &en));
  std::printf("via pointer: cuGetErrorName(700)=%s\n", en);
  void* again = nullptr;
  CUdriverProcAddressQueryResult st;
  CHECK(gpa("cuMemAlloc", &again, 13000, D, &st));
  std::printf("cuGetProcAddress through itself: status=%s same_pointer=%d\n", status_name(st),
              again == reinterpret_cast<void*>(memAlloc) ? 1 : 0);

  CHECK(cuModuleUnload(mod));
  CHECK(ctxDestroy(ctx));
  std::printf("proc_address PASS\n");
  return 0;
}
#endif
