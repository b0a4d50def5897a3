// module_fatbin: modules from fat binaries made by nvcc -fatbin from this file's device half:
// module_fatbin.fatbin (sm_90 SASS + compute_90 PTX) and module_fatbin.ptx.fatbin (PTX only, so
// the driver must JIT-compile it). Proves cuModuleLoadFatBinary on both, cuModuleLoadData and
// cuModuleLoad (the file next to the executable) on the full one, and cuModuleLoadDataEx with JIT
// options on both (info/error log buffers and their sizes, LOG_VERBOSE, OPTIMIZATION_LEVEL,
// TARGET_FROM_CUCONTEXT, WALL_TIME, and MAX_REGISTERS=32, whose effect shows in
// CU_FUNC_ATTRIBUTE_NUM_REGS). Every module runs the same kernel on the same input and must give
// the host's result; PTX and binary versions are printed per module.
// blobs: fatbin ptxfat
#if defined(__CUDACC__)
// A polynomial in 64-bit integers with enough live values to want more than 32 registers.
extern "C" __global__ void poly(long long* out, const int* in, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  long long x = in[i];
  long long a = x * 3 + 1, b = x * x - 7, c = (x ^ 0x5a5a) + 11, d = x * 13 - 2;
  long long e = a * b + c * d, f = (a - c) * (b + d), g = e ^ f, h = (g >> 3) + a;
  out[i] = a + 2 * b + 3 * c + 5 * d + 7 * e + 11 * f + 13 * g + 17 * h;
}
#else
#include <vector>

#include "driver_common.h"
#include "drv_blobs.h"

static const int kN = 4099;

static long long host_poly(long long x) {
  long long a = x * 3 + 1, b = x * x - 7, c = (x ^ 0x5a5a) + 11, d = x * 13 - 2;
  long long e = a * b + c * d, f = (a - c) * (b + d), g = e ^ f, h = (g >> 3) + a;
  return a + 2 * b + 3 * c + 5 * d + 7 * e + 11 * f + 13 * g + 17 * h;
}

// Runs MOD's poly over the input, checks it against the host and prints LABEL's versions,
// register limit and checksum.
static void run_poly(const char* label, CUmodule mod, int max_regs) {
  CUfunction f;
  CHECK(cuModuleGetFunction(&f, mod, "poly"));
  int ptx = 0, bin = 0, regs = 0;
  CHECK(cuFuncGetAttribute(&ptx, CU_FUNC_ATTRIBUTE_PTX_VERSION, f));
  CHECK(cuFuncGetAttribute(&bin, CU_FUNC_ATTRIBUTE_BINARY_VERSION, f));
  CHECK(cuFuncGetAttribute(&regs, CU_FUNC_ATTRIBUTE_NUM_REGS, f));
  std::vector<int> in(kN);
  for (int i = 0; i < kN; ++i) in[i] = (i * 7919) % 20011 - 10000;
  CUdeviceptr din, dout;
  CHECK(cuMemAlloc(&din, kN * sizeof(int)));
  CHECK(cuMemAlloc(&dout, kN * sizeof(long long)));
  CHECK(cuMemcpyHtoD(din, in.data(), kN * sizeof(int)));
  CHECK(cuMemsetD8(dout, 0, kN * sizeof(long long)));
  int n = kN;
  void* params[] = {&dout, &din, &n};
  CHECK(cuLaunchKernel(f, (kN + 255) / 256, 1, 1, 256, 1, 1, 0, nullptr, params, nullptr));
  CHECK(cuCtxSynchronize());
  std::vector<long long> out(kN);
  CHECK(cuMemcpyDtoH(out.data(), dout, kN * sizeof(long long)));
  for (int i = 0; i < kN; ++i) EXPECT(out[i] == host_poly(in[i]));
  CHECK(cuMemFree(din));
  CHECK(cuMemFree(dout));
  std::printf("%s: ptx_version=%d binary_version=%d regs_le_limit=%d checksum=0x%016llx\n", label,
              ptx, bin, max_regs > 0 ? (regs <= max_regs ? 1 : 0) : 1,
              static_cast<unsigned long long>(fnv1a(out.data(), out.size() * sizeof(long long))));
  EXPECT(max_regs == 0 || regs <= max_regs);
}

