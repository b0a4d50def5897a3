// Blocks in cudaDeviceSynchronize behind a long kernel (the fake driver's fake_sleep_ms).
// Arguments: the kernel's milliseconds (default 2000), then bytes of device memory to hold
// while it runs (default none).
#include <cstdlib>

#include "test/integration/guest_programs/fake_module.h"
#include "test/integration/guest_programs/guest_check.h"

namespace {
void sleep_stub() {}
}  // namespace

int main(int argc, char** argv) {
  int ms = argc > 1 ? std::atoi(argv[1]) : 2000;
  void** handle = guest_test::register_image("FAKECUBIN 1\nkernel fake_sleep_ms 4\n");
  guest_test::register_kernel(handle, reinterpret_cast<const void*>(&sleep_stub), "fake_sleep_ms");
  __cudaRegisterFatBinaryEnd(handle);
  const size_t hold = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 0;
  void* held = nullptr;
  if (hold > 0) CHECK(cudaMalloc(&held, hold));
  void* args[] = {&ms};
  CHECK(cudaLaunchKernel(reinterpret_cast<const void*>(&sleep_stub), dim3(1), dim3(1), args, 0, 0));
  std::printf("sleeping\n");
  std::fflush(stdout);
  CHECK(cudaDeviceSynchronize());
  std::printf("sleep_kernel ok\n");
  return 0;
}
