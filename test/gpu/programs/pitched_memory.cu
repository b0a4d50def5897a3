// pitched_memory: the runtime's pitched memory and what it passes through to the driver.
// cudaMallocPitch and cudaMalloc3D (pitches printed); cudaMemcpy2D host->device, device->device
// at an offset on a stream (cudaMemcpy2DAsync) and device->host; a kernel that walks rows by
// the pitch; cudaMemset2D/2DAsync of sub-rectangles; cudaMemcpy3D/3DAsync between a tight host
// box and a pitched device box at offsets; cudaMemset3D; a width past the pitch
// (cudaErrorInvalidPitchValue); cudaDeviceSetLimit/GetLimit (printf FIFO, malloc heap);
// cudaStreamGetFlags/GetPriority/GetDevice; cudaGetDriverEntryPointByVersion. Every result is
// compared with a host model and printed as a checksum.
#include <cuda.h>

#include <vector>

#include "common.h"

namespace {

uint64_t checksum(const std::vector<unsigned char>& v) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char b : v) h = (h ^ b) * 1099511628211ull;
  return h;
}

// Adds the row number to every byte of a width x height rectangle of a pitched buffer.
__global__ void add_row(unsigned char* base, size_t pitch, int width, int height) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y;
  if (x < width && y < height) base[y * pitch + x] += static_cast<unsigned char>(y);
}

std::vector<unsigned char> read_back(const void* dev, size_t pitch, size_t width, size_t rows) {
  std::vector<unsigned char> out(width * rows, 0xEE);
  CK(cudaMemcpy2D(out.data(), width, dev, pitch, width, rows, cudaMemcpyDeviceToHost));
  return out;
}

}  // namespace

