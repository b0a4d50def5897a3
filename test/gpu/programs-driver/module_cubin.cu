// module_cubin: modules from a cubin that nvcc -cubin built from this file's device half, loaded
// twice: from memory (cuModuleLoadData on the bytes embedded at build time) and from the file
// next to the executable (cuModuleLoad on module_cubin.cubin). Proves cuModuleGetFunction,
// cuModuleGetFunctionCount/EnumerateFunctions, cuFuncGetName/GetModule, cuModuleGetGlobal on a
// __device__ variable initialised in the image and on a __constant__ table, that two loads of one
// image have separate globals (a kernel bumps one, the other keeps its value; a host write to one
// constant table changes only that module's results), launches through cuLaunchKernel checked
// against the host, the error codes of missing names, a missing file and a bad image, and
// cuModuleUnload.
// blobs: cubin
#if defined(__CUDACC__)
__device__ int drv_counter = 7;
__constant__ int drv_table[8] = {1, 2, 3, 5, 8, 13, 21, 34};

extern "C" __global__ void saxpy_int(int* y, const int* x, int a, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i] + drv_table[i % 8];
}

extern "C" __global__ void bump(int by) {
  if (threadIdx.x == 0 && blockIdx.x == 0) atomicAdd(&drv_counter, by);
}
#else
#include <algorithm>
#include <vector>

#include "driver_common.h"
#include "drv_blobs.h"

static const int kN = 1000;

// y = a*x + y + table[i%8] on the device through MOD's saxpy_int; returns the checksum and
// checks every element against the host.
static uint64_t run_saxpy(CUmodule mod, int a, const int* table) {
  CUfunction f;
  CHECK(cuModuleGetFunction(&f, mod, "saxpy_int"));
  std::vector<int> x(kN), y(kN), out(kN);
  for (int i = 0; i < kN; ++i) {
    x[i] = i * 3 - 500;
    y[i] = 1000 - i;
  }
  CUdeviceptr dx, dy;
  CHECK(cuMemAlloc(&dx, kN * sizeof(int)));
  CHECK(cuMemAlloc(&dy, kN * sizeof(int)));
  CHECK(cuMemcpyHtoD(dx, x.data(), kN * sizeof(int)));
  CHECK(cuMemcpyHtoD(dy, y.data(), kN * sizeof(int)));
  int n = kN;
  void* params[] = {&dy, &dx, &a, &n};
  CHECK(cuLaunchKernel(f, (kN + 127) / 128, 1, 1, 128, 1, 1, 0, nullptr, params, nullptr));
  CHECK(cuCtxSynchronize());
  CHECK(cuMemcpyDtoH(out.data(), dy, kN * sizeof(int)));
  for (int i = 0; i < kN; ++i) EXPECT(out[i] == a * x[i] + y[i] + table[i % 8]);
  CHECK(cuMemFree(dx));
  CHECK(cuMemFree(dy));
  return fnv1a(out.data(), out.size() * sizeof(int));
}

static int read_counter(CUmodule mod) {
  CUdeviceptr p;
  size_t bytes = 0;
  CHECK(cuModuleGetGlobal(&p, &bytes, mod, "drv_counter"));
  EXPECT(bytes == sizeof(int));
  int v = 0;
  CHECK(cuMemcpyDtoH(&v, p, sizeof v));
  return v;
}

