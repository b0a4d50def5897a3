// fake-cuda (test double, never ships): self-check of peer access (cuDeviceCanAccessPeer,
// cuCtxEnable/DisablePeerAccess), peer copies (cuMemcpyPeer[Async]), unified addressing of the
// plain copies and memset, and the peer rule of the built-in kernels. See selftest.cpp.
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "fake_module.h"
#include "selftest.h"

namespace vgpu::fake::selftest {
namespace {

const auto kBogusContext = reinterpret_cast<CUcontext>(0x1234);
constexpr size_t kBytes = 256;

void set_current(CUcontext c) { OK(api.cuCtxSetCurrent(c)); }

std::vector<unsigned char> pattern(unsigned char seed) {
  std::vector<unsigned char> v(kBytes);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<unsigned char>(seed + i * 7);
  return v;
}

// Reads device memory back (through unified addressing, whatever context is current).
std::vector<unsigned char> read_back(CUdeviceptr p, size_t n) {
  std::vector<unsigned char> v(n);
  OK(api.cuMemcpyDtoHAsync_v2(v.data(), p, n, nullptr));
  return v;
}

bool same(const std::vector<unsigned char>& got, const unsigned char* want, size_t n) {
  return got.size() >= n && std::memcmp(got.data(), want, n) == 0;
}

// Several threads copy between, enable access to and allocate in two contexts, while another
// makes and destroys contexts whose memory and handles the others use meanwhile. Catches lock
// order deadlocks (the test then times out) and memory unmapped under a copy (a crash). The
// thread on device 1 writes only the first halves of d0 and d1, the one on device 0 the second.
void stress(CUcontext c0, CUcontext c1, CUdeviceptr d0, CUdeviceptr d1, CUfunction fill1, bool supported) {
  constexpr size_t kHalf = kBytes / 2;
  std::atomic<CUcontext> churn_ctx{nullptr};
  std::atomic<CUdeviceptr> churn_ptr{0};
  std::atomic<bool> churn_done{false};
  std::thread churn([&] {
    for (int i = 0; i < 100; ++i) {
      CUcontext c = nullptr;
      OK(api.cuCtxCreate_v2(&c, 0, 0));  // current on this thread
      churn_ctx = c;
      CUdeviceptr p = 0;
      OK(api.cuMemAlloc_v2(&p, 4096));
      OK(api.cuMemsetD8Async(p, 1, 4096, nullptr));
      churn_ptr = p;
      OK(api.cuCtxDestroy_v2(c));  // the others may be using p and c right now
    }
    churn_done = true;
  });
  std::thread on_dev1([&] {
    set_current(c1);
    std::vector<unsigned char> buf(kHalf);
    unsigned value = 9;
    unsigned long long count = kHalf / 4;
    void* params[] = {&d0, &value, &count};
    for (int i = 0; i < 300 || !churn_done; ++i) {
      OK(api.cuMemcpyHtoDAsync_v2(d0, buf.data(), kHalf, nullptr));
      OK(api.cuMemcpyPeer(d1, c1, d0, c0, kHalf));
      if (supported) {
        OK(api.cuCtxEnablePeerAccess(c0, 0));
        OK(api.cuLaunchKernel(fill1, 1, 1, 1, 64, 1, 1, 0, nullptr, params, nullptr));
        OK(api.cuCtxDisablePeerAccess(c0));
      }
      const CUresult r = api.cuMemcpyDtoHAsync_v2(buf.data(), churn_ptr.load(), 16, nullptr);
      CHECK(r == CUDA_SUCCESS || r == CUDA_ERROR_INVALID_VALUE);
      const CUresult e = api.cuCtxEnablePeerAccess(churn_ctx.load(), 0);
      CHECK(e == CUDA_SUCCESS || e == CUDA_ERROR_INVALID_CONTEXT ||
            e == (supported ? CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED : CUDA_ERROR_PEER_ACCESS_UNSUPPORTED));
    }
  });
  std::thread on_dev0([&] {
    set_current(c0);
    std::vector<unsigned char> buf(kHalf);
    for (int i = 0; i < 300; ++i) {
      OK(api.cuMemcpyDtoHAsync_v2(buf.data(), d1 + kHalf, kHalf, nullptr));
      OK(api.cuMemcpyPeer(d0 + kHalf, c0, d1 + kHalf, c1, kHalf));
      CUdeviceptr p = 0;
      OK(api.cuMemAlloc_v2(&p, 1024));
      OK(api.cuMemcpyDtoDAsync_v2(p, d1 + kHalf, kHalf, nullptr));
      OK(api.cuMemFree_v2(p));
      if (supported) {
        OK(api.cuCtxEnablePeerAccess(c1, 0));
        OK(api.cuCtxDisablePeerAccess(c1));
      }
    }
  });
  churn.join();
  on_dev1.join();
  on_dev0.join();
}

}  // namespace

void peer_checks(bool supported) {
  CUcontext prev = nullptr;
  OK(api.cuCtxGetCurrent(&prev));

  // ---- can-access answers: never a device and itself; distinct devices unless switched off ----
  const int want = supported ? 1 : 0;
  int can = -1;
  OK(api.cuDeviceCanAccessPeer(&can, 0, 0));
  CHECK(can == 0);
  can = -1;
  OK(api.cuDeviceCanAccessPeer(&can, 1, 1));
  CHECK(can == 0);
  can = -1;
  OK(api.cuDeviceCanAccessPeer(&can, 0, 1));
  CHECK(can == want);
  can = -1;
  OK(api.cuDeviceCanAccessPeer(&can, 1, 0));
  CHECK(can == want);
  EXPECT_RC(api.cuDeviceCanAccessPeer(nullptr, 0, 1), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuDeviceCanAccessPeer(&can, 0, 2), CUDA_ERROR_INVALID_DEVICE);
  EXPECT_RC(api.cuDeviceCanAccessPeer(&can, -1, 0), CUDA_ERROR_INVALID_DEVICE);

  // c0 and c0b on device 0, c1 on device 1; d0 belongs to c0, d1 to c1.
  CUcontext c0 = nullptr, c0b = nullptr, c1 = nullptr;
  OK(api.cuCtxCreate_v2(&c0b, 0, 0));
  OK(api.cuCtxCreate_v2(&c1, 0, 1));
  OK(api.cuCtxCreate_v2(&c0, 0, 0));
  CUdeviceptr d0 = 0, d1 = 0;
  CUstream s0 = nullptr, s1 = nullptr;
  OK(api.cuMemAlloc_v2(&d0, kBytes));
  OK(api.cuStreamCreateWithPriority(&s0, 0, 0));
  set_current(c1);
  OK(api.cuMemAlloc_v2(&d1, kBytes));
  OK(api.cuStreamCreateWithPriority(&s1, 0, 0));

  // ---- enable / disable ----
  set_current(nullptr);
  EXPECT_RC(api.cuCtxEnablePeerAccess(c0, 0), CUDA_ERROR_INVALID_CONTEXT);
  EXPECT_RC(api.cuCtxDisablePeerAccess(c0), CUDA_ERROR_INVALID_CONTEXT);
  EXPECT_RC(api.cuMemcpyPeer(d1, c1, d0, c0, 16), CUDA_ERROR_INVALID_CONTEXT);
  set_current(c1);
  EXPECT_RC(api.cuCtxEnablePeerAccess(c0, 1), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuCtxEnablePeerAccess(nullptr, 0), CUDA_ERROR_INVALID_CONTEXT);
  EXPECT_RC(api.cuCtxEnablePeerAccess(kBogusContext, 0), CUDA_ERROR_INVALID_CONTEXT);
  EXPECT_RC(api.cuCtxEnablePeerAccess(c1, 0), CUDA_ERROR_INVALID_CONTEXT);  // itself, as cuda.h says
  EXPECT_RC(api.cuCtxDisablePeerAccess(kBogusContext), CUDA_ERROR_INVALID_CONTEXT);
  EXPECT_RC(api.cuCtxDisablePeerAccess(c0), CUDA_ERROR_PEER_ACCESS_NOT_ENABLED);
  set_current(c0b);
  EXPECT_RC(api.cuCtxEnablePeerAccess(c0, 0), CUDA_ERROR_PEER_ACCESS_UNSUPPORTED);  // same device
  set_current(c1);
  if (supported) {
    OK(api.cuCtxEnablePeerAccess(c0, 0));
    EXPECT_RC(api.cuCtxEnablePeerAccess(c0, 0), CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED);
    set_current(c0);
    EXPECT_RC(api.cuCtxDisablePeerAccess(c1), CUDA_ERROR_PEER_ACCESS_NOT_ENABLED);  // one-way
    set_current(c1);
    OK(api.cuCtxDisablePeerAccess(c0));
    EXPECT_RC(api.cuCtxDisablePeerAccess(c0), CUDA_ERROR_PEER_ACCESS_NOT_ENABLED);
  } else {
    EXPECT_RC(api.cuCtxEnablePeerAccess(c0, 0), CUDA_ERROR_PEER_ACCESS_UNSUPPORTED);
    set_current(c0);
    EXPECT_RC(api.cuCtxEnablePeerAccess(c1, 0), CUDA_ERROR_PEER_ACCESS_UNSUPPORTED);
    set_current(c1);
  }

  // ---- peer copies (current: c1, no peer access enabled) ----
  const auto p = pattern(3);
  set_current(c0);
  OK(api.cuMemcpyHtoDAsync_v2(d0, p.data(), kBytes, nullptr));
  set_current(c1);
  OK(api.cuMemsetD8Async(d1, 0, kBytes, nullptr));
  OK(api.cuMemcpyPeer(d1, c1, d0, c0, kBytes));
  CHECK(same(read_back(d1, kBytes), p.data(), kBytes));
  OK(api.cuMemcpyPeerAsync(d0 + 16, c0, d1, c1, 32, s1));  // the other way, on a stream of c1
  CHECK(same(read_back(d0 + 16, 32), p.data(), 32));
  OK(api.cuMemcpyPeer(d1 + 128, c1, d1, c1, 64));  // within one context
  CHECK(same(read_back(d1 + 128, 64), p.data(), 64));
  OK(api.cuMemcpyPeer(d1, c1, d0, c0, 0));
  EXPECT_RC(api.cuMemcpyPeerAsync(d1, c1, d0, c0, 16, s0), CUDA_ERROR_INVALID_HANDLE);  // c0's stream
  EXPECT_RC(api.cuMemcpyPeer(d1, c0, d0, c0, 16), CUDA_ERROR_INVALID_VALUE);            // d1 is not c0's
  EXPECT_RC(api.cuMemcpyPeer(d1, c1, d0, c1, 16), CUDA_ERROR_INVALID_VALUE);            // d0 is not c1's
  EXPECT_RC(api.cuMemcpyPeer(d1, c1, d0 + 8, c0, kBytes), CUDA_ERROR_INVALID_VALUE);    // past the source
  EXPECT_RC(api.cuMemcpyPeer(d1 + 1, c1, d0, c0, kBytes), CUDA_ERROR_INVALID_VALUE);    // past the destination
  EXPECT_RC(api.cuMemcpyPeer(d1, kBogusContext, d0, c0, 16), CUDA_ERROR_INVALID_CONTEXT);
  EXPECT_RC(api.cuMemcpyPeer(d1, c1, d0, nullptr, 16), CUDA_ERROR_INVALID_CONTEXT);

  // ---- unified addressing: copies and memset reach any live context's memory ----
  const auto q = pattern(100);
  OK(api.cuMemcpyHtoDAsync_v2(d0, q.data(), kBytes, s1));  // c1 current, d0 is c0's
  CHECK(same(read_back(d0, kBytes), q.data(), kBytes));
  OK(api.cuMemsetD8Async(d0 + 8, 0x5a, 8, nullptr));
  auto back = read_back(d0, kBytes);
  CHECK(back[7] == q[7] && back[8] == 0x5a && back[15] == 0x5a && back[16] == q[16]);
  set_current(c0b);  // a copy between two contexts, neither of them current
  OK(api.cuMemcpyDtoDAsync_v2(d1, d0, kBytes, nullptr));
  CHECK(same(read_back(d1, kBytes), back.data(), kBytes));
  set_current(c1);
  EXPECT_RC(api.cuMemcpyHtoDAsync_v2(d0, q.data(), 16, s0), CUDA_ERROR_INVALID_HANDLE);  // the stream is c0's
  EXPECT_RC(api.cuMemcpyHtoDAsync_v2(d0 + 8, q.data(), kBytes, nullptr), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuMemcpyDtoDAsync_v2(d1, d0, kBytes + 1, nullptr), CUDA_ERROR_INVALID_VALUE);
  CUdeviceptr freed = 0;
  set_current(c0);
  OK(api.cuMemAlloc_v2(&freed, 64));
  OK(api.cuMemFree_v2(freed));
  set_current(c1);
  EXPECT_RC(api.cuMemcpyHtoDAsync_v2(freed, q.data(), 16, nullptr), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuMemsetD8Async(freed, 0, 16, nullptr), CUDA_ERROR_INVALID_VALUE);

  // A module global of c0 is reachable too, until its module is unloaded.
  set_current(c0);
  CUmodule m0 = nullptr;
  OK(api.cuModuleLoadData(&m0, vgpu::fake::module_image({"global g 64"}).c_str()));
  CUdeviceptr g = 0;
  OK(api.cuModuleGetGlobal_v2(&g, nullptr, m0, "g"));
  set_current(c1);
  OK(api.cuMemcpyHtoDAsync_v2(g, q.data(), 64, nullptr));
  set_current(c0);
  CHECK(same(read_back(g, 64), q.data(), 64));

  // ---- kernels: memory of the context itself, or of a peer it has enabled ----
  set_current(c1);
  CUmodule m1 = nullptr;
  OK(api.cuModuleLoadData(
      &m1, vgpu::fake::module_image({"kernel fake_vector_add 8,8,8,4", "kernel fake_fill_u32 8,4,8"}).c_str()));
  CUfunction vadd1 = nullptr, fill1 = nullptr;
  OK(api.cuModuleGetFunction(&vadd1, m1, "fake_vector_add"));
  OK(api.cuModuleGetFunction(&fill1, m1, "fake_fill_u32"));
  if (supported) {
    // c[i] = a[i] + b[i] with a and b on device 0 and c on device 1.
    constexpr int n = kBytes / sizeof(float);
    std::vector<float> fa(n), fb(n), fc(n, -1.0f);
    for (int i = 0; i < n; ++i) {
      fa[i] = static_cast<float>(i);
      fb[i] = 0.25f * static_cast<float>(i);
    }
    CUdeviceptr b0 = 0;
    set_current(c0);
    OK(api.cuMemAlloc_v2(&b0, kBytes));
    OK(api.cuMemcpyHtoDAsync_v2(d0, fa.data(), kBytes, nullptr));
    OK(api.cuMemcpyHtoDAsync_v2(b0, fb.data(), kBytes, nullptr));
    set_current(c1);
    OK(api.cuCtxEnablePeerAccess(c0, 0));
    OK(api.cuMemcpyPeer(d1, c1, d0, c0, kBytes));  // peer copies work with access enabled too
    OK(api.cuMemcpyDtoHAsync_v2(fc.data(), d1, kBytes, nullptr));
    CHECK(std::memcmp(fc.data(), fa.data(), kBytes) == 0);
    int nn = n;
    void* vadd_params[] = {&d0, &b0, &d1, &nn};
    OK(api.cuLaunchKernel(vadd1, 1, 1, 1, 64, 1, 1, 0, s1, vadd_params, nullptr));
    OK(api.cuCtxSynchronize());
    OK(api.cuMemcpyDtoHAsync_v2(fc.data(), d1, kBytes, nullptr));
    bool sums_ok = true;
    for (int i = 0; i < n; ++i) sums_ok = sums_ok && fc[i] == fa[i] + fb[i];
    CHECK(sums_ok);
    // fill a module global of the peer
    unsigned value = 0xfeedu;
    unsigned long long words = 16;
    void* fill_params[] = {&g, &value, &words};
    OK(api.cuLaunchKernel(fill1, 1, 1, 1, 16, 1, 1, 0, nullptr, fill_params, nullptr));
    OK(api.cuCtxSynchronize());
    const auto gb = read_back(g, 64);
    unsigned first = 0, last = 0;
    std::memcpy(&first, gb.data(), 4);
    std::memcpy(&last, gb.data() + 60, 4);
    CHECK(first == 0xfeedu && last == 0xfeedu);
    OK(api.cuCtxDisablePeerAccess(c0));
    set_current(c0);
    OK(api.cuMemFree_v2(b0));
  }
  // the unloaded module's global is no device memory any more
  set_current(c0);
  OK(api.cuModuleUnload(m0));
  set_current(c1);
  EXPECT_RC(api.cuMemcpyHtoDAsync_v2(g, q.data(), 16, nullptr), CUDA_ERROR_INVALID_VALUE);

  // ---- many threads at once: no deadlock, no memory unmapped under a copy ----
  stress(c0, c1, d0, d1, fill1, supported);

  // ---- a destroyed context leaves no peer access behind ----
  set_current(c1);
  if (supported) OK(api.cuCtxEnablePeerAccess(c0, 0));
  OK(api.cuCtxDestroy_v2(c0));
  EXPECT_RC(api.cuCtxDisablePeerAccess(c0), CUDA_ERROR_INVALID_CONTEXT);
  EXPECT_RC(api.cuCtxEnablePeerAccess(c0, 0), CUDA_ERROR_INVALID_CONTEXT);
  EXPECT_RC(api.cuMemcpyPeer(d1, c1, d0, c0, 16), CUDA_ERROR_INVALID_CONTEXT);
  std::vector<unsigned char> buf(16);
  EXPECT_RC(api.cuMemcpyDtoHAsync_v2(buf.data(), d0, 16, nullptr), CUDA_ERROR_INVALID_VALUE);  // went with c0
  CUcontext c0n = nullptr;
  OK(api.cuCtxCreate_v2(&c0n, 0, 0));  // a later context on the same device inherits nothing
  set_current(c1);
  EXPECT_RC(api.cuCtxDisablePeerAccess(c0n), CUDA_ERROR_PEER_ACCESS_NOT_ENABLED);
  if (supported) {
    OK(api.cuCtxEnablePeerAccess(c0n, 0));
    OK(api.cuCtxDisablePeerAccess(c0n));
  }

  OK(api.cuCtxDestroy_v2(c0n));
  OK(api.cuCtxDestroy_v2(c0b));
  OK(api.cuCtxDestroy_v2(c1));
  set_current(prev);
}

void peer_fault_checks(bool supported) {
  // a0 and b0 on device 0, c1's output on device 1, the kernel on device 1.
  CUcontext c0 = nullptr, c1 = nullptr;
  OK(api.cuCtxCreate_v2(&c0, 0, 0));
  constexpr int n = 64;
  std::vector<float> ones(n, 1.0f);
  CUdeviceptr a0 = 0, b0 = 0, out1 = 0;
  OK(api.cuMemAlloc_v2(&a0, sizeof(float) * n));
  OK(api.cuMemAlloc_v2(&b0, sizeof(float) * n));
  OK(api.cuMemcpyHtoDAsync_v2(a0, ones.data(), sizeof(float) * n, nullptr));
  OK(api.cuMemcpyHtoDAsync_v2(b0, ones.data(), sizeof(float) * n, nullptr));
  OK(api.cuCtxCreate_v2(&c1, 0, 1));
  OK(api.cuMemAlloc_v2(&out1, sizeof(float) * n));
  CUmodule m1 = nullptr;
  OK(api.cuModuleLoadData(&m1, vgpu::fake::module_image({"kernel fake_vector_add 8,8,8,4"}).c_str()));
  CUfunction vadd1 = nullptr;
  OK(api.cuModuleGetFunction(&vadd1, m1, "fake_vector_add"));
  int nn = n;
  void* params[] = {&a0, &b0, &out1, &nn};
  if (supported) {
    // Access the other way round does not count, nor access that was enabled and disabled again.
    set_current(c0);
    OK(api.cuCtxEnablePeerAccess(c1, 0));
    set_current(c1);
    OK(api.cuCtxEnablePeerAccess(c0, 0));
    OK(api.cuLaunchKernel(vadd1, 1, 1, 1, n, 1, 1, 0, nullptr, params, nullptr));
    OK(api.cuCtxSynchronize());
    std::vector<float> out(n, 0.0f);
    OK(api.cuMemcpyDtoHAsync_v2(out.data(), out1, sizeof(float) * n, nullptr));
    CHECK(out[0] == 2.0f && out[n - 1] == 2.0f);
    OK(api.cuCtxDisablePeerAccess(c0));
  } else {
    set_current(c1);
    EXPECT_RC(api.cuCtxEnablePeerAccess(c0, 0), CUDA_ERROR_PEER_ACCESS_UNSUPPORTED);
  }

  // The launch itself succeeds (a fault shows up later, as on a GPU); then every call fails.
  OK(api.cuLaunchKernel(vadd1, 1, 1, 1, n, 1, 1, 0, nullptr, params, nullptr));
  EXPECT_RC(api.cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
  float x = 0;
  EXPECT_RC(api.cuMemcpyDtoHAsync_v2(&x, out1, sizeof x, nullptr), CUDA_ERROR_ILLEGAL_ADDRESS);
  EXPECT_RC(api.cuMemcpyPeer(out1, c1, a0, c0, sizeof x), CUDA_ERROR_ILLEGAL_ADDRESS);
  EXPECT_RC(api.cuCtxEnablePeerAccess(c0, 0), CUDA_ERROR_ILLEGAL_ADDRESS);
  EXPECT_RC(api.cuCtxDisablePeerAccess(c0), CUDA_ERROR_ILLEGAL_ADDRESS);
  set_current(c0);
  EXPECT_RC(api.cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);  // the whole process is poisoned
  OK(api.cuCtxDestroy_v2(c1));
  OK(api.cuCtxDestroy_v2(c0));
}

}  // namespace vgpu::fake::selftest