int main() {
  CK(cudaSetDevice(0));
  const size_t width = 1000, height = 9;
  void* a = nullptr;
  size_t pitch = 0;
  CK(cudaMallocPitch(&a, &pitch, width, height));
  std::printf("cudaMallocPitch(1000 x 9): pitch=%zu\n", pitch);

  std::vector<unsigned char> model(width * height);
  for (size_t i = 0; i < model.size(); ++i) model[i] = static_cast<unsigned char>(i * 7 + 1);
  CK(cudaMemcpy2D(a, pitch, model.data(), width, width, height, cudaMemcpyHostToDevice));
  add_row<<<dim3((width + 127) / 128, height), 128>>>(static_cast<unsigned char*>(a), pitch, width, height);
  CK_LAUNCH();
  for (size_t y = 0; y < height; ++y)
    for (size_t x = 0; x < width; ++x) model[y * width + x] += static_cast<unsigned char>(y);
  CK(cudaMemset2D(static_cast<char*>(a) + 2 * pitch + 100, pitch, 0xAB, 300, 4));
  for (size_t y = 2; y < 6; ++y)
    for (size_t x = 100; x < 400; ++x) model[y * width + x] = 0xAB;
  cudaStream_t stream;
  CK(cudaStreamCreateWithPriority(&stream, cudaStreamNonBlocking, -1));
  CK(cudaMemset2DAsync(static_cast<char*>(a) + 900, pitch, 0x5C, 64, 9, stream));
  for (size_t y = 0; y < 9; ++y)
    for (size_t x = 900; x < 964; ++x) model[y * width + x] = 0x5C;
  CK(cudaStreamSynchronize(stream));
  std::vector<unsigned char> got = read_back(a, pitch, width, height);
  std::printf("2D: match=%d checksum=%016llx\n", got == model ? 1 : 0,
              static_cast<unsigned long long>(checksum(got)));

  void* b = nullptr;
  size_t pitch_b = 0;
  CK(cudaMallocPitch(&b, &pitch_b, 500, 6));
  CK(cudaMemset2D(b, pitch_b, 0, 500, 6));
  CK(cudaMemcpy2DAsync(static_cast<char*>(b) + pitch_b + 7, pitch_b, static_cast<char*>(a) + 3 * pitch + 11, pitch,
                       400, 5, cudaMemcpyDeviceToDevice, stream));
  CK(cudaStreamSynchronize(stream));
  std::vector<unsigned char> model_b(500 * 6, 0);
  for (size_t y = 0; y < 5; ++y)
    for (size_t x = 0; x < 400; ++x) model_b[(y + 1) * 500 + 7 + x] = model[(y + 3) * width + 11 + x];
  got = read_back(b, pitch_b, 500, 6);
  std::printf("2D device to device: pitch=%zu match=%d checksum=%016llx\n", pitch_b, got == model_b ? 1 : 0,
              static_cast<unsigned long long>(checksum(got)));

  const cudaError_t bad = cudaMemcpy2D(a, pitch, model.data(), 10, 20, 2, cudaMemcpyHostToDevice);
  std::printf("width past the pitch: %s, last error %s\n", cudaGetErrorName(bad), cudaGetErrorName(cudaGetLastError()));

  // 3D: a 200 x 6 x 4 box.
  const cudaExtent box{200, 6, 4};
  cudaPitchedPtr p3{};
  CK(cudaMalloc3D(&p3, box));
  std::printf("cudaMalloc3D(200 x 6 x 4): pitch=%zu xsize=%zu ysize=%zu\n", p3.pitch, p3.xsize, p3.ysize);
  CK(cudaMemset3D(p3, 0x11, box));
  std::vector<unsigned char> src(200 * 6 * 4);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<unsigned char>(i * 13 + 5);
  cudaMemcpy3DParms c{};
  c.srcPtr = cudaPitchedPtr{src.data(), 200, 200, 6};
  c.srcPos = cudaPos{4, 1, 0};
  c.dstPtr = p3;
  c.dstPos = cudaPos{8, 2, 1};
  c.extent = cudaExtent{120, 3, 3};
  c.kind = cudaMemcpyHostToDevice;
  CK(cudaMemcpy3D(&c));
  std::vector<unsigned char> want(200 * 6 * 4, 0x11);
  for (size_t z = 0; z < 3; ++z)
    for (size_t y = 0; y < 3; ++y)
      for (size_t x = 0; x < 120; ++x)
        want[((1 + z) * 6 + 2 + y) * 200 + 8 + x] = src[(z * 6 + 1 + y) * 200 + 4 + x];
  std::vector<unsigned char> back(200 * 6 * 4, 0);
  cudaMemcpy3DParms d{};
  d.srcPtr = p3;
  d.dstPtr = cudaPitchedPtr{back.data(), 200, 200, 6};
  d.extent = box;
  d.kind = cudaMemcpyDeviceToHost;
  CK(cudaMemcpy3DAsync(&d, stream));
  CK(cudaStreamSynchronize(stream));
  std::printf("3D: match=%d checksum=%016llx\n", back == want ? 1 : 0,
              static_cast<unsigned long long>(checksum(back)));

  // Limits.
  size_t fifo = 0, heap = 0;
  CK(cudaDeviceSetLimit(cudaLimitPrintfFifoSize, 4 << 20));
  CK(cudaDeviceSetLimit(cudaLimitMallocHeapSize, 32 << 20));
  CK(cudaDeviceGetLimit(&fifo, cudaLimitPrintfFifoSize));
  CK(cudaDeviceGetLimit(&heap, cudaLimitMallocHeapSize));
  std::printf("limits: printf FIFO %zu, malloc heap %zu\n", fifo, heap);

  // Stream queries.
  unsigned flags = 0;
  int priority = 0, device = -1;
  CK(cudaStreamGetFlags(stream, &flags));
  CK(cudaStreamGetPriority(stream, &priority));
  CK(cudaStreamGetDevice(stream, &device));
  std::printf("stream: flags=%u priority=%d device=%d\n", flags, priority, device);

  // A driver function through the runtime.
  void* fn = nullptr;
  cudaDriverEntryPointQueryResult status = cudaDriverEntryPointSymbolNotFound;
  CK(cudaGetDriverEntryPointByVersion("cuMemsetD8", &fn, 13000, cudaEnableDefault, &status));
  EXPECT(fn != nullptr);
  auto memset_d8 = reinterpret_cast<CUresult (*)(CUdeviceptr, unsigned char, size_t)>(fn);
  const CUresult r = memset_d8(reinterpret_cast<CUdeviceptr>(b), 0x77, 3);
  unsigned char first[3] = {};
  CK(cudaMemcpy(first, b, 3, cudaMemcpyDeviceToHost));
  std::printf("cuMemsetD8 via cudaGetDriverEntryPointByVersion: status=%d result=%d bytes=%02x%02x%02x\n",
              static_cast<int>(status), static_cast<int>(r), first[0], first[1], first[2]);

  CK(cudaStreamDestroy(stream));
  CK(cudaFree(a));
  CK(cudaFree(b));
  CK(cudaFree(p3.ptr));
  std::printf("pitched_memory PASS\n");
  return 0;
}
