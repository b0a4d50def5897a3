// streams_events: streams and events through the driver API.
// Proves cuCtxGetStreamPriorityRange; streams made by cuStreamCreate (default and NON_BLOCKING
// flags) and cuStreamCreateWithPriority (greatest and least priority), read back with
// cuStreamGetPriority, cuStreamGetFlags, cuStreamGetCtx, cuStreamGetDevice and cuStreamGetId
// (distinct); events created with DEFAULT, DISABLE_TIMING and BLOCKING_SYNC; cuEventRecord and
// cuEventRecordWithFlags; cuStreamWaitEvent ordering a kernel on one stream after a 20 ms kernel
// on another (the second reads what the first wrote at its very end); cuEventSynchronize, then
// cuEventQuery and cuStreamQuery giving CUDA_SUCCESS; cuEventElapsedTime >= 0 (the value is not
// printed) and its error with a DISABLE_TIMING event; the legacy stream (CU_STREAM_LEGACY) waiting
// on an event; cuStreamSynchronize, cuEventDestroy, cuStreamDestroy.
// blobs: cubin
#if defined(__CUDACC__)
__device__ __forceinline__ unsigned long long gtime() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

// Spins for NS nanoseconds, then writes V to *OUT (one thread).
extern "C" __global__ void spin_then_write(unsigned long long ns, int* out, int v) {
  unsigned long long t0 = gtime();
  while (gtime() - t0 < ns) {
  }
  *out = v;
}

// dst[i] = *src * 1000 + i.
extern "C" __global__ void fan_out(int* dst, const int* src, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) dst[i] = *src * 1000 + i;
}
#else
#include <vector>

#include "driver_common.h"
#include "drv_blobs.h"

static CUfunction g_spin, g_fan;

static void spin_write(CUstream s, CUdeviceptr out, int v) {
  unsigned long long ns = 20ull * 1000 * 1000;
  void* params[] = {&ns, &out, &v};
  CHECK(cuLaunchKernel(g_spin, 1, 1, 1, 1, 1, 1, 0, s, params, nullptr));
}

static void fan(CUstream s, CUdeviceptr dst, CUdeviceptr src, int n) {
  void* params[] = {&dst, &src, &n};
  CHECK(cuLaunchKernel(g_fan, (n + 127) / 128, 1, 1, 128, 1, 1, 0, s, params, nullptr));
}

static void expect_fan(const char* label, CUdeviceptr dst, int v, int n) {
  std::vector<int> h(n);
  CHECK(cuMemcpyDtoH(h.data(), dst, n * sizeof(int)));
  for (int i = 0; i < n; ++i) EXPECT(h[i] == v * 1000 + i);
  std::printf("%s: ordered, first=%d last=%d\n", label, h[0], h[n - 1]);
}

