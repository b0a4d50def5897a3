// streams_events_overlap: the classic overlap pipeline. Pinned host memory (cudaMallocHost), four
// streams made four ways (cudaStreamCreate, ...WithFlags(NonBlocking), ...WithPriority, default
// flags), each chunk H2D -> kernel -> D2H with cudaMemcpyAsync; events recorded per stream, a
// join stream that cudaStreamWaitEvent()s on all of them before a combine kernel; the legacy
// default stream and cudaStreamPerThread used as well; cudaStreamQuery after sync.
#include "common.h"

#include <vector>

constexpr int NSTREAMS = 4;

__global__ void transform(unsigned int* x, int n, int iters) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  unsigned int v = x[i];
  for (int k = 0; k < iters; ++k) v = v * 1103515245u + 12345u + static_cast<unsigned int>(k);
  x[i] = v;
}

// out[i] = sum over chunks c of chunk_c[i]
__global__ void combine(unsigned int* const* chunks, int nchunks, unsigned int* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  unsigned int s = 0;
  for (int c = 0; c < nchunks; ++c) s += chunks[c][i];
  out[i] = s;
}

__global__ void add_const(unsigned int* x, int n, unsigned int c) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) x[i] += c;
}

static unsigned int host_transform(unsigned int v, int iters) {
  for (int k = 0; k < iters; ++k) v = v * 1103515245u + 12345u + static_cast<unsigned int>(k);
  return v;
}

int main() {
  const int chunk = 2 << 20;  // 2M elements = 8 MB per stream
  const int iters = 16;
  const int rounds = 3;
  const size_t bytes = sizeof(unsigned int) * chunk;

  cudaStream_t st[NSTREAMS];
  CK(cudaStreamCreate(&st[0]));
  CK(cudaStreamCreateWithFlags(&st[1], cudaStreamNonBlocking));
  CK(cudaStreamCreateWithPriority(&st[2], cudaStreamNonBlocking, -1));  // clamped to the device's range
  CK(cudaStreamCreateWithFlags(&st[3], cudaStreamDefault));
  cudaStream_t join;
  CK(cudaStreamCreateWithFlags(&join, cudaStreamNonBlocking));

  unsigned int* hin[NSTREAMS];
  unsigned int* hout[NSTREAMS];
  unsigned int* dbuf[NSTREAMS];
  cudaEvent_t done[NSTREAMS];
  for (int s = 0; s < NSTREAMS; ++s) {
    CK(cudaMallocHost(&hin[s], bytes));
    CK(cudaMallocHost(&hout[s], bytes));
    CK(cudaMalloc(&dbuf[s], bytes));
    CK(cudaEventCreateWithFlags(&done[s], cudaEventDisableTiming));
  }
  unsigned int** dptrs;
  unsigned int* dsum;
  CK(cudaMalloc(&dptrs, sizeof(unsigned int*) * NSTREAMS));
  CK(cudaMemcpy(dptrs, dbuf, sizeof(unsigned int*) * NSTREAMS, cudaMemcpyHostToDevice));
  CK(cudaMalloc(&dsum, bytes));
  std::vector<unsigned int> hsum(chunk);

  bool ok = true;
  for (int r = 0; r < rounds; ++r) {
    for (int s = 0; s < NSTREAMS; ++s)
      for (int i = 0; i < chunk; ++i) hin[s][i] = static_cast<unsigned int>(i) * 7u + s * 1000003u + r;

    for (int s = 0; s < NSTREAMS; ++s) {
      CK(cudaMemcpyAsync(dbuf[s], hin[s], bytes, cudaMemcpyHostToDevice, st[s]));
      transform<<<(chunk + 255) / 256, 256, 0, st[s]>>>(dbuf[s], chunk, iters);
      CK_LAUNCH();
      CK(cudaEventRecord(done[s], st[s]));
      CK(cudaMemcpyAsync(hout[s], dbuf[s], bytes, cudaMemcpyDeviceToHost, st[s]));
    }
    // The join stream waits for every stream's kernel, then combines the chunks on the device.
    for (int s = 0; s < NSTREAMS; ++s) CK(cudaStreamWaitEvent(join, done[s], 0));
    combine<<<(chunk + 255) / 256, 256, 0, join>>>(dptrs, NSTREAMS, dsum, chunk);
    CK_LAUNCH();
    // Per-thread default stream: waits for the join via an event, adds a constant.
    cudaEvent_t joined;
    CK(cudaEventCreateWithFlags(&joined, cudaEventDisableTiming));
    CK(cudaEventRecord(joined, join));
    CK(cudaStreamWaitEvent(cudaStreamPerThread, joined, 0));
    add_const<<<(chunk + 255) / 256, 256, 0, cudaStreamPerThread>>>(dsum, chunk, 5u + r);
    CK_LAUNCH();
    CK(cudaStreamSynchronize(cudaStreamPerThread));
    // Legacy default stream: a blocking copy back (synchronizes with the blocking streams).
    CK(cudaMemcpy(hsum.data(), dsum, bytes, cudaMemcpyDeviceToHost));
    for (int s = 0; s < NSTREAMS; ++s) CK(cudaStreamSynchronize(st[s]));
    CK(cudaStreamSynchronize(join));
    for (int s = 0; s < NSTREAMS; ++s) CK(cudaStreamQuery(st[s]));
    CK(cudaStreamQuery(join));
    for (int s = 0; s < NSTREAMS; ++s) CK(cudaEventQuery(done[s]));
    CK(cudaEventDestroy(joined));

    uint64_t h = 1469598103934665603ull;
    int bad = 0;
    for (int i = 0; i < chunk; ++i) {
      unsigned int expect_sum = 0;
      for (int s = 0; s < NSTREAMS; ++s) {
        unsigned int e = host_transform(hin[s][i], iters);
        if (hout[s][i] != e) ++bad;
        expect_sum += e;
      }
      if (hsum[i] != expect_sum + 5u + static_cast<unsigned int>(r)) ++bad;
    }
    for (int s = 0; s < NSTREAMS; ++s) h = fnv1a(hout[s], bytes, h);
    h = fnv1a(hsum.data(), bytes, h);
    std::printf("round=%d mismatches=%d checksum=0x%016llx\n", r, bad, static_cast<unsigned long long>(h));
    ok &= bad == 0;
  }

  // Default-stream work ordered against a blocking stream: memset on stream 0, kernel on st[0]
  // (blocking stream, so it waits for the legacy stream), copy back on stream 0.
  CK(cudaMemsetAsync(dbuf[0], 0, bytes, 0));
  add_const<<<(chunk + 255) / 256, 256, 0, st[0]>>>(dbuf[0], chunk, 9u);
  CK_LAUNCH();
  CK(cudaMemcpyAsync(hout[0], dbuf[0], bytes, cudaMemcpyDeviceToHost, 0));
  CK(cudaStreamSynchronize(0));
  int bad0 = 0;
  for (int i = 0; i < chunk; ++i)
    if (hout[0][i] != 9u) ++bad0;
  std::printf("legacy_stream_ordering mismatches=%d\n", bad0);
  ok &= bad0 == 0;

  for (int s = 0; s < NSTREAMS; ++s) {
    CK(cudaEventDestroy(done[s]));
    CK(cudaStreamDestroy(st[s]));
    CK(cudaFreeHost(hin[s]));
    CK(cudaFreeHost(hout[s]));
    CK(cudaFree(dbuf[s]));
  }
  CK(cudaStreamDestroy(join));
  CK(cudaFree(dptrs));
  CK(cudaFree(dsum));
  std::printf("streams_events_overlap %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
