// multi_gpu: everything a program can do with several devices, for any device count >= 1.
//   - which devices it sees: count, and per device name, compute capability, SMs, memory and the
//     UUID in nvidia-smi's form, so a run shows which physical GPU each index is;
//   - per device: cudaSetDevice, an allocation filled by a kernel with a pattern that depends on
//     the device index, a stream with two events around a kernel (its own module, stream and
//     events on each device);
//   - for every ordered pair (a, b), a == b included: cudaDeviceCanAccessPeer, and a copy of a's
//     buffer into a buffer on b by cudaMemcpyPeer, cudaMemcpyPeerAsync, cudaMemcpy (Default and
//     DeviceToDevice) and cudaMemcpyAsync (Default), each checked on the host;
//   - for a != b where peer access is possible: enable it from a, a kernel on a that reads b's
//     buffer, then the errors for enabling twice and disabling twice;
//   - error cases with bad device numbers;
//   - with two devices or more: cudaDeviceReset on device 1 leaves device 0's memory alone, and
//     device 1 works again afterwards.
// Only facts are printed (values, checksums, error names, elapsed_positive=1), never pointers or
// times, so the output of a native run and of a run through vgpu can be compared byte for byte.
#include "common.h"

#include <vector>

constexpr size_t kN = (1u << 20) + 7;  // words per buffer (a little over 4 MiB, not a round size)
constexpr size_t kBytes = kN * sizeof(unsigned int);

// The pattern of device `dev`: differs per device and per position.
__host__ __device__ inline unsigned int pattern(unsigned int dev, size_t i) {
  return static_cast<unsigned int>(i) * 2654435761u ^ ((dev + 1u) * 0x9E3779B9u);
}

__global__ void fill(unsigned int* p, size_t n, unsigned int dev) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    p[i] = pattern(dev, i);
}

// Reads `src` (on another device, through peer access) and writes `dst` (on this device).
__global__ void peer_read(const unsigned int* src, unsigned int* dst, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    dst[i] = src[i] + 1u;
}

// Spins for a number of clock cycles (so the events around it are measurably apart), then writes
// `value` to `flag`.
__global__ void spin_then_flag(int* flag, long long cycles, int value) {
  long long t0 = clock64();
  while (clock64() - t0 < cycles) {
  }
  *flag = value;
}

static std::vector<unsigned int> expected_pattern(int dev) {
  std::vector<unsigned int> v(kN);
  for (size_t i = 0; i < kN; ++i) v[i] = pattern(static_cast<unsigned int>(dev), i);
  return v;
}

// Copies kN words of device memory `d` to the host and counts the words that differ from `want`.
static size_t mismatches(const unsigned int* d, const std::vector<unsigned int>& want,
                         uint64_t* sum = nullptr) {
  std::vector<unsigned int> h(kN);
  CK(cudaMemcpy(h.data(), d, kBytes, cudaMemcpyDeviceToHost));
  size_t bad = 0;
  for (size_t i = 0; i < kN; ++i)
    if (h[i] != want[i]) ++bad;
  if (sum != nullptr) *sum = fnv1a(h.data(), kBytes);
  return bad;
}

// "ok", or the number of wrong words.
static bool report(const char* what, size_t bad) {
  if (bad == 0)
    std::printf("%s: ok\n", what);
  else
    std::printf("%s: mismatches=%zu\n", what, bad);
  return bad == 0;
}

static void launch_fill(unsigned int* p, int dev, cudaStream_t s = nullptr) {
  fill<<<256, 256, 0, s>>>(p, kN, static_cast<unsigned int>(dev));
  CK_LAUNCH();
}

