// Every copy path round-trips data: inline and staged pageable copies,
// shared-heap (pinned) copies sync and async, device-to-device, memset,
// cudaMemcpyDefault.
//
// Usage: memory_roundtrip [ROUNDS]   repeats the copies ROUNDS times (default
// 1; 0 = until killed, for the tests that kill a process in the middle of its
// traffic).
#include <cstdlib>
#include <cstring>
#include <vector>

#include "test/integration/guest_programs/guest_check.h"

namespace {

std::vector<unsigned char> pattern(size_t n, unsigned seed) {
  std::vector<unsigned char> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<unsigned char>((i * 131 + seed) >> 1);
  return v;
}

}  // namespace

int main(int argc, char **argv) {
  const long rounds = argc > 1 ? std::atol(argv[1]) : 1;
  int count = 0;
  CHECK(cudaGetDeviceCount(&count));
  EXPECT(count == 1);
  // Inline (≤32 KiB), staged (> ring chunk: 1 MiB ring in the tests), and in
  // between.
  const size_t sizes[] = {1, 100, 4096, 32768, 40000, 300000, 1 << 20, (5 << 20) + 3};
  for (long round = 1; rounds == 0 || round <= rounds; ++round) {
    for (size_t n : sizes) {
      auto in = pattern(n, static_cast<unsigned>(n));
      std::vector<unsigned char> out(n, 0);
      void *d1, *d2;
      CHECK(cudaMalloc(&d1, n));
      CHECK(cudaMalloc(&d2, n));
      CHECK(cudaMemcpy(d1, in.data(), n, cudaMemcpyHostToDevice));
      CHECK(cudaMemcpy(d2, d1, n, cudaMemcpyDeviceToDevice));
      CHECK(cudaMemcpy(out.data(), d2, n, cudaMemcpyDeviceToHost));
      EXPECT(out == in);

      // Async pageable upload, then Default-kind download.
      auto in2 = pattern(n, 7);
      CHECK(cudaMemcpyAsync(d1, in2.data(), n, cudaMemcpyHostToDevice, 0));
      CHECK(cudaMemcpy(out.data(), d1, n, cudaMemcpyDefault));
      EXPECT(out == in2);

      // Pinned memory from the shared heap, sync and async on a stream.
      unsigned char *pinned;
      CHECK(cudaMallocHost(reinterpret_cast<void **>(&pinned), n));
      std::memcpy(pinned, in.data(), n);
      cudaStream_t s;
      CHECK(cudaStreamCreate(&s));
      CHECK(cudaMemcpyAsync(d2, pinned, n, cudaMemcpyHostToDevice, s));
      // The copy reads the pinned buffer when it runs: wait before reusing it.
      CHECK(cudaStreamSynchronize(s));
      std::memset(pinned, 0, n);
      CHECK(cudaMemcpyAsync(pinned, d2, n, cudaMemcpyDeviceToHost, s));
      CHECK(cudaStreamSynchronize(s));
      EXPECT(std::memcmp(pinned, in.data(), n) == 0);
      CHECK(cudaMemset(d2, 0x5a, n));
      CHECK(cudaMemcpy(pinned, d2, n, cudaMemcpyDeviceToHost));
      for (size_t i = 0; i < n; ++i) EXPECT(pinned[i] == 0x5a);
      CHECK(cudaStreamDestroy(s));
      CHECK(cudaFreeHost(pinned));
      CHECK(cudaFree(d1));
      CHECK(cudaFree(d2));
    }
    if (rounds != 1) {
      std::printf("round %ld ok\n", round);
      std::fflush(stdout);
    }
  }
  // Errors: copying past an allocation is refused, not performed.
  void *d;
  CHECK(cudaMalloc(&d, 64));
  std::vector<unsigned char> big(128);
  EXPECT(cudaMemcpy(d, big.data(), 128, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  cudaGetLastError();
  CHECK(cudaFree(d));
  CHECK(cudaDeviceSynchronize());
  std::printf("memory_roundtrip ok\n");
  return 0;
}
