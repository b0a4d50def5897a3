// library_api: the context-independent library API on a cubin built from this file's device half.
// Proves cuLibraryLoadData before any context exists (and cuLibraryLoadFromFile on the cubin next
// to the executable, with CU_LIBRARY_BINARY_IS_PRESERVED), cuLibraryGetKernelCount,
// cuLibraryEnumerateKernels, cuKernelGetName, cuKernelGetLibrary, cuLibraryGetKernel,
// cuKernelGetFunction, cuLibraryGetModule + cuModuleGetFunction, cuLibraryGetGlobal (an
// initialised __device__ variable, separate per library), cuKernelGetAttribute (max threads from
// __launch_bounds__, static/dynamic shared sizes, PTX/binary version), cuKernelSetAttribute
// (max dynamic shared memory: a 64 KiB launch fails before and works after), a CUkernel launched
// directly through cuLaunchKernel, and NOT_FOUND for missing names.
// blobs: cubin
#if defined(__CUDACC__)
__device__ int lib_acc = 100;

// Each block sums `count` ints staged through dynamic shared memory; out[blockIdx.x] = sum.
extern "C" __global__ void __launch_bounds__(256) dyn_sum(long long* out, const int* in,
                                                           int count) {
  extern __shared__ int buf[];
  const int* src = in + static_cast<long long>(blockIdx.x) * count;
  for (int i = threadIdx.x; i < count; i += blockDim.x) buf[i] = src[i] * 2 + 1;
  __syncthreads();
  if (threadIdx.x == 0) {
    long long s = 0;
    for (int i = 0; i < count; ++i) s += buf[i];
    out[blockIdx.x] = s;
  }
}

extern "C" __global__ void add_global(int v) { atomicAdd(&lib_acc, v); }
#else
#include <algorithm>
#include <vector>

#include "driver_common.h"
#include "drv_blobs.h"

static const int kBlocks = 8;

// Launches F (a CUfunction, or a CUkernel cast to one) with COUNT ints per block staged in
// dynamic shared memory; returns the launch result and, on success, checks the sums.
static CUresult launch_dyn_sum(CUfunction f, int count) {
  std::vector<int> in(static_cast<size_t>(kBlocks) * count);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int>((i * 2654435761u) % 1000);
  CUdeviceptr din, dout;
  CHECK(cuMemAlloc(&din, in.size() * sizeof(int)));
  CHECK(cuMemAlloc(&dout, kBlocks * sizeof(long long)));
  CHECK(cuMemcpyHtoD(din, in.data(), in.size() * sizeof(int)));
  void* params[] = {&dout, &din, &count};
  CUresult r = cuLaunchKernel(f, kBlocks, 1, 1, 256, 1, 1,
                              static_cast<unsigned int>(count * sizeof(int)), nullptr, params,
                              nullptr);
  if (r == CUDA_SUCCESS) {
    CHECK(cuCtxSynchronize());
    long long out[kBlocks];
    CHECK(cuMemcpyDtoH(out, dout, sizeof out));
    for (int b = 0; b < kBlocks; ++b) {
      long long s = 0;
      for (int i = 0; i < count; ++i) s += in[static_cast<size_t>(b) * count + i] * 2 + 1;
      EXPECT(out[b] == s);
    }
    std::printf("dyn_sum count=%d smem=%zu: sums ok, block0=%lld\n", count, count * sizeof(int),
                out[0]);
  }
  CHECK(cuMemFree(din));
  CHECK(cuMemFree(dout));
  return r;
}

static int read_acc(CUlibrary lib) {
  CUdeviceptr g;
  size_t bytes = 0;
  CHECK(cuLibraryGetGlobal(&g, &bytes, lib, "lib_acc"));
  EXPECT(bytes == sizeof(int));
  int v = 0;
  CHECK(cuMemcpyDtoH(&v, g, sizeof v));
  return v;
}

