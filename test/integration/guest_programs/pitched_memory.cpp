// The runtime shim's pitched memory and the calls it passes to the driver: cudaMallocPitch and
// cudaMalloc3D, 2D and 3D copies (host to device, device to device at offsets, device to host,
// synchronous and on a stream), 2D and 3D memsets of sub-rectangles, each checked byte for byte
// against a host model; cudaDeviceGetLimit/SetLimit; a stream's flags, priority, device and id;
// a driver function reached through cudaGetDriverEntryPointByVersion; and stream-ordered
// allocation (cudaMallocAsync, cudaFreeAsync, cudaMemPool*), the driver shim's pools.
#include <cuda.h>

#include <cstring>
#include <vector>

#include "test/integration/guest_programs/guest_check.h"

namespace {

// A pitched buffer's bytes as the host sees them.
struct Model {
  size_t pitch, rows;
  std::vector<unsigned char> bytes;
  Model(size_t p, size_t r) : pitch(p), rows(r), bytes(p * r, 0) {}
  unsigned char* at(size_t x, size_t y) { return &bytes[y * pitch + x]; }
};

void fill_rect(Model& m, size_t x, size_t y, size_t w, size_t h, unsigned char v) {
  for (size_t r = 0; r < h; ++r) std::memset(m.at(x, y + r), v, w);
}

// The device buffer's `width` bytes of each of `rows` rows, read back with cudaMemcpy2D.
std::vector<unsigned char> read_back(const void* dev, size_t pitch, size_t width, size_t rows) {
  std::vector<unsigned char> out(width * rows, 0xEE);
  CHECK(cudaMemcpy2D(out.data(), width, dev, pitch, width, rows, cudaMemcpyDeviceToHost));
  return out;
}

bool same(const Model& m, size_t width, const std::vector<unsigned char>& got) {
  for (size_t y = 0; y < m.rows; ++y)
    if (std::memcmp(&m.bytes[y * m.pitch], &got[y * width], width) != 0) return false;
  return true;
}

}  // namespace

