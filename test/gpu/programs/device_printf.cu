// device_printf: what kernels print with printf reaches the program's stdout, in order with
// what the host prints. Through vgpu the driver that runs the kernel belongs to vgpud, so the
// text must travel back to the guest (docs/design.md §14, "What kernels print"); natively the driver writes
// it into the program's own stdout at the next synchronizing call.
//
// Each kernel runs one thread, so the order of its lines is fixed; a third kernel prints more
// than one forwarded record holds (16 KiB), so the text must arrive in pieces and in order.
#include "common.h"

__global__ void hello(int launch, float scale, const char* tag) {
  for (int i = 0; i < 4; ++i)
    printf("launch %d line %d: %d * %.2f = %.3f (%s)\n", launch, i, i, scale, i * scale, tag);
}

__global__ void many_lines(int count) {
  for (int i = 0; i < count; ++i) printf("many %04d: %08x\n", i, i * 2654435761u);
}

__device__ const char kTag[] = "from the device";

int main() {
  CK(cudaSetDevice(0));
  void* tag = nullptr;
  CK(cudaGetSymbolAddress(&tag, kTag));

  std::printf("host: before the first kernel\n");
  hello<<<1, 1>>>(1, 0.5f, static_cast<const char*>(tag));
  CK_LAUNCH();
  CK(cudaDeviceSynchronize());
  std::printf("host: between kernels\n");

  cudaStream_t stream;
  CK(cudaStreamCreate(&stream));
  hello<<<1, 1, 0, stream>>>(2, 1.25f, static_cast<const char*>(tag));
  CK_LAUNCH();
  CK(cudaStreamSynchronize(stream));
  std::printf("host: after the stream's kernel\n");

  many_lines<<<1, 1>>>(1500);  // about 30 KB of text
  CK_LAUNCH();
  CK(cudaDeviceSynchronize());
  CK(cudaStreamDestroy(stream));
  std::printf("host: done\n");
  return 0;
}
