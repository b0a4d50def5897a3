// multi_thread: several host threads using the driver API at once.
// Proves that six threads, each making the primary context current with cuCtxSetCurrent (it is
// current only in the thread that set it: a new thread starts with none), each with its own
// non-blocking stream, module function and buffers, can queue copies and 20 launches at the same
// time with correct, separate results; that a seventh thread with its own cuCtxCreate'd context
// (its own module) works alongside them; and that cuCtxGetCurrent in each thread reports its own
// context. Each thread's result is stored and printed by the main thread in a fixed order.
// blobs: cubin
#if defined(__CUDACC__)
extern "C" __global__ void step(unsigned int* p, unsigned int k, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] = p[i] * 1664525u + k + static_cast<unsigned int>(i);
}
#else
#include <thread>
#include <vector>

#include "driver_common.h"
#include "drv_blobs.h"

static const int kThreads = 6;
static const int kN = 1 << 16;
static const int kRounds = 20;

struct Result {
  int had_context_at_start = -1;
  int current_is_expected = 0;
  uint64_t checksum = 0;
  int ok = 0;
};

static std::vector<unsigned int> host_model(unsigned int seed) {
  std::vector<unsigned int> v(kN);
  for (int i = 0; i < kN; ++i) v[i] = seed + static_cast<unsigned int>(i) * 7u;
  for (int r = 0; r < kRounds; ++r)
    for (int i = 0; i < kN; ++i) v[i] = v[i] * 1664525u + static_cast<unsigned int>(r) + seed + static_cast<unsigned int>(i);
  return v;
}

// The work of one thread in context CTX (already current in this thread): its own stream, buffer
// and function (from MOD, or from a module it loads itself when MOD is NULL).
static void work(CUcontext ctx, CUmodule mod, unsigned int seed, Result* res) {
  CUcontext cur = nullptr;
  CHECK(cuCtxGetCurrent(&cur));
  res->current_is_expected = cur == ctx ? 1 : 0;
  bool own_module = mod == nullptr;
  if (own_module) CHECK(cuModuleLoadData(&mod, drv_cubin));
  CUfunction f;
  CHECK(cuModuleGetFunction(&f, mod, "step"));
  CUstream s;
  CHECK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
  CUdeviceptr d;
  CHECK(cuMemAlloc(&d, kN * sizeof(unsigned int)));
  std::vector<unsigned int> h(kN);
  for (int i = 0; i < kN; ++i) h[i] = seed + static_cast<unsigned int>(i) * 7u;
  CHECK(cuMemcpyHtoDAsync(d, h.data(), kN * sizeof(unsigned int), s));
  CHECK(cuStreamSynchronize(s));  // pageable source: keep h alive and unchanged until done
  int n = kN;
  for (int r = 0; r < kRounds; ++r) {
    unsigned int k = static_cast<unsigned int>(r) + seed;
    void* params[] = {&d, &k, &n};
    CHECK(cuLaunchKernel(f, kN / 256, 1, 1, 256, 1, 1, 0, s, params, nullptr));
  }
  CHECK(cuMemcpyDtoHAsync(h.data(), d, kN * sizeof(unsigned int), s));
  CHECK(cuStreamSynchronize(s));
  res->ok = h == host_model(seed) ? 1 : 0;
  res->checksum = fnv1a(h.data(), h.size() * sizeof(unsigned int));
  CHECK(cuMemFree(d));
  CHECK(cuStreamDestroy(s));
  if (own_module) CHECK(cuModuleUnload(mod));
}

int main() {
  CUdevice dev;
  CUcontext primary = init_primary(&dev);
  CUmodule mod;
  CHECK(cuModuleLoadData(&mod, drv_cubin));

  std::vector<Result> res(kThreads + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      CUcontext cur = reinterpret_cast<CUcontext>(1);
      CHECK(cuCtxGetCurrent(&cur));
      res[t].had_context_at_start = cur != nullptr ? 1 : 0;
      CHECK(cuCtxSetCurrent(primary));
      work(primary, mod, 1000u * static_cast<unsigned int>(t + 1), &res[t]);
    });
  }
  threads.emplace_back([&] {
    CUcontext cur = reinterpret_cast<CUcontext>(1);
    CHECK(cuCtxGetCurrent(&cur));
    res[kThreads].had_context_at_start = cur != nullptr ? 1 : 0;
    CUcontext own;
    CHECK(cuCtxCreate(&own, nullptr, 0, dev));  // current in this thread only
    work(own, nullptr, 77777u, &res[kThreads]);
    CHECK(cuCtxDestroy(own));
  });
  for (auto& th : threads) th.join();

  int all_ok = 1;
  for (int t = 0; t <= kThreads; ++t) {
    std::printf("thread %d (%s): context_at_start=%d current_ok=%d result_ok=%d checksum=0x%016llx\n",
                t, t < kThreads ? "primary" : "own context", res[t].had_context_at_start,
                res[t].current_is_expected, res[t].ok, static_cast<unsigned long long>(res[t].checksum));
    all_ok &= res[t].ok & res[t].current_is_expected & (res[t].had_context_at_start == 0);
  }
  EXPECT(all_ok == 1);
  // The main thread's context is unchanged by the others.
  CUcontext cur;
  CHECK(cuCtxGetCurrent(&cur));
  std::printf("main thread current is primary=%d\n", cur == primary ? 1 : 0);
  CHECK(cuModuleUnload(mod));
  CHECK(cuDevicePrimaryCtxRelease(dev));
  std::printf("multi_thread PASS\n");
  return 0;
}
#endif
