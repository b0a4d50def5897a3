// busy_kernel: keeps the whole GPU busy for about 3 s: enough 256-thread blocks to fill every SM,
// each thread spinning until 3 s have passed. run-multi.sh runs it in one tenant while it times a
// short program in another, to show whether one tenant's long job slows the other down.
// The spin reads %globaltimer (nanoseconds), not clock64: the SM clock changes with boost and
// power, and the job should last the same wall time on every run.
// Prints "busy_kernel: launched" (flushed) as soon as the launch returns, so that a script can
// start its measurement while the kernel runs; every line is deterministic.
#include "common.h"

__device__ __forceinline__ unsigned long long gtime() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

__global__ void spin(unsigned long long ns, unsigned int* blocks_done,
                     unsigned long long* longest) {
  unsigned long long t0 = gtime();
  unsigned long long t = t0;
  while (t - t0 < ns) t = gtime();
  __syncthreads();
  if (threadIdx.x == 0) {
    atomicAdd(blocks_done, 1u);
    atomicMax(longest, t - t0);
  }
}

int main() {
  const unsigned long long ns = 3ull * 1000 * 1000 * 1000;
  int sms = 0, threads_per_sm = 0;
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  CK(cudaDeviceGetAttribute(&threads_per_sm, cudaDevAttrMaxThreadsPerMultiProcessor, 0));
  const unsigned int blocks =
      static_cast<unsigned int>(sms) * static_cast<unsigned int>(threads_per_sm / 256);

  unsigned int* d_done = nullptr;
  unsigned long long* d_longest = nullptr;
  CK(cudaMalloc(&d_done, sizeof(unsigned int)));
  CK(cudaMalloc(&d_longest, sizeof(unsigned long long)));
  CK(cudaMemset(d_done, 0, sizeof(unsigned int)));
  CK(cudaMemset(d_longest, 0, sizeof(unsigned long long)));
  CK(cudaDeviceSynchronize());

  spin<<<blocks, 256>>>(ns, d_done, d_longest);
  CK_LAUNCH();
  std::printf("busy_kernel: launched\n");
  std::fflush(stdout);
  CK(cudaDeviceSynchronize());

  unsigned int done = 0;
  unsigned long long longest = 0;
  CK(cudaMemcpy(&done, d_done, sizeof(done), cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(&longest, d_longest, sizeof(longest), cudaMemcpyDeviceToHost));
  const bool ok = done == blocks && longest >= ns;
  std::printf("busy_kernel: all_blocks_done=%d spun_ge_3s=%d\n", done == blocks ? 1 : 0,
              longest >= ns ? 1 : 0);
  CK(cudaFree(d_done));
  CK(cudaFree(d_longest));
  std::printf("busy_kernel %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