int main() {
  bool ok = true;
  int count = 0;
  CK(cudaGetDeviceCount(&count));
  std::printf("device_count=%d\n", count);
  EXPECT(count >= 1);

  // ---- which devices ----------------------------------------------------------------------------
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp p;
    std::memset(&p, 0, sizeof(p));
    CK(cudaGetDeviceProperties(&p, d));
    const unsigned char* u = reinterpret_cast<const unsigned char*>(p.uuid.bytes);
    std::printf(
        "device %d name=%s cc=%d.%d sms=%d total_mib=%zu "
        "uuid=GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x\n",
        d, p.name, p.major, p.minor, p.multiProcessorCount, p.totalGlobalMem >> 20, u[0], u[1],
        u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
  }

  // ---- per device: memory, a kernel, a stream and events ----------------------------------------
  std::vector<unsigned int*> buf(count, nullptr);
  std::vector<cudaStream_t> stream(count, nullptr);
  std::vector<cudaEvent_t> ev_start(count, nullptr), ev_stop(count, nullptr);
  std::vector<int*> flag(count, nullptr);
  std::vector<uint64_t> sum(count, 0);
  for (int d = 0; d < count; ++d) {
    CK(cudaSetDevice(d));
    int cur = -1;
    CK(cudaGetDevice(&cur));
    CK(cudaMalloc(&buf[d], kBytes));
    CK(cudaMemset(buf[d], 0, kBytes));
    launch_fill(buf[d], d);
    CK(cudaDeviceSynchronize());
    size_t bad = mismatches(buf[d], expected_pattern(d), &sum[d]);
    std::printf("device %d current=%d fill mismatches=%zu checksum=0x%016llx\n", d, cur, bad,
                static_cast<unsigned long long>(sum[d]));
    ok &= cur == d && bad == 0;

    CK(cudaStreamCreate(&stream[d]));
    CK(cudaEventCreate(&ev_start[d]));
    CK(cudaEventCreate(&ev_stop[d]));
    CK(cudaMalloc(&flag[d], sizeof(int)));
    CK(cudaMemsetAsync(flag[d], 0, sizeof(int), stream[d]));
    CK(cudaEventRecord(ev_start[d], stream[d]));
    spin_then_flag<<<1, 1, 0, stream[d]>>>(flag[d], 2000000, 100 + d);  // about 1 ms
    CK_LAUNCH();
    CK(cudaEventRecord(ev_stop[d], stream[d]));
    int h_flag = -1;
    CK(cudaMemcpyAsync(&h_flag, flag[d], sizeof(int), cudaMemcpyDeviceToHost, stream[d]));
    CK(cudaStreamSynchronize(stream[d]));
    CK(cudaEventSynchronize(ev_stop[d]));
    float ms = -1.0f;
    CK(cudaEventElapsedTime(&ms, ev_start[d], ev_stop[d]));
    std::printf("device %d stream kernel flag=%d elapsed_positive=%d\n", d, h_flag,
                ms > 0.0f ? 1 : 0);
    ok &= h_flag == 100 + d && ms > 0.0f;
  }

  // ---- every ordered pair: peer queries and copies ----------------------------------------------
  for (int a = 0; a < count; ++a) {
    for (int b = 0; b < count; ++b) {
      char what[96];
      int can = -1;
      CK(cudaDeviceCanAccessPeer(&can, a, b));
      std::printf("pair %d->%d can_access_peer=%d\n", a, b, can);
      const std::vector<unsigned int> want = expected_pattern(a);

      unsigned int* dst = nullptr;  // on b; cleared before each copy so that a copy that did
      CK(cudaSetDevice(b));         // nothing cannot pass on the previous copy's data
      CK(cudaMalloc(&dst, kBytes));

      CK(cudaMemset(dst, 0, kBytes));
      CK(cudaMemcpyPeer(dst, b, buf[a], a, kBytes));
      std::snprintf(what, sizeof what, "pair %d->%d cudaMemcpyPeer", a, b);
      ok &= report(what, mismatches(dst, want));

      CK(cudaMemset(dst, 0, kBytes));
      CK(cudaSetDevice(a));
      CK(cudaMemcpyPeerAsync(dst, b, buf[a], a, kBytes, stream[a]));
      CK(cudaStreamSynchronize(stream[a]));
      std::snprintf(what, sizeof what, "pair %d->%d cudaMemcpyPeerAsync", a, b);
      ok &= report(what, mismatches(dst, want));

      // Plain cudaMemcpy between devices relies on unified addressing; current device = source.
      CK(cudaSetDevice(b));
      CK(cudaMemset(dst, 0, kBytes));
      CK(cudaSetDevice(a));
      CK(cudaMemcpy(dst, buf[a], kBytes, cudaMemcpyDefault));
      std::snprintf(what, sizeof what, "pair %d->%d cudaMemcpy Default", a, b);
      ok &= report(what, mismatches(dst, want));

      // ... and here the current device is the destination.
      CK(cudaSetDevice(b));
      CK(cudaMemset(dst, 0, kBytes));
      CK(cudaMemcpy(dst, buf[a], kBytes, cudaMemcpyDeviceToDevice));
      std::snprintf(what, sizeof what, "pair %d->%d cudaMemcpy DeviceToDevice", a, b);
      ok &= report(what, mismatches(dst, want));

      CK(cudaMemset(dst, 0, kBytes));
      CK(cudaMemcpyAsync(dst, buf[a], kBytes, cudaMemcpyDefault, stream[b]));
      CK(cudaStreamSynchronize(stream[b]));
      std::snprintf(what, sizeof what, "pair %d->%d cudaMemcpyAsync Default", a, b);
      ok &= report(what, mismatches(dst, want));
      CK(cudaFree(dst));

      if (a == b) continue;
      if (!can) {
        std::printf("pair %d->%d peer_access: skipped (not possible between these devices)\n", a,
                    b);
        continue;
      }
      // From a, read b's memory directly in a kernel.
      CK(cudaSetDevice(a));
      EXPECT_ERR("enable_peer_access", cudaDeviceEnablePeerAccess(b, 0), cudaSuccess);
      unsigned int* local = nullptr;
      CK(cudaMalloc(&local, kBytes));
      peer_read<<<256, 256>>>(buf[b], local, kN);
      CK_LAUNCH();
      CK(cudaDeviceSynchronize());
      std::vector<unsigned int> want_read = expected_pattern(b);
      for (unsigned int& v : want_read) v += 1u;
      std::snprintf(what, sizeof what, "pair %d->%d kernel on %d reads %d's memory", a, b, a, b);
      ok &= report(what, mismatches(local, want_read));
      CK(cudaFree(local));
      EXPECT_ERR("enable_peer_access_again", cudaDeviceEnablePeerAccess(b, 0),
                 cudaErrorPeerAccessAlreadyEnabled);
      std::printf("last_error_after=%s\n", cudaGetErrorName(cudaGetLastError()));
      EXPECT_ERR("disable_peer_access", cudaDeviceDisablePeerAccess(b), cudaSuccess);
      EXPECT_ERR("disable_peer_access_again", cudaDeviceDisablePeerAccess(b),
                 cudaErrorPeerAccessNotEnabled);
      std::printf("last_error_after=%s\n", cudaGetErrorName(cudaGetLastError()));
    }
  }

  // ---- errors with bad device numbers -----------------------------------------------------------
  // Only "an error" is required (and its name printed), as in error_handling: vgpu must give the
  // same name as the native run.
  CK(cudaSetDevice(0));
  EXPECT_ERR("set_device_count", cudaSetDevice(count), cudaErrorInvalidDevice);
  std::printf("last_error_after=%s\n", cudaGetErrorName(cudaGetLastError()));
  int cur = -1;
  CK(cudaGetDevice(&cur));
  std::printf("current_device_after_bad_set=%d\n", cur);
  ok &= cur == 0;

  cudaError_t e = cudaDeviceEnablePeerAccess(0, 0);
  std::printf("enable_peer_access_to_self=%s\n", cudaGetErrorName(e));
  std::printf("last_error_after=%s\n", cudaGetErrorName(cudaGetLastError()));
  ok &= e != cudaSuccess;

  int can = -1;
  e = cudaDeviceCanAccessPeer(&can, 0, count);
  std::printf("can_access_peer_0_to_count=%s\n", cudaGetErrorName(e));
  std::printf("last_error_after=%s\n", cudaGetErrorName(cudaGetLastError()));
  ok &= e != cudaSuccess;
  e = cudaDeviceCanAccessPeer(&can, count, 0);
  std::printf("can_access_peer_count_to_0=%s\n", cudaGetErrorName(e));
  std::printf("last_error_after=%s\n", cudaGetErrorName(cudaGetLastError()));
  ok &= e != cudaSuccess;

  unsigned int* scratch = nullptr;
  CK(cudaMalloc(&scratch, kBytes));
  e = cudaMemcpyPeer(scratch, count, buf[0], 0, kBytes);
  std::printf("memcpy_peer_to_device_count=%s\n", cudaGetErrorName(e));
  std::printf("last_error_after=%s\n", cudaGetErrorName(cudaGetLastError()));
  ok &= e != cudaSuccess;
  e = cudaMemcpyPeer(scratch, 0, buf[0], count, kBytes);
  std::printf("memcpy_peer_from_device_count=%s\n", cudaGetErrorName(e));
  std::printf("last_error_after=%s\n", cudaGetErrorName(cudaGetLastError()));
  ok &= e != cudaSuccess;
  CK(cudaFree(scratch));

  // ---- cudaDeviceReset affects the current device only ------------------------------------------
  if (count >= 2) {
    CK(cudaSetDevice(1));
    CK(cudaDeviceReset());
    // Everything device 1 had (buf[1], its stream, events and flag) is gone now; never touch it
    // again.
    buf[1] = nullptr;
    stream[1] = nullptr;
    ev_start[1] = ev_stop[1] = nullptr;
    flag[1] = nullptr;
    CK(cudaGetDevice(&cur));
    std::printf("reset device 1: current_device=%d\n", cur);
    ok &= cur == 1;

    CK(cudaSetDevice(0));
    uint64_t s0 = 0;
    size_t bad = mismatches(buf[0], expected_pattern(0), &s0);
    std::printf("reset device 1: device 0 buffer mismatches=%zu same_checksum=%d\n", bad,
                s0 == sum[0] ? 1 : 0);
    ok &= bad == 0 && s0 == sum[0];
    // Device 0's stream and events still work.
    CK(cudaEventRecord(ev_start[0], stream[0]));
    spin_then_flag<<<1, 1, 0, stream[0]>>>(flag[0], 2000000, 200);
    CK_LAUNCH();
    CK(cudaEventRecord(ev_stop[0], stream[0]));
    CK(cudaEventSynchronize(ev_stop[0]));
    float ms = -1.0f;
    CK(cudaEventElapsedTime(&ms, ev_start[0], ev_stop[0]));
    int h_flag = -1;
    CK(cudaMemcpy(&h_flag, flag[0], sizeof(int), cudaMemcpyDeviceToHost));
    std::printf("reset device 1: device 0 stream kernel flag=%d elapsed_positive=%d\n", h_flag,
                ms > 0.0f ? 1 : 0);
    ok &= h_flag == 200 && ms > 0.0f;

    // Device 1 works again: new memory, the kernel (its module loads again), a peer copy.
    CK(cudaSetDevice(1));
    unsigned int* again = nullptr;
    CK(cudaMalloc(&again, kBytes));
    launch_fill(again, 1);
    CK(cudaDeviceSynchronize());
    uint64_t s1 = 0;
    bad = mismatches(again, expected_pattern(1), &s1);
    std::printf("reset device 1: device 1 fill again mismatches=%zu same_checksum=%d\n", bad,
                s1 == sum[1] ? 1 : 0);
    ok &= bad == 0 && s1 == sum[1];
    CK(cudaMemset(again, 0, kBytes));
    CK(cudaMemcpyPeer(again, 1, buf[0], 0, kBytes));
    ok &= report("reset device 1: cudaMemcpyPeer 0->1", mismatches(again, expected_pattern(0)));
    CK(cudaFree(again));
  } else {
    std::printf("reset: skipped (needs 2 devices)\n");
  }

  // ---- clean up, each device's objects with that device current ---------------------------------
  for (int d = 0; d < count; ++d) {
    CK(cudaSetDevice(d));
    if (buf[d] != nullptr) CK(cudaFree(buf[d]));
    if (flag[d] != nullptr) CK(cudaFree(flag[d]));
    if (ev_start[d] != nullptr) CK(cudaEventDestroy(ev_start[d]));
    if (ev_stop[d] != nullptr) CK(cudaEventDestroy(ev_stop[d]));
    if (stream[d] != nullptr) CK(cudaStreamDestroy(stream[d]));
  }
  EXPECT_ERR("final_last_error", cudaGetLastError(), cudaSuccess);
  std::printf("multi_gpu: %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
