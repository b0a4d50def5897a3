// idle_client SECONDS: what many programs do before their first real call: count the devices
// and read their properties; then it waits. It must make no CUDA context (through vgpu: no
// GPU memory taken for it). Prints the device count and the first device's name.
#include <unistd.h>

#include "../programs/common.h"

int main(int argc, char** argv) {
  int count = 0;
  CK(cudaGetDeviceCount(&count));
  cudaDeviceProp prop{};
  CK(cudaGetDeviceProperties(&prop, 0));
  std::printf("idle_client: %d devices, %s\n", count, prop.name);
  std::fflush(stdout);
  sleep(argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : 10);
  return 0;
}
