// forever_kernel: holds 1 GiB of device memory and runs a kernel that never ends, then waits
// for it. run-hostile.sh SIGKILLs it while the kernel runs and times how long the GPU takes to
// give the memory back. Prints "forever_kernel: running" (flushed) once the kernel runs.
#include "../programs/common.h"

__global__ void spin_forever(volatile int* never_set) {
  while (*never_set == 0) {
  }
}

int main() {
  int* flag = nullptr;
  char* held = nullptr;
  CK(cudaMalloc(&flag, sizeof(int)));
  CK(cudaMemset(flag, 0, sizeof(int)));
  CK(cudaMalloc(&held, 1ull << 30));
  CK(cudaMemset(held, 1, 1ull << 30));
  CK(cudaDeviceSynchronize());
  spin_forever<<<1, 1>>>(flag);
  CK_LAUNCH();
  std::printf("forever_kernel: running\n");
  std::fflush(stdout);
  CK(cudaDeviceSynchronize());  // never returns
  return 0;
}
