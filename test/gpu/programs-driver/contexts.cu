// contexts: context management through the driver API on device 0.
// Proves the primary context's state before/after cuDevicePrimaryCtxSetFlags, Retain and Release
// (flags and active); cuCtxCreate (with NULL create params) of two more contexts, which each
// become current; cuCtxPopCurrent/cuCtxPushCurrent stacking them (cuCtxGetCurrent at each step);
// per-context modules, allocations and launches whose results stay separate; cuPointerGetAttribute
// (CONTEXT) naming the owning context; cuCtxGetDevice, cuCtxGetFlags (scheduling bits),
// cuCtxGetApiVersion, cuCtxGetId (distinct); cuCtxGetLimit/cuCtxSetLimit for the stack size, the
// printf FIFO and the malloc heap; cuCtxGetCacheConfig/cuCtxSetCacheConfig; cuCtxSynchronize;
// cuCtxDestroy; and INVALID_CONTEXT once no context is current.
// blobs: cubin
#if defined(__CUDACC__)
extern "C" __global__ void fill(unsigned int* p, unsigned int v, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] = v ^ static_cast<unsigned int>(i);
}
#else
#include <vector>

#include "driver_common.h"
#include "drv_blobs.h"

static const int kN = 5000;

static void print_primary_state(const char* when, CUdevice dev) {
  unsigned int flags = 0;
  int active = -1;
  CHECK(cuDevicePrimaryCtxGetState(dev, &flags, &active));
  std::printf("primary %s: flags=0x%x active=%d\n", when, flags, active);
}

// Loads the cubin into the current context and runs fill(buf, v) there.
static CUmodule fill_in_current(CUdeviceptr buf, unsigned int v) {
  CUmodule mod;
  CHECK(cuModuleLoadData(&mod, drv_cubin));
  CUfunction f;
  CHECK(cuModuleGetFunction(&f, mod, "fill"));
  int n = kN;
  void* params[] = {&buf, &v, &n};
  CHECK(cuLaunchKernel(f, (kN + 255) / 256, 1, 1, 256, 1, 1, 0, nullptr, params, nullptr));
  CHECK(cuCtxSynchronize());
  return mod;
}

static void check_buf(const char* label, CUdeviceptr buf, unsigned int v) {
  std::vector<unsigned int> h(kN);
  CHECK(cuMemcpyDtoH(h.data(), buf, kN * sizeof(unsigned int)));
  for (int i = 0; i < kN; ++i) EXPECT(h[i] == (v ^ static_cast<unsigned int>(i)));
  print_hex(label, fnv1a(h.data(), h.size() * sizeof(unsigned int)));
}

static const char* which(CUcontext c, CUcontext primary, CUcontext a, CUcontext b) {
  if (c == nullptr) return "none";
  if (c == primary) return "primary";
  if (c == a) return "A";
  if (c == b) return "B";
  return "other";
}

