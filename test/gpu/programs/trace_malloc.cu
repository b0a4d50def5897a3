// trace_malloc: the smallest possible program, one cudaMalloc and one cudaFree, so a debug-level
// run (VGPU_LOG=debug, vgpud --log-level debug) shows one call's trace through every hop.
#include "common.h"

int main() {
  void* p = nullptr;
  CK(cudaMalloc(&p, 1 << 20));
  std::printf("malloc=ok nonnull=%d\n", p != nullptr ? 1 : 0);
  CK(cudaFree(p));
  std::printf("trace_malloc PASS\n");
  return 0;
}