int main() {
  CHECK(cuInit(0));
  CUdevice dev;
  CHECK(cuDeviceGet(&dev, 0));

  // Loaded before any context exists: libraries are context-independent.
  CUlibrary lib, lib_file;
  CHECK(cuLibraryLoadData(&lib, drv_cubin, nullptr, nullptr, 0, nullptr, nullptr, 0));
  unsigned int count = 0;
  CHECK(cuLibraryGetKernelCount(&count, lib));
  std::printf("kernel_count=%u\n", count);
  EXPECT(count == 2);
  CUkernel ks[2];
  CHECK(cuLibraryEnumerateKernels(ks, count, lib));
  std::vector<std::string> names;
  for (unsigned int i = 0; i < count; ++i) {
    const char* nm = nullptr;
    CHECK(cuKernelGetName(&nm, ks[i]));
    names.push_back(nm);
    CUlibrary owner;
    CHECK(cuKernelGetLibrary(&owner, ks[i]));
    EXPECT(owner == lib);
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) std::printf("kernel %s\n", n.c_str());
  CUkernel k_sum, k_add;
  CHECK(cuLibraryGetKernel(&k_sum, lib, "dyn_sum"));
  CHECK(cuLibraryGetKernel(&k_add, lib, "add_global"));

  // Now a context: the library's module, functions and global in it.
  CUcontext ctx;
  CHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
  CHECK(cuCtxSetCurrent(ctx));
  // Attributes of a CUkernel, per device.
  const struct { CUfunction_attribute a; const char* name; } attrs[] = {
      {CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, "max_threads_per_block"},
      {CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, "static_shared_bytes"},
      {CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, "max_dynamic_shared_bytes"},
      {CU_FUNC_ATTRIBUTE_PTX_VERSION, "ptx_version"},
      {CU_FUNC_ATTRIBUTE_BINARY_VERSION, "binary_version"},
  };
  for (const auto& at : attrs) {
    int v = -1;
    CHECK(cuKernelGetAttribute(&v, at.a, k_sum, dev));
    std::printf("dyn_sum %s=%d\n", at.name, v);
  }

  CUfunction f_sum, f_mod;
  CHECK(cuKernelGetFunction(&f_sum, k_sum));
  const char* fname = nullptr;
  CHECK(cuFuncGetName(&fname, f_sum));
  std::printf("cuKernelGetFunction name=%s\n", fname);
  CUmodule mod;
  CHECK(cuLibraryGetModule(&mod, lib));
  CHECK(cuModuleGetFunction(&f_mod, mod, "add_global"));
  std::printf("lib_acc initial=%d\n", read_acc(lib));

  // Launches: the CUfunction, the CUkernel itself, and 64 KiB of dynamic shared memory only
  // after cuKernelSetAttribute.
  CHECK(launch_dyn_sum(f_sum, 4000));
  CHECK(launch_dyn_sum(reinterpret_cast<CUfunction>(k_sum), 8000));
  EXPECT_FAIL("launch_64KiB_before_set", launch_dyn_sum(reinterpret_cast<CUfunction>(k_sum), 16384));
  CHECK(cuKernelSetAttribute(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 65536, k_sum, dev));
  int max_dyn = 0;
  CHECK(cuKernelGetAttribute(&max_dyn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, k_sum, dev));
  std::printf("after set: max_dynamic_shared_bytes=%d\n", max_dyn);
  CHECK(launch_dyn_sum(reinterpret_cast<CUfunction>(k_sum), 16384));

  // The global through a CUkernel launch and a module-function launch.
  int v1 = 5, v2 = 11;
  void* p1[] = {&v1};
  void* p2[] = {&v2};
  CHECK(cuLaunchKernel(reinterpret_cast<CUfunction>(k_add), 3, 1, 1, 1, 1, 1, 0, nullptr, p1, nullptr));
  CHECK(cuLaunchKernel(f_mod, 2, 1, 1, 1, 1, 1, 0, nullptr, p2, nullptr));
  CHECK(cuCtxSynchronize());
  const int acc = read_acc(lib);
  std::printf("lib_acc after launches=%d\n", acc);
  EXPECT(acc == 100 + 3 * 5 + 2 * 11);

  // A second library from the file: its own global.
  const std::string path = companion_path(".cubin");
  CHECK(cuLibraryLoadFromFile(&lib_file, path.c_str(), nullptr, nullptr, 0, nullptr, nullptr, 0));
  CUkernel k_add_file;
  CHECK(cuLibraryGetKernel(&k_add_file, lib_file, "add_global"));
  CHECK(cuLaunchKernel(reinterpret_cast<CUfunction>(k_add_file), 1, 1, 1, 1, 1, 1, 0, nullptr, p1,
                       nullptr));
  CHECK(cuCtxSynchronize());
  std::printf("lib_acc file=%d data=%d\n", read_acc(lib_file), read_acc(lib));
  EXPECT(read_acc(lib_file) == 105 && read_acc(lib) == acc);

  // Missing names.
  CUkernel kk;
  CUdeviceptr g;
  size_t bytes;
  EXPECT_RES("get_kernel_missing", cuLibraryGetKernel(&kk, lib, "no_such_kernel"), CUDA_ERROR_NOT_FOUND);
  EXPECT_RES("get_global_missing", cuLibraryGetGlobal(&g, &bytes, lib, "no_such_global"),
             CUDA_ERROR_NOT_FOUND);

  CHECK(cuLibraryUnload(lib_file));
  CHECK(cuLibraryUnload(lib));
  CHECK(cuDevicePrimaryCtxRelease(dev));
  std::printf("library_api PASS\n");
  return 0;
}
#endif