int main() {
  CHECK(cuInit(0));
  CUdevice dev;
  CHECK(cuDeviceGet(&dev, 0));

  // The primary context: flags can be set while it is inactive; retain activates it.
  print_primary_state("initial", dev);
  CHECK(cuDevicePrimaryCtxSetFlags(dev, CU_CTX_SCHED_BLOCKING_SYNC));
  print_primary_state("after SetFlags(BLOCKING_SYNC)", dev);
  CUcontext primary;
  CHECK(cuDevicePrimaryCtxRetain(&primary, dev));
  print_primary_state("after Retain", dev);
  CHECK(cuCtxSetCurrent(primary));
  unsigned int flags = 0;
  CHECK(cuCtxGetFlags(&flags));
  std::printf("primary cuCtxGetFlags sched=0x%x\n", flags & CU_CTX_SCHED_MASK);
  unsigned int api = 0;
  CHECK(cuCtxGetApiVersion(primary, &api));
  std::printf("primary api_version=%u\n", api);

  // Two created contexts: each becomes current on creation; pop them off again.
  CUcontext a, b, cur, popped;
  CHECK(cuCtxCreate(&a, nullptr, 0, dev));
  CHECK(cuCtxGetCurrent(&cur));
  std::printf("after create A: current=%s\n", which(cur, primary, a, nullptr));
  CHECK(cuCtxPopCurrent(&popped));
  CHECK(cuCtxGetCurrent(&cur));
  std::printf("pop -> %s, current=%s\n", which(popped, primary, a, nullptr),
              which(cur, primary, a, nullptr));
  CHECK(cuCtxCreate(&b, nullptr, CU_CTX_SCHED_YIELD, dev));
  CHECK(cuCtxPopCurrent(&popped));
  std::printf("pop -> %s\n", which(popped, primary, a, b));
  EXPECT(a != b && a != primary && b != primary);
  unsigned long long id_a = 0, id_b = 0;
  CHECK(cuCtxGetId(a, &id_a));
  CHECK(cuCtxGetId(b, &id_b));
  std::printf("ids distinct=%d\n", id_a != id_b ? 1 : 0);
  CHECK(cuCtxGetApiVersion(a, &api));
  std::printf("A api_version=%u\n", api);

  // A on the stack: its own module, memory and launch.
  CHECK(cuCtxPushCurrent(a));
  CHECK(cuCtxGetFlags(&flags));
  std::printf("A sched=0x%x\n", flags & CU_CTX_SCHED_MASK);
  CUdevice d;
  CHECK(cuCtxGetDevice(&d));
  EXPECT(d == dev);
  CUdeviceptr buf_a;
  CHECK(cuMemAlloc(&buf_a, kN * sizeof(unsigned int)));
  CUmodule mod_a = fill_in_current(buf_a, 0xA0A0A0A0u);

  // B pushed above A.
  CHECK(cuCtxPushCurrent(b));
  CHECK(cuCtxGetCurrent(&cur));
  std::printf("after push B: current=%s\n", which(cur, primary, a, b));
  CHECK(cuCtxGetFlags(&flags));
  std::printf("B sched=0x%x\n", flags & CU_CTX_SCHED_MASK);
  CUdeviceptr buf_b;
  CHECK(cuMemAlloc(&buf_b, kN * sizeof(unsigned int)));
  CUmodule mod_b = fill_in_current(buf_b, 0x0B0B0B0Bu);
  CUcontext owner;
  CHECK(cuPointerGetAttribute(&owner, CU_POINTER_ATTRIBUTE_CONTEXT, buf_b));
  std::printf("buf_b owner=%s\n", which(owner, primary, a, b));
  CHECK(cuPointerGetAttribute(&owner, CU_POINTER_ATTRIBUTE_CONTEXT, buf_a));
  std::printf("buf_a owner=%s\n", which(owner, primary, a, b));
  check_buf("buf_b", buf_b, 0x0B0B0B0Bu);

  // Limits and cache configuration, on B.
  const struct { CUlimit l; const char* name; size_t set; } limits[] = {
      {CU_LIMIT_STACK_SIZE, "stack_size", 4096},
      {CU_LIMIT_PRINTF_FIFO_SIZE, "printf_fifo_size", 2u << 20},
      {CU_LIMIT_MALLOC_HEAP_SIZE, "malloc_heap_size", 32u << 20},
  };
  for (const auto& lim : limits) {
    size_t before = 0, after = 0;
    CHECK(cuCtxGetLimit(&before, lim.l));
    CHECK(cuCtxSetLimit(lim.l, lim.set));
    CHECK(cuCtxGetLimit(&after, lim.l));
    std::printf("limit %s: default=%zu set=%zu read_back=%zu\n", lim.name, before, lim.set, after);
    EXPECT(after >= lim.set);
  }
  CUfunc_cache cache;
  CHECK(cuCtxGetCacheConfig(&cache));
  std::printf("cache_config default=%d\n", static_cast<int>(cache));
  CHECK(cuCtxSetCacheConfig(CU_FUNC_CACHE_PREFER_SHARED));
  CHECK(cuCtxGetCacheConfig(&cache));
  std::printf("cache_config after set PREFER_SHARED=%d\n", static_cast<int>(cache));
  // A launch still works with the new limits and cache preference.
  CUmodule mod_b2 = fill_in_current(buf_b, 0x12345678u);
  check_buf("buf_b_again", buf_b, 0x12345678u);

  // Back to A: its buffer kept its own values.
  CHECK(cuCtxPopCurrent(&popped));
  CHECK(cuCtxGetCurrent(&cur));
  std::printf("pop -> %s, current=%s\n", which(popped, primary, a, b), which(cur, primary, a, b));
  check_buf("buf_a", buf_a, 0xA0A0A0A0u);
  CHECK(cuMemFree(buf_a));
  CHECK(cuModuleUnload(mod_a));
  CHECK(cuCtxPopCurrent(&popped));
  CHECK(cuCtxGetCurrent(&cur));
  std::printf("pop -> %s, current=%s\n", which(popped, primary, a, b), which(cur, primary, a, b));

  CHECK(cuCtxPushCurrent(b));
  CHECK(cuMemFree(buf_b));
  CHECK(cuModuleUnload(mod_b));
  CHECK(cuModuleUnload(mod_b2));
  CHECK(cuCtxPopCurrent(&popped));
  CHECK(cuCtxDestroy(a));
  CHECK(cuCtxDestroy(b));

  // The primary context still works, and with no context current, allocation fails.
  CUdeviceptr buf_p;
  CHECK(cuMemAlloc(&buf_p, kN * sizeof(unsigned int)));
  CUmodule mod_p = fill_in_current(buf_p, 0x5555AAAAu);
  check_buf("buf_primary", buf_p, 0x5555AAAAu);
  CHECK(cuMemFree(buf_p));
  CHECK(cuModuleUnload(mod_p));
  CHECK(cuCtxSetCurrent(nullptr));
  CHECK(cuCtxGetCurrent(&cur));
  std::printf("after SetCurrent(NULL): current=%s\n", which(cur, primary, a, b));
  CUdeviceptr none;
  EXPECT_RES("cuMemAlloc_without_context", cuMemAlloc(&none, 256), CUDA_ERROR_INVALID_CONTEXT);
  EXPECT_RES("cuCtxSynchronize_without_context", cuCtxSynchronize(), CUDA_ERROR_INVALID_CONTEXT);

  CHECK(cuDevicePrimaryCtxRelease(dev));
  print_primary_state("after Release", dev);
  std::printf("contexts PASS\n");
  return 0;
}
#endif