int main() {
  CUdevice dev;
  CUcontext primary = init_primary(&dev);
  CUmodule mod;
  CHECK(cuModuleLoadData(&mod, drv_cubin));
  CHECK(cuModuleGetFunction(&g_spin, mod, "spin_then_write"));
  CHECK(cuModuleGetFunction(&g_fan, mod, "fan_out"));

  int least = 0, greatest = 0;
  CHECK(cuCtxGetStreamPriorityRange(&least, &greatest));
  std::printf("priority range least=%d greatest=%d\n", least, greatest);

  CUstream st[4];
  CHECK(cuStreamCreate(&st[0], CU_STREAM_DEFAULT));
  CHECK(cuStreamCreate(&st[1], CU_STREAM_NON_BLOCKING));
  CHECK(cuStreamCreateWithPriority(&st[2], CU_STREAM_NON_BLOCKING, greatest));
  CHECK(cuStreamCreateWithPriority(&st[3], CU_STREAM_DEFAULT, least));
  unsigned long long ids[4];
  for (int i = 0; i < 4; ++i) {
    int prio = 0;
    unsigned int flags = 0;
    CUcontext c;
    CUdevice d;
    CHECK(cuStreamGetPriority(st[i], &prio));
    CHECK(cuStreamGetFlags(st[i], &flags));
    CHECK(cuStreamGetCtx(st[i], &c));
    CHECK(cuStreamGetDevice(st[i], &d));
    CHECK(cuStreamGetId(st[i], &ids[i]));
    std::printf("stream %d: priority=%d flags=%u ctx_is_primary=%d device=%d\n", i, prio, flags,
                c == primary ? 1 : 0, static_cast<int>(d));
  }
  std::printf("stream ids distinct=%d\n", ids[0] != ids[1] && ids[1] != ids[2] && ids[2] != ids[3] &&
                                              ids[0] != ids[2] && ids[0] != ids[3] && ids[1] != ids[3]);

  CUevent ev_start, ev_end, ev_nt, ev_bs;
  CHECK(cuEventCreate(&ev_start, CU_EVENT_DEFAULT));
  CHECK(cuEventCreate(&ev_end, CU_EVENT_DEFAULT));
  CHECK(cuEventCreate(&ev_nt, CU_EVENT_DISABLE_TIMING));
  CHECK(cuEventCreate(&ev_bs, CU_EVENT_BLOCKING_SYNC));

  const int n = 4096;
  CUdeviceptr flag, dst;
  CHECK(cuMemAlloc(&flag, sizeof(int)));
  CHECK(cuMemAlloc(&dst, n * sizeof(int)));
  CHECK(cuMemsetD32(flag, 0, 1));
  CHECK(cuCtxSynchronize());

  // st[1]: 20 ms, then flag = 7; st[2] waits for that through an event and fans it out.
  CHECK(cuEventRecord(ev_start, st[1]));
  spin_write(st[1], flag, 7);
  CHECK(cuEventRecord(ev_end, st[1]));
  CHECK(cuEventRecordWithFlags(ev_nt, st[1], CU_EVENT_RECORD_DEFAULT));
  CHECK(cuStreamWaitEvent(st[2], ev_nt, CU_EVENT_WAIT_DEFAULT));
  fan(st[2], dst, flag, n);
  CHECK(cuEventRecord(ev_bs, st[2]));
  CHECK(cuEventSynchronize(ev_bs));
  EXPECT_RES("query_after_sync", cuEventQuery(ev_bs), CUDA_SUCCESS);
  EXPECT_RES("stream_query_after_sync", cuStreamQuery(st[2]), CUDA_SUCCESS);
  expect_fan("wait_event", dst, 7, n);
  CHECK(cuEventSynchronize(ev_end));
  float ms = -1.0f;
  CHECK(cuEventElapsedTime(&ms, ev_start, ev_end));
  std::printf("elapsed_ge_0=%d\n", ms >= 0.0f ? 1 : 0);
  EXPECT(ms >= 0.0f);
  EXPECT_FAIL("elapsed_with_disable_timing", cuEventElapsedTime(&ms, ev_start, ev_nt));

  // The same through the low-priority blocking stream and the legacy stream.
  spin_write(st[3], flag, 9);
  CHECK(cuEventRecord(ev_nt, st[3]));
  CHECK(cuStreamWaitEvent(CU_STREAM_LEGACY, ev_nt, 0));
  fan(CU_STREAM_LEGACY, dst, flag, n);
  CHECK(cuStreamSynchronize(CU_STREAM_LEGACY));
  expect_fan("legacy_waits", dst, 9, n);

  // Blocking stream st[0] is ordered after the legacy stream without any event.
  spin_write(CU_STREAM_LEGACY, flag, 11);
  fan(st[0], dst, flag, n);
  CHECK(cuStreamSynchronize(st[0]));
  expect_fan("blocking_after_legacy", dst, 11, n);

  for (CUstream s : st) {
    CHECK(cuStreamSynchronize(s));
    EXPECT_RES("stream_query_idle", cuStreamQuery(s), CUDA_SUCCESS);
    CHECK(cuStreamDestroy(s));
  }
  for (CUevent e : {ev_start, ev_end, ev_nt, ev_bs}) CHECK(cuEventDestroy(e));
  CHECK(cuMemFree(flag));
  CHECK(cuMemFree(dst));
  CHECK(cuModuleUnload(mod));
  CHECK(cuDevicePrimaryCtxRelease(dev));
  std::printf("streams_events PASS\n");
  return 0;
}
#endif