int main() {
  CUdevice dev;
  init_primary(&dev);

  CUmodule from_mem, from_file;
  CHECK(cuModuleLoadData(&from_mem, drv_cubin));
  const std::string path = companion_path(".cubin");
  CHECK(cuModuleLoad(&from_file, path.c_str()));
  std::printf("cubin_bytes_nonzero=%d\n", drv_cubin_size > 0 ? 1 : 0);

  // The functions of the module, by count and enumeration (names sorted: the order is not
  // documented), and each function's module.
  unsigned int count = 0;
  CHECK(cuModuleGetFunctionCount(&count, from_mem));
  std::printf("function_count=%u\n", count);
  EXPECT(count == 2);
  CUfunction fns[2];
  CHECK(cuModuleEnumerateFunctions(fns, count, from_mem));
  std::vector<std::string> names;
  for (unsigned int i = 0; i < count; ++i) {
    const char* nm = nullptr;
    CHECK(cuFuncGetName(&nm, fns[i]));
    names.push_back(nm);
    CUmodule owner;
    CHECK(cuFuncGetModule(&owner, fns[i]));
    EXPECT(owner == from_mem);
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) std::printf("function %s\n", n.c_str());

  // Globals: sizes and initial values, the same in both modules.
  CUdeviceptr table_mem, table_file;
  size_t bytes = 0;
  CHECK(cuModuleGetGlobal(&table_mem, &bytes, from_mem, "drv_table"));
  std::printf("drv_table_bytes=%zu\n", bytes);
  CHECK(cuModuleGetGlobal(&table_file, nullptr, from_file, "drv_table"));
  EXPECT(table_mem != table_file);
  int table[8];
  CHECK(cuMemcpyDtoH(table, table_file, sizeof table));
  std::printf("drv_table=");
  for (int i = 0; i < 8; ++i) std::printf("%d%s", table[i], i < 7 ? "," : "\n");
  std::printf("counter mem=%d file=%d\n", read_counter(from_mem), read_counter(from_file));

  // Launches from both modules, checked element by element.
  print_hex("saxpy_mem", run_saxpy(from_mem, 3, table));
  print_hex("saxpy_file", run_saxpy(from_file, 3, table));

  // Separate globals: bump the counter of one module three times.
  CUfunction bump_mem;
  CHECK(cuModuleGetFunction(&bump_mem, from_mem, "bump"));
  for (int by = 5; by <= 7; ++by) {
    void* params[] = {&by};
    CHECK(cuLaunchKernel(bump_mem, 1, 1, 1, 32, 1, 1, 0, nullptr, params, nullptr));
  }
  CHECK(cuCtxSynchronize());
  const int c_mem = read_counter(from_mem), c_file = read_counter(from_file);
  std::printf("after bump: counter mem=%d file=%d\n", c_mem, c_file);
  EXPECT(c_mem == 7 + 5 + 6 + 7 && c_file == 7);

  // A host write to one module's __constant__ table changes only that module's results.
  int table2[8];
  for (int i = 0; i < 8; ++i) table2[i] = 100 * (i + 1);
  CHECK(cuMemcpyHtoD(table_file, table2, sizeof table2));
  print_hex("saxpy_file_new_table", run_saxpy(from_file, -2, table2));
  print_hex("saxpy_mem_old_table", run_saxpy(from_mem, -2, table));

  // Errors.
  CUfunction f;
  CUdeviceptr p;
  CUmodule m;
  EXPECT_RES("get_function_missing", cuModuleGetFunction(&f, from_mem, "no_such_kernel"),
             CUDA_ERROR_NOT_FOUND);
  EXPECT_RES("get_global_missing", cuModuleGetGlobal(&p, &bytes, from_mem, "no_such_global"),
             CUDA_ERROR_NOT_FOUND);
  EXPECT_RES("load_missing_file", cuModuleLoad(&m, "/nonexistent/vgpu/none.cubin"),
             CUDA_ERROR_FILE_NOT_FOUND);
  static const char kGarbage[] = "\x7f" "ELF this is not a cubin at all, only some bytes";
  EXPECT_FAIL("load_bad_image", cuModuleLoadData(&m, kGarbage));

  CHECK(cuModuleUnload(from_mem));
  CHECK(cuModuleUnload(from_file));
  CHECK(cuDevicePrimaryCtxRelease(dev));
  std::printf("module_cubin PASS\n");
  return 0;
}
#endif
