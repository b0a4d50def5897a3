// device_limits_assert: the context limits a program sets take effect on the GPU, and a device
// assert ends the program's context only.
// - cudaLimitMallocHeapSize raised to 128 MiB: 64 blocks each malloc 1 MiB (and `new` an array)
//   on the device, more than the default 8 MiB heap holds; every one succeeds and is used.
// - cudaLimitStackSize and cudaLimitPrintfFifoSize read back as set.
// - A kernel whose one thread fails an assert: cudaDeviceSynchronize answers cudaErrorAssert, and
//   so does every later call (the error is sticky), as natively.
#include <cassert>

#include "common.h"

constexpr int kBlocks = 64;
constexpr size_t kChunk = 1 << 20;

__global__ void heap_user(int* ok) {
  if (threadIdx.x != 0) return;
  char* chunk = static_cast<char*>(malloc(kChunk));
  int* numbers = new int[256];
  if (chunk == nullptr || numbers == nullptr) {
    ok[blockIdx.x] = 0;
  } else {
    for (size_t i = 0; i < kChunk; i += 4096) chunk[i] = static_cast<char>(blockIdx.x);
    numbers[255] = static_cast<int>(blockIdx.x);
    ok[blockIdx.x] = chunk[kChunk - 4096] == static_cast<char>(blockIdx.x) && numbers[255] == static_cast<int>(blockIdx.x);
  }
  free(chunk);
  delete[] numbers;
}

__global__ void asserting(int bad_block) { assert(!(blockIdx.x == bad_block && threadIdx.x == 7)); }

int main() {
  size_t heap = 0;
  CK(cudaDeviceGetLimit(&heap, cudaLimitMallocHeapSize));
  std::printf("default malloc heap: %zu\n", heap);
  CK(cudaDeviceSetLimit(cudaLimitMallocHeapSize, size_t{128} << 20));
  CK(cudaDeviceGetLimit(&heap, cudaLimitMallocHeapSize));
  std::printf("malloc heap after set: %zu\n", heap);
  int* ok = nullptr;
  CK(cudaMalloc(&ok, kBlocks * sizeof(int)));
  CK(cudaMemset(ok, 0, kBlocks * sizeof(int)));
  heap_user<<<kBlocks, 32>>>(ok);
  CK_LAUNCH();
  CK(cudaDeviceSynchronize());
  int host_ok[kBlocks];
  CK(cudaMemcpy(host_ok, ok, sizeof host_ok, cudaMemcpyDeviceToHost));
  int good = 0;
  for (int v : host_ok) good += v;
  std::printf("device mallocs of 1 MiB that succeeded: %d of %d\n", good, kBlocks);
  EXPECT(good == kBlocks);

  size_t stack = 0, fifo = 0;
  CK(cudaDeviceSetLimit(cudaLimitStackSize, 16384));
  CK(cudaDeviceGetLimit(&stack, cudaLimitStackSize));
  CK(cudaDeviceSetLimit(cudaLimitPrintfFifoSize, size_t{4} << 20));
  CK(cudaDeviceGetLimit(&fifo, cudaLimitPrintfFifoSize));
  std::printf("stack size: %zu, printf fifo: %zu\n", stack, fifo);
  EXPECT(stack == 16384 && fifo == (size_t{4} << 20));

  asserting<<<8, 32>>>(3);
  EXPECT_ERR("launch", cudaGetLastError(), cudaSuccess);
  EXPECT_ERR("synchronize after the assert", cudaDeviceSynchronize(), cudaErrorAssert);
  int* later = nullptr;
  EXPECT_ERR("a later cudaMalloc", cudaMalloc(&later, 64), cudaErrorAssert);
  EXPECT_ERR("a later cudaMemcpy", cudaMemcpy(host_ok, ok, sizeof host_ok, cudaMemcpyDeviceToHost), cudaErrorAssert);
  std::printf("device_limits_assert PASS\n");
  return 0;
}
