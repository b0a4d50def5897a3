// ptx_jit_link: PTX compiled by the driver's JIT, and PTX pieces linked by the driver's linker.
// Proves cuModuleLoadData on PTX text (module ptx_jit_link.ptx, made by nvcc -ptx at build time and
// embedded), cuModuleLoadDataEx on PTX with error/info log buffers, LINE_INFO and an optimisation
// level; a broken PTX text fails with a non-empty error log (its name printed); cuLinkCreate with
// log options, cuLinkAddData of two PTX pieces (this file's device half compiled with -rdc, whose
// mix_kernel calls an extern drv_mix, and a hand-written PTX defining drv_mix), cuLinkComplete
// giving an ELF cubin, cuModuleLoadData of it, cuLinkDestroy; the same with cuLinkAddFile on the
// relocatable PTX next to the executable; a link without the second piece fails (undefined
// reference) and a relocatable piece alone does not load.
// blobs: ptx ptxrdc
#if defined(__CUDACC__)
extern "C" __global__ void scale_add(int* out, const int* in, int k, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = in[i] * k + i;
}

#if defined(__CUDACC_RDC__)
// Defined only in the hand-written PTX below (kMixPtx): resolved by cuLink*.
extern "C" __device__ int drv_mix(int x, int y);

extern "C" __global__ void mix_kernel(int* out, const int* in, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = drv_mix(in[i], i);
}
#endif
#else
#include <vector>

#include "driver_common.h"
#include "drv_blobs.h"

// drv_mix(x, y) = (x * 5) ^ y
static const char kMixPtx[] = R"(
.version 8.0
.target sm_90
.address_size 64

.visible .func (.param .b32 func_retval0) drv_mix(
	.param .b32 drv_mix_param_0,
	.param .b32 drv_mix_param_1
)
{
	.reg .b32 	%r<5>;

	ld.param.u32 	%r1, [drv_mix_param_0];
	ld.param.u32 	%r2, [drv_mix_param_1];
	mul.lo.s32 	%r3, %r1, 5;
	xor.b32 	%r4, %r3, %r2;
	st.param.b32 	[func_retval0], %r4;
	ret;
}
)";

// The same with an instruction missing an operand: ptxas rejects it.
static const char kBrokenPtx[] = R"(
.version 8.0
.target sm_90
.address_size 64

.visible .entry broken(.param .u64 broken_param_0)
{
	.reg .b32 	%r<3>;
	mov.u32 	%r1, %tid.x;
	mul.lo.s32 	%r2, %r1;
	ret;
}
)";

static const int kN = 3000;

// Runs KERNEL of MOD (scale_add with k=7, or mix_kernel) and checks it on the host.
static void run(const char* label, CUmodule mod, bool mix) {
  CUfunction f;
  CHECK(cuModuleGetFunction(&f, mod, mix ? "mix_kernel" : "scale_add"));
  std::vector<int> in(kN), out(kN);
  for (int i = 0; i < kN; ++i) in[i] = (i * 37) % 1001 - 500;
  CUdeviceptr din, dout;
  CHECK(cuMemAlloc(&din, kN * sizeof(int)));
  CHECK(cuMemAlloc(&dout, kN * sizeof(int)));
  CHECK(cuMemcpyHtoD(din, in.data(), kN * sizeof(int)));
  int n = kN, k = 7;
  void* p_scale[] = {&dout, &din, &k, &n};
  void* p_mix[] = {&dout, &din, &n};
  CHECK(cuLaunchKernel(f, (kN + 127) / 128, 1, 1, 128, 1, 1, 0, nullptr, mix ? p_mix : p_scale,
                       nullptr));
  CHECK(cuCtxSynchronize());
  CHECK(cuMemcpyDtoH(out.data(), dout, kN * sizeof(int)));
  for (int i = 0; i < kN; ++i) EXPECT(out[i] == (mix ? ((in[i] * 5) ^ i) : in[i] * 7 + i));
  CHECK(cuMemFree(din));
  CHECK(cuMemFree(dout));
  print_hex(label, fnv1a(out.data(), out.size() * sizeof(int)));
}

struct Logs {
  char info[8192];
  char err[8192];
  CUjit_option opts[5];
  void* vals[5];
  Logs() {
    std::memset(info, 0, sizeof info);
    std::memset(err, 0, sizeof err);
    opts[0] = CU_JIT_INFO_LOG_BUFFER, vals[0] = info;
    opts[1] = CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES, vals[1] = reinterpret_cast<void*>(sizeof info);
    opts[2] = CU_JIT_ERROR_LOG_BUFFER, vals[2] = err;
    opts[3] = CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, vals[3] = reinterpret_cast<void*>(sizeof err);
    opts[4] = CU_JIT_LOG_VERBOSE, vals[4] = reinterpret_cast<void*>(1);
  }
};

