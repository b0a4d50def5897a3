// Takes GPU resources, says so, and waits to be killed: the test kills it with SIGKILL and
// checks that vgpud released everything.
#include <unistd.h>

#include "test/integration/guest_programs/guest_check.h"

int main() {
  void *a, *b, *c;
  CHECK(cudaMalloc(&a, 1 << 20));
  CHECK(cudaMalloc(&b, 1 << 20));
  CHECK(cudaMalloc(&c, 1 << 20));
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  cudaEvent_t e;
  CHECK(cudaEventCreate(&e));
  CHECK(cudaEventRecord(e, s));
  CHECK(cudaDeviceSynchronize());
  std::printf("holding\n");
  std::fflush(stdout);
  for (;;) pause();
}
