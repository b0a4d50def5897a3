// memory_pools: stream-ordered allocation. cudaMallocAsync/cudaFreeAsync on three streams, many
// rounds of allocations that grow and shrink, each filled by a kernel and checked exactly (a
// block reused too early would hold another stream's values); the default pool's attributes
// (reserved at least what is used, the high watermarks, a reset), a release threshold, trimming
// back to nothing; an explicit pool with cudaMallocFromPoolAsync; the device's current pool set
// and read back. Only relations between the pools' byte counts are printed: how much the driver
// reserves beyond what is used is its own choice.
#include <vector>

#include "common.h"

constexpr int kStreams = 3;
constexpr int kRounds = 12;

__global__ void fill(unsigned* p, size_t n, unsigned value) {
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += size_t{gridDim.x} * blockDim.x)
    p[i] = value + static_cast<unsigned>(i);
}

__global__ void sum_check(const unsigned* p, size_t n, unsigned value, unsigned long long* wrong) {
  unsigned long long bad = 0;
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += size_t{gridDim.x} * blockDim.x)
    bad += p[i] != value + static_cast<unsigned>(i);
  if (bad != 0) atomicAdd(wrong, bad);
}

unsigned long long attribute(cudaMemPool_t pool, cudaMemPoolAttr attr) {
  unsigned long long v = 0;
  CK(cudaMemPoolGetAttribute(pool, attr, &v));
  return v;
}

// Rounds of allocations on every stream, sizes growing then shrinking; each block is filled and
// checked on its stream, then freed there, so the next round's block may be the same memory.
unsigned long long rounds(cudaStream_t* streams, cudaMemPool_t pool, bool from_pool, unsigned long long* wrong) {
  unsigned long long elements = 0;
  for (int r = 0; r < kRounds; ++r) {
    const size_t n = (size_t{1} << 16) * static_cast<size_t>(r < kRounds / 2 ? r + 1 : kRounds - r);
    for (int s = 0; s < kStreams; ++s) {
      unsigned* p = nullptr;
      if (from_pool)
        CK(cudaMallocFromPoolAsync(reinterpret_cast<void**>(&p), n * sizeof(unsigned), pool, streams[s]));
      else
        CK(cudaMallocAsync(reinterpret_cast<void**>(&p), n * sizeof(unsigned), streams[s]));
      const unsigned value = 1000u * static_cast<unsigned>(r) + 100u * static_cast<unsigned>(s);
      fill<<<64, 256, 0, streams[s]>>>(p, n, value);
      CK_LAUNCH();
      sum_check<<<64, 256, 0, streams[s]>>>(p, n, value, wrong);
      CK_LAUNCH();
      CK(cudaFreeAsync(p, streams[s]));
      elements += n;
    }
  }
  for (int s = 0; s < kStreams; ++s) CK(cudaStreamSynchronize(streams[s]));
  return elements;
}

int main() {
  int supported = 0;
  CK(cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, 0));
  std::printf("memory pools supported=%d\n", supported);
  EXPECT(supported == 1);

  cudaStream_t streams[kStreams];
  for (auto& s : streams) CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  unsigned long long* wrong = nullptr;
  CK(cudaMalloc(&wrong, sizeof *wrong));
  CK(cudaMemset(wrong, 0, sizeof *wrong));

  // The default pool.
  cudaMemPool_t pool = nullptr;
  CK(cudaDeviceGetDefaultMemPool(&pool, 0));
  cudaMemPool_t current = nullptr;
  CK(cudaDeviceGetMemPool(&current, 0));
  std::printf("current pool is the default=%d\n", current == pool);
  const unsigned long long elements = rounds(streams, pool, false, wrong);
  unsigned long long bad = 0;
  CK(cudaMemcpy(&bad, wrong, sizeof bad, cudaMemcpyDeviceToHost));
  std::printf("default pool: %llu elements checked, wrong=%llu\n", elements, bad);
  EXPECT(bad == 0);
  const unsigned long long used_high = attribute(pool, cudaMemPoolAttrUsedMemHigh);
  const unsigned long long reserved_high = attribute(pool, cudaMemPoolAttrReservedMemHigh);
  std::printf("after the rounds: used now=%llu, used high >= the largest block: %d, reserved high >= used high: %d\n",
              (attribute(pool, cudaMemPoolAttrUsedMemCurrent)),
              used_high >= (size_t{1} << 16) * (kRounds / 2) * sizeof(unsigned), reserved_high >= used_high);
  // Resetting the high watermark brings it down to what is used now (nothing).
  unsigned long long zero = 0;
  CK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &zero));
  std::printf("used high after a reset=%llu\n", (attribute(pool, cudaMemPoolAttrUsedMemHigh)));
  // Trimmed to nothing, the pool gives all its memory back.
  CK(cudaMemPoolTrimTo(pool, 0));
  std::printf("reserved after trimming to 0=%llu\n",
              (attribute(pool, cudaMemPoolAttrReservedMemCurrent)));

  // A release threshold keeps memory for the next allocations.
  unsigned long long threshold = 64ull << 20;
  CK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
  std::printf("release threshold=%llu\n",
              (attribute(pool, cudaMemPoolAttrReleaseThreshold)));
  void* keep = nullptr;
  CK(cudaMallocAsync(&keep, 16 << 20, streams[0]));
  CK(cudaFreeAsync(keep, streams[0]));
  CK(cudaStreamSynchronize(streams[0]));
  std::printf("kept under the threshold: reserved >= 16 MiB: %d\n",
              attribute(pool, cudaMemPoolAttrReservedMemCurrent) >= (16u << 20));
  CK(cudaMemPoolTrimTo(pool, 0));

  // An explicit pool on device 0.
  cudaMemPoolProps props{};
  props.allocType = cudaMemAllocationTypePinned;
  props.location.type = cudaMemLocationTypeDevice;
  props.location.id = 0;
  cudaMemPool_t own = nullptr;
  CK(cudaMemPoolCreate(&own, &props));
  CK(cudaMemset(wrong, 0, sizeof *wrong));
  const unsigned long long own_elements = rounds(streams, own, true, wrong);
  CK(cudaMemcpy(&bad, wrong, sizeof bad, cudaMemcpyDeviceToHost));
  std::printf("explicit pool: %llu elements checked, wrong=%llu\n", own_elements, bad);
  EXPECT(bad == 0);
  cudaMemAccessDesc access{};
  access.location.type = cudaMemLocationTypeDevice;
  access.location.id = 0;
  cudaMemAccessFlags flags = cudaMemAccessFlagsProtNone;
  CK(cudaMemPoolGetAccess(&flags, own, &access.location));
  std::printf("explicit pool access from its device: read-write=%d\n", flags == cudaMemAccessFlagsProtReadWrite);

  // The device's current pool: the explicit one, then the default again.
  CK(cudaDeviceSetMemPool(0, own));
  CK(cudaDeviceGetMemPool(&current, 0));
  std::printf("current pool is the explicit one=%d\n", current == own);
  void* p = nullptr;
  CK(cudaMallocAsync(&p, 1 << 20, streams[1]));
  std::printf("explicit pool in use after cudaMallocAsync: %d\n",
              attribute(own, cudaMemPoolAttrUsedMemCurrent) >= (1u << 20));
  CK(cudaFreeAsync(p, streams[1]));
  CK(cudaStreamSynchronize(streams[1]));
  CK(cudaDeviceSetMemPool(0, pool));
  CK(cudaMemPoolDestroy(own));

  for (auto& s : streams) CK(cudaStreamDestroy(s));
  CK(cudaFree(wrong));
  std::printf("memory_pools PASS\n");
  return 0;
}