// Links the relocatable PTX (from memory, or from the file next to the executable) with
// kMixPtx (when WITH_MIX) and returns the CUresult of cuLinkComplete; on success loads the
// cubin into *MOD before destroying the link state.
static CUresult link(bool from_file, bool with_mix, CUmodule* mod, Logs* logs) {
  CUlinkState ls;
  CHECK(cuLinkCreate(5, logs->opts, logs->vals, &ls));
  if (from_file) {
    const std::string path = companion_path(".rdc.ptx");
    CHECK(cuLinkAddFile(ls, CU_JIT_INPUT_PTX, path.c_str(), 0, nullptr, nullptr));
  } else {
    CHECK(cuLinkAddData(ls, CU_JIT_INPUT_PTX, const_cast<unsigned char*>(drv_ptxrdc),
                        drv_ptxrdc_size + 1, "ptx_jit_link.rdc.ptx", 0, nullptr, nullptr));
  }
  if (with_mix) {
    CHECK(cuLinkAddData(ls, CU_JIT_INPUT_PTX, const_cast<char*>(kMixPtx), sizeof kMixPtx,
                        "mix.ptx", 0, nullptr, nullptr));
  }
  void* cubin = nullptr;
  size_t cubin_size = 0;
  CUresult r = cuLinkComplete(ls, &cubin, &cubin_size);
  if (r == CUDA_SUCCESS) {
    EXPECT(cubin != nullptr && cubin_size > 4);
    std::printf("linked cubin is ELF=%d\n", std::memcmp(cubin, "\x7f" "ELF", 4) == 0 ? 1 : 0);
    CHECK(cuModuleLoadData(mod, cubin));  // before cuLinkDestroy frees the cubin
  }
  CHECK(cuLinkDestroy(ls));
  return r;
}

int main() {
  CUdevice dev;
  init_primary(&dev);

  // Plain PTX text: JIT with no options, then with log buffers and options.
  CUmodule plain, ex;
  CHECK(cuModuleLoadData(&plain, drv_ptx));
  run("ptx_LoadData", plain, false);
  {
    Logs logs;
    CUjit_option opts[7];
    void* vals[7];
    for (int i = 0; i < 5; ++i) opts[i] = logs.opts[i], vals[i] = logs.vals[i];
    opts[5] = CU_JIT_GENERATE_LINE_INFO, vals[5] = reinterpret_cast<void*>(1);
    opts[6] = CU_JIT_OPTIMIZATION_LEVEL, vals[6] = reinterpret_cast<void*>(2);
    CHECK(cuModuleLoadDataEx(&ex, drv_ptx, 7, opts, vals));
    std::printf("ptx_LoadDataEx: error_log_empty=%d\n", logs.err[0] == '\0' ? 1 : 0);
    run("ptx_LoadDataEx", ex, false);
  }

  // A broken PTX: an error, and the error log says why.
  {
    Logs logs;
    CUmodule bad;
    EXPECT_FAIL("broken_ptx", cuModuleLoadDataEx(&bad, kBrokenPtx, 5, logs.opts, logs.vals));
    std::printf("broken_ptx: error_log_nonempty=%d\n", logs.err[0] != '\0' ? 1 : 0);
    EXPECT(logs.err[0] != '\0');
  }

  // A relocatable piece alone: drv_mix is unresolved.
  {
    CUmodule bad;
    EXPECT_FAIL("rdc_ptx_alone", cuModuleLoadData(&bad, drv_ptxrdc));
  }

  // Two PTX pieces linked by the driver, from memory and from the file.
  CUmodule linked_mem, linked_file;
  {
    Logs logs;
    CHECK(link(false, true, &linked_mem, &logs));
    std::printf("link_data: error_log_empty=%d\n", logs.err[0] == '\0' ? 1 : 0);
  }
  run("linked_mem_mix", linked_mem, true);
  run("linked_mem_scale_add", linked_mem, false);
  {
    Logs logs;
    CHECK(link(true, true, &linked_file, &logs));
  }
  run("linked_file_mix", linked_file, true);

  // Without the piece defining drv_mix the link fails, with a message in the error log.
  {
    Logs logs;
    CUmodule none;
    EXPECT_FAIL("link_missing_symbol", link(false, false, &none, &logs));
    std::printf("link_missing_symbol: error_log_nonempty=%d\n", logs.err[0] != '\0' ? 1 : 0);
    EXPECT(logs.err[0] != '\0');
  }

  for (CUmodule m : {plain, ex, linked_mem, linked_file}) CHECK(cuModuleUnload(m));
  CHECK(cuDevicePrimaryCtxRelease(dev));
  std::printf("ptx_jit_link PASS\n");
  return 0;
}
#endif
