// What a kernel prints reaches the guest program's stdout, in order with the program's own
// output: the fake driver's fake_printf kernel prints one line per block when the context
// synchronizes, as NVIDIA's driver prints a kernel's printf output. Prints, in this order:
// "before", the three kernel lines, "between", three more from a second launch flushed by a
// stream synchronize, "after".
#include <cuda.h>

#include <cstdio>
#include <cstdlib>

#include "guest_check.h"

int main() {
  static const char kImage[] = "FAKECUBIN 1\nkernel fake_printf 4\n";
  CU_CHECK(cuInit(0));
  CUdevice dev;
  CU_CHECK(cuDeviceGet(&dev, 0));
  CUcontext ctx;
  CU_CHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
  CU_CHECK(cuCtxSetCurrent(ctx));
  CUmodule module;
  CU_CHECK(cuModuleLoadData(&module, kImage));
  CUfunction kernel;
  CU_CHECK(cuModuleGetFunction(&kernel, module, "fake_printf"));

  std::printf("before\n");
  unsigned int value = 7;
  void* args[] = {&value};
  CU_CHECK(cuLaunchKernel(kernel, 3, 1, 1, 32, 1, 1, 0, nullptr, args, nullptr));
  CU_CHECK(cuCtxSynchronize());
  std::printf("between\n");
  value = 8;
  CU_CHECK(cuLaunchKernel(kernel, 3, 1, 1, 32, 1, 1, 0, nullptr, args, nullptr));
  CU_CHECK(cuStreamSynchronize(nullptr));
  std::printf("after\n");
  CU_CHECK(cuModuleUnload(module));
  CU_CHECK(cuDevicePrimaryCtxRelease(dev));
  return 0;
}