// cuModuleLoadDataEx with log buffers and the given extra options.
static CUmodule load_ex(const char* label, const void* image, int max_regs) {
  static char info[8192], err[8192];
  std::memset(info, 0, sizeof info);
  std::memset(err, 0, sizeof err);
  CUjit_option opts[9];
  void* vals[9];
  unsigned int n = 0;
  opts[n] = CU_JIT_INFO_LOG_BUFFER, vals[n++] = info;
  opts[n] = CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES, vals[n++] = reinterpret_cast<void*>(sizeof info);
  opts[n] = CU_JIT_ERROR_LOG_BUFFER, vals[n++] = err;
  opts[n] = CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, vals[n++] = reinterpret_cast<void*>(sizeof err);
  opts[n] = CU_JIT_LOG_VERBOSE, vals[n++] = reinterpret_cast<void*>(1);
  opts[n] = CU_JIT_OPTIMIZATION_LEVEL, vals[n++] = reinterpret_cast<void*>(3);
  opts[n] = CU_JIT_TARGET_FROM_CUCONTEXT, vals[n++] = nullptr;
  const unsigned int wall = n;
  opts[n] = CU_JIT_WALL_TIME, vals[n++] = nullptr;
  if (max_regs > 0) opts[n] = CU_JIT_MAX_REGISTERS, vals[n++] = reinterpret_cast<void*>(static_cast<uintptr_t>(max_regs));
  CUmodule mod;
  CHECK(cuModuleLoadDataEx(&mod, image, n, opts, vals));
  // The size options come back as the number of bytes written; the wall time as a float.
  const size_t info_used = reinterpret_cast<size_t>(vals[1]);
  const size_t err_used = reinterpret_cast<size_t>(vals[3]);
  float wall_ms = 0.0f;
  std::memcpy(&wall_ms, &vals[wall], sizeof wall_ms);
  std::printf("%s: loaded info_log_within_buffer=%d error_log_empty=%d wall_time_nonneg=%d\n",
              label, info_used <= sizeof info ? 1 : 0, err[0] == '\0' ? 1 : 0,
              wall_ms >= 0.0f ? 1 : 0);
  EXPECT(info_used <= sizeof info && err_used <= sizeof err);
  return mod;
}

int main() {
  CUdevice dev;
  init_primary(&dev);
  std::printf("fatbin magic=0x%08x ptxfat magic=0x%08x\n",
              *reinterpret_cast<const uint32_t*>(drv_fatbin),
              *reinterpret_cast<const uint32_t*>(drv_ptxfat));

  CUmodule fat, fat_ptx, data, file, ex_fat, ex_ptx, ex_ptx_regs;
  CHECK(cuModuleLoadFatBinary(&fat, drv_fatbin));
  run_poly("LoadFatBinary(sass+ptx)", fat, 0);
  CHECK(cuModuleLoadFatBinary(&fat_ptx, drv_ptxfat));
  run_poly("LoadFatBinary(ptx only)", fat_ptx, 0);
  CHECK(cuModuleLoadData(&data, drv_fatbin));
  run_poly("LoadData(sass+ptx)", data, 0);
  const std::string path = companion_path(".fatbin");
  CHECK(cuModuleLoad(&file, path.c_str()));
  run_poly("Load(file)", file, 0);
  ex_fat = load_ex("LoadDataEx(sass+ptx)", drv_fatbin, 0);
  run_poly("LoadDataEx(sass+ptx)", ex_fat, 0);
  ex_ptx = load_ex("LoadDataEx(ptx only)", drv_ptxfat, 0);
  run_poly("LoadDataEx(ptx only)", ex_ptx, 0);
  ex_ptx_regs = load_ex("LoadDataEx(ptx only, max 32 regs)", drv_ptxfat, 32);
  run_poly("LoadDataEx(ptx only, max 32 regs)", ex_ptx_regs, 32);

  for (CUmodule m : {fat, fat_ptx, data, file, ex_fat, ex_ptx, ex_ptx_regs}) CHECK(cuModuleUnload(m));
  CHECK(cuDevicePrimaryCtxRelease(dev));
  std::printf("module_fatbin PASS\n");
  return 0;
}
#endif
