// host_threads: one process, several host threads using CUDA at once: each thread has its own
// stream (and one uses cudaStreamPerThread), allocates, copies and launches; the last-error slot
// is per thread (an invalid launch in one thread is not seen by another). Results are printed
// after all threads have joined, in thread order.
#include "common.h"

#include <string>
#include <thread>
#include <vector>

constexpr int NT = 6;

__global__ void fill(unsigned int* p, int n, unsigned int seed) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] = static_cast<unsigned int>(i) * 2654435761u ^ seed;
}

struct Outcome {
  std::string text;
  bool ok = false;
};

static void worker(int t, Outcome* o) {
  char buf[256];
  cudaError_t e;
  auto fail = [&](const char* what, cudaError_t err) {
    std::snprintf(buf, sizeof buf, "thread=%d FAIL %s -> %s", t, what, cudaGetErrorName(err));
    o->text = buf;
    o->ok = false;
  };
  if ((e = cudaSetDevice(0)) != cudaSuccess) return fail("cudaSetDevice", e);
  cudaStream_t s = cudaStreamPerThread;
  bool own = t != 0;
  if (own && (e = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking)) != cudaSuccess)
    return fail("cudaStreamCreateWithFlags", e);
  const int n = (1 << 20) + t * 1000;
  unsigned int* d;
  if ((e = cudaMalloc(&d, sizeof(unsigned int) * n)) != cudaSuccess) return fail("cudaMalloc", e);
  std::vector<unsigned int> h(n);
  const char* last_error_seen = "n/a";
  for (int iter = 0; iter < 20; ++iter) {
    unsigned int seed = static_cast<unsigned int>(t * 1000 + iter);
    if (t == 3 && iter == 5) {
      fill<<<1, 4096, 0, s>>>(d, n, seed);  // invalid on purpose: only this thread sees it
      last_error_seen = cudaGetErrorName(cudaGetLastError());
    }
    fill<<<(n + 255) / 256, 256, 0, s>>>(d, n, seed);
    if ((e = cudaGetLastError()) != cudaSuccess) return fail("launch", e);
    if ((e = cudaMemcpyAsync(h.data(), d, sizeof(unsigned int) * n, cudaMemcpyDeviceToHost, s)) != cudaSuccess)
      return fail("cudaMemcpyAsync", e);
    if ((e = cudaStreamSynchronize(s)) != cudaSuccess) return fail("cudaStreamSynchronize", e);
    for (int i = 0; i < n; ++i)
      if (h[i] != (static_cast<unsigned int>(i) * 2654435761u ^ seed)) return fail("verify", cudaSuccess);
  }
  if (own && (e = cudaStreamDestroy(s)) != cudaSuccess) return fail("cudaStreamDestroy", e);
  if ((e = cudaFree(d)) != cudaSuccess) return fail("cudaFree", e);
  std::snprintf(buf, sizeof buf, "thread=%d stream=%s n=%d checksum=0x%016llx own_invalid_launch=%s", t,
                own ? "own" : "cudaStreamPerThread", n,
                static_cast<unsigned long long>(fnv1a(h.data(), sizeof(unsigned int) * n)), last_error_seen);
  o->text = buf;
  o->ok = true;
}

int main() {
  // Initialise the context on the main thread first (the common application pattern).
  CK(cudaFree(nullptr));
  std::vector<Outcome> out(NT);
  std::vector<std::thread> th;
  for (int t = 0; t < NT; ++t) th.emplace_back(worker, t, &out[t]);
  for (auto& x : th) x.join();
  bool ok = true;
  for (auto& o : out) {
    std::printf("%s\n", o.text.c_str());
    ok &= o.ok;
  }
  EXPECT_ERR("main_thread_last_error", cudaGetLastError(), cudaSuccess);
  CK(cudaDeviceSynchronize());
  std::printf("host_threads %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