int main() {
  // ---- 2D: a 100 x 7 rectangle of bytes
  const size_t width = 100, height = 7;
  void* a = nullptr;
  size_t pitch = 0;
  CHECK(cudaMallocPitch(&a, &pitch, width, height));
  EXPECT(pitch >= width);
  std::vector<unsigned char> host(width * height);
  for (size_t i = 0; i < host.size(); ++i) host[i] = static_cast<unsigned char>(i * 7 + 1);
  CHECK(cudaMemcpy2D(a, pitch, host.data(), width, width, height, cudaMemcpyHostToDevice));
  Model m(width, height);
  std::memcpy(m.bytes.data(), host.data(), host.size());
  EXPECT(same(m, width, read_back(a, pitch, width, height)));

  // A memset of a sub-rectangle, on the legacy stream and then on a created one.
  CHECK(cudaMemset2D(static_cast<char*>(a) + pitch * 2 + 10, pitch, 0xAB, 30, 3));
  fill_rect(m, 10, 2, 30, 3, 0xAB);
  cudaStream_t stream = nullptr;
  CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  CHECK(cudaMemset2DAsync(static_cast<char*>(a) + 50, pitch, 0x5C, 20, 6, stream));
  fill_rect(m, 50, 0, 20, 6, 0x5C);
  CHECK(cudaStreamSynchronize(stream));
  EXPECT(same(m, width, read_back(a, pitch, width, height)));

  // Device to device into a second pitched buffer at an offset, asynchronously.
  void* b = nullptr;
  size_t pitch_b = 0;
  CHECK(cudaMallocPitch(&b, &pitch_b, width, height));
  CHECK(cudaMemset2D(b, pitch_b, 0, width, height));
  CHECK(cudaMemcpy2DAsync(static_cast<char*>(b) + pitch_b + 3, pitch_b, a, pitch, 40, 4,
                          cudaMemcpyDeviceToDevice, stream));
  CHECK(cudaStreamSynchronize(stream));
  Model mb(width, height);
  for (size_t y = 0; y < 4; ++y) std::memcpy(mb.at(3, y + 1), m.at(0, y), 40);
  EXPECT(same(mb, width, read_back(b, pitch_b, width, height)));

  // A width past the pitch is refused before anything moves.
  EXPECT(cudaMemcpy2D(a, pitch, host.data(), 10, 20, 2, cudaMemcpyHostToDevice) == cudaErrorInvalidPitchValue);
  EXPECT(cudaGetLastError() == cudaErrorInvalidPitchValue);

  // ---- 3D: a 64 x 5 x 3 box
  const cudaExtent box = cudaExtent{64, 5, 3};
  cudaPitchedPtr p3{};
  CHECK(cudaMalloc3D(&p3, box));
  EXPECT(p3.pitch >= 64 && p3.xsize == 64 && p3.ysize == 5);
  CHECK(cudaMemset3D(p3, 0x11, box));
  std::vector<unsigned char> src3(64 * 5 * 3);
  for (size_t i = 0; i < src3.size(); ++i) src3[i] = static_cast<unsigned char>(i * 13 + 5);
  // Host (tight) -> device: a 20 x 2 x 2 block from (4, 1, 0) in the source to (8, 2, 1).
  cudaMemcpy3DParms c{};
  c.srcPtr = cudaPitchedPtr{src3.data(), 64, 64, 5};
  c.srcPos = cudaPos{4, 1, 0};
  c.dstPtr = p3;
  c.dstPos = cudaPos{8, 2, 1};
  c.extent = cudaExtent{20, 2, 2};
  c.kind = cudaMemcpyHostToDevice;
  CHECK(cudaMemcpy3D(&c));
  std::vector<unsigned char> want(64 * 5 * 3, 0x11);
  for (size_t z = 0; z < 2; ++z)
    for (size_t y = 0; y < 2; ++y)
      std::memcpy(&want[((1 + z) * 5 + 2 + y) * 64 + 8], &src3[(z * 5 + 1 + y) * 64 + 4], 20);
  // Device -> host, the whole box, on a stream.
  std::vector<unsigned char> got(64 * 5 * 3, 0);
  cudaMemcpy3DParms back{};
  back.srcPtr = p3;
  back.dstPtr = cudaPitchedPtr{got.data(), 64, 64, 5};
  back.extent = box;
  back.kind = cudaMemcpyDeviceToHost;
  CHECK(cudaMemcpy3DAsync(&back, stream));
  CHECK(cudaStreamSynchronize(stream));
  EXPECT(got == want);

  // ---- limits, stream queries, a driver entry point
  size_t fifo = 0;
  CHECK(cudaDeviceSetLimit(cudaLimitPrintfFifoSize, 4 << 20));
  CHECK(cudaDeviceGetLimit(&fifo, cudaLimitPrintfFifoSize));
  EXPECT(fifo == (4u << 20));
  unsigned flags = 99;
  int priority = 99, device = 99;
  CHECK(cudaStreamGetFlags(stream, &flags));
  CHECK(cudaStreamGetPriority(stream, &priority));
  CHECK(cudaStreamGetDevice(stream, &device));
  EXPECT(flags == cudaStreamNonBlocking && priority == 0 && device == 0);
  cudaStream_t other = nullptr;
  unsigned long long id = 0, other_id = 0;
  CHECK(cudaStreamCreate(&other));
  CHECK(cudaStreamGetId(stream, &id));
  CHECK(cudaStreamGetId(other, &other_id));
  EXPECT(id != other_id);
  CHECK(cudaStreamDestroy(other));

  void* fn = nullptr;
  cudaDriverEntryPointQueryResult status = cudaDriverEntryPointSymbolNotFound;
  CHECK(cudaGetDriverEntryPointByVersion("cuMemsetD8", &fn, 13000, cudaEnableDefault, &status));
  EXPECT(fn != nullptr && status == cudaDriverEntryPointSuccess);
  auto memset_d8 = reinterpret_cast<CUresult (*)(CUdeviceptr, unsigned char, size_t)>(fn);
  EXPECT(memset_d8(reinterpret_cast<CUdeviceptr>(b), 0x77, 1) == CUDA_SUCCESS);
  unsigned char first = 0;
  CHECK(cudaMemcpy(&first, b, 1, cudaMemcpyDeviceToHost));
  EXPECT(first == 0x77);

  // ---- stream-ordered allocation
  int pools = 0;
  CHECK(cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, 0));
  EXPECT(pools == 1);
  cudaMemPool_t pool = nullptr, current = nullptr;
  CHECK(cudaDeviceGetDefaultMemPool(&pool, 0));
  CHECK(cudaDeviceGetMemPool(&current, 0));
  EXPECT(pool != nullptr && current == pool);
  constexpr size_t kBlock = 1 << 20;
  void* block = nullptr;
  CHECK(cudaMallocAsync(&block, kBlock, stream));
  CHECK(cudaMemsetAsync(block, 0x5a, kBlock, stream));
  unsigned char last = 0;
  CHECK(cudaMemcpyAsync(&last, static_cast<char*>(block) + kBlock - 1, 1, cudaMemcpyDeviceToHost, stream));
  CHECK(cudaStreamSynchronize(stream));
  EXPECT(last == 0x5a);
  CHECK(cudaFreeAsync(block, stream));
  void* again = nullptr;
  CHECK(cudaMallocAsync(&again, kBlock, stream));
  EXPECT(again == block);  // freed on the same stream: the same block
  unsigned long long used = 0;
  CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &used));
  EXPECT(used == kBlock);
  CHECK(cudaFreeAsync(again, stream));
  cudaMemPoolProps props{};
  props.allocType = cudaMemAllocationTypePinned;
  props.location = {cudaMemLocationTypeDevice, 0};
  cudaMemPool_t own = nullptr;
  CHECK(cudaMemPoolCreate(&own, &props));
  void* from_own = nullptr;
  CHECK(cudaMallocFromPoolAsync(&from_own, 4096, own, stream));
  cudaMemLocation here{cudaMemLocationTypeDevice, 0};
  cudaMemAccessFlags access = cudaMemAccessFlagsProtNone;
  CHECK(cudaMemPoolGetAccess(&access, own, &here));
  EXPECT(access == cudaMemAccessFlagsProtReadWrite);
  CHECK(cudaFreeAsync(from_own, stream));
  CHECK(cudaStreamSynchronize(stream));
  CHECK(cudaMemPoolTrimTo(own, 0));
  CHECK(cudaMemPoolDestroy(own));
  CHECK(cudaMemPoolTrimTo(pool, 0));
  EXPECT(cudaMemPoolDestroy(pool) == cudaErrorInvalidValue);  // a default pool
  EXPECT(cudaGetLastError() == cudaErrorInvalidValue);
  int fd = -1;
  EXPECT(cudaMemPoolExportToShareableHandle(&fd, pool, cudaMemHandleTypePosixFileDescriptor, 0) ==
         cudaErrorNotSupported);
  EXPECT(cudaGetLastError() == cudaErrorNotSupported);

  CHECK(cudaStreamDestroy(stream));
  CHECK(cudaFree(a));
  CHECK(cudaFree(b));
  CHECK(cudaFree(p3.ptr));
  std::printf("pitched_memory ok\n");
  return 0;
}
