// memcpy_2d_3d: pitched memory and 2D/3D copies and memsets through the driver API, all checked
// byte for byte against a host model of every buffer.
// Proves cuMemAllocPitch (the pitch is printed); cuMemcpy2D host->device, device->device at
// unaligned x/y offsets (also cuMemcpy2DUnaligned), device->host into a wider host pitch;
// cuMemcpy3D host->device, device->device with offsets in x, y and z, device->host, on linear
// pitched memory (no arrays); cuMemsetD2D8/D2D16/D2D32 on sub-rectangles; and the Async variants
// (cuMemcpy2DAsync, cuMemcpy3DAsync, cuMemsetD2D*Async) on a stream with pinned host memory.
// blobs: cubin
#if defined(__CUDACC__)
// Present so that the module has code; the program itself launches nothing.
extern "C" __global__ void unused_kernel() {}
#else
#include <vector>

#include "driver_common.h"
#include "drv_blobs.h"

// A host model of a pitched device buffer.
struct Model {
  size_t pitch, rows;
  std::vector<unsigned char> b;
  Model(size_t p, size_t r) : pitch(p), rows(r), b(p * r, 0) {}
  unsigned char* at(size_t x, size_t y) { return &b[y * pitch + x]; }
};

static void expect_device(const char* label, CUdeviceptr d, Model& m) {
  std::vector<unsigned char> got(m.b.size());
  CHECK(cuMemcpyDtoH(got.data(), d, got.size()));
  EXPECT(got == m.b);
  print_hex(label, fnv1a(got.data(), got.size()));
}

static CUDA_MEMCPY2D copy2d() {
  CUDA_MEMCPY2D c;
  std::memset(&c, 0, sizeof c);
  return c;
}

static CUDA_MEMCPY3D copy3d() {
  CUDA_MEMCPY3D c;
  std::memset(&c, 0, sizeof c);
  return c;
}

int main() {
  CUdevice dev;
  init_primary(&dev);
  CUmodule mod;
  CHECK(cuModuleLoadData(&mod, drv_cubin));

  // ---- 2D -----------------------------------------------------------------------------------
  const size_t W = 1000, H = 37;
  CUdeviceptr da, db;
  size_t pa = 0, pb = 0;
  CHECK(cuMemAllocPitch(&da, &pa, W, H, 4));
  CHECK(cuMemAllocPitch(&db, &pb, W, H, 16));
  std::printf("pitch(1000 bytes, elem 4)=%zu pitch(elem 16)=%zu\n", pa, pb);
  EXPECT(pa >= W && pb >= W);
  Model ma(pa, H), mb(pb, H);
  CHECK(cuMemsetD8(da, 0, pa * H));
  CHECK(cuMemsetD2D8(db, pb, 0xEE, pb, H));
  std::memset(mb.b.data(), 0xEE, mb.b.size());

  std::vector<unsigned char> src(W * H);
  fill_pattern(src.data(), src.size(), 1);
  CUDA_MEMCPY2D c = copy2d();  // host (tight pitch) -> da
  c.srcMemoryType = CU_MEMORYTYPE_HOST, c.srcHost = src.data(), c.srcPitch = W;
  c.dstMemoryType = CU_MEMORYTYPE_DEVICE, c.dstDevice = da, c.dstPitch = pa;
  c.WidthInBytes = W, c.Height = H;
  CHECK(cuMemcpy2D(&c));
  for (size_t y = 0; y < H; ++y) std::memcpy(ma.at(0, y), &src[y * W], W);
  expect_device("2d_htod", da, ma);

  c = copy2d();  // da (3, 2) -> db (5, 1), unaligned
  c.srcXInBytes = 3, c.srcY = 2, c.srcMemoryType = CU_MEMORYTYPE_DEVICE, c.srcDevice = da, c.srcPitch = pa;
  c.dstXInBytes = 5, c.dstY = 1, c.dstMemoryType = CU_MEMORYTYPE_DEVICE, c.dstDevice = db, c.dstPitch = pb;
  c.WidthInBytes = W - 8, c.Height = H - 3;
  CHECK(cuMemcpy2D(&c));
  for (size_t y = 0; y < H - 3; ++y) std::memcpy(mb.at(5, 1 + y), ma.at(3, 2 + y), W - 8);
  expect_device("2d_dtod_offsets", db, mb);

  c = copy2d();  // cuMemcpy2DUnaligned: da (1, 0) -> db (0, 30), odd width
  c.srcXInBytes = 1, c.srcMemoryType = CU_MEMORYTYPE_DEVICE, c.srcDevice = da, c.srcPitch = pa;
  c.dstY = 30, c.dstMemoryType = CU_MEMORYTYPE_DEVICE, c.dstDevice = db, c.dstPitch = pb;
  c.WidthInBytes = 777, c.Height = 7;
  CHECK(cuMemcpy2DUnaligned(&c));
  for (size_t y = 0; y < 7; ++y) std::memcpy(mb.at(0, 30 + y), ma.at(1, y), 777);
  expect_device("2d_unaligned", db, mb);

  std::vector<unsigned char> wide((W + 24) * H, 0x99), wide_model((W + 24) * H, 0x99);
  c = copy2d();  // db -> host with a wider pitch
  c.srcMemoryType = CU_MEMORYTYPE_DEVICE, c.srcDevice = db, c.srcPitch = pb;
  c.dstMemoryType = CU_MEMORYTYPE_HOST, c.dstHost = wide.data(), c.dstPitch = W + 24;
  c.WidthInBytes = W, c.Height = H;
  CHECK(cuMemcpy2D(&c));
  for (size_t y = 0; y < H; ++y) std::memcpy(&wide_model[y * (W + 24)], mb.at(0, y), W);
  EXPECT(wide == wide_model);
  print_hex("2d_dtoh_wide", fnv1a(wide.data(), wide.size()));

  // 2D memsets on sub-rectangles.
  CHECK(cuMemsetD2D8(db + 7, pb, 0x3C, 501, 9));
  for (size_t y = 0; y < 9; ++y) std::memset(mb.at(7, y), 0x3C, 501);
  CHECK(cuMemsetD2D16(db + pb * 10 + 2, pb, 0x1234, 300, 11));
  for (size_t y = 0; y < 11; ++y)
    for (size_t i = 0; i < 300; ++i) { uint16_t v = 0x1234; std::memcpy(mb.at(2 + 2 * i, 10 + y), &v, 2); }
  CHECK(cuMemsetD2D32(db + pb * 25 + 8, pb, 0xCAFEBABEu, 100, 10));
  for (size_t y = 0; y < 10; ++y)
    for (size_t i = 0; i < 100; ++i) { uint32_t v = 0xCAFEBABEu; std::memcpy(mb.at(8 + 4 * i, 25 + y), &v, 4); }
  expect_device("2d_memsets", db, mb);

  // ---- 3D on linear pitched memory ------------------------------------------------------------
  const size_t W3 = 300, H3 = 20, D3 = 6;
  CUdeviceptr d3a, d3b;
  size_t p3a = 0, p3b = 0;
  CHECK(cuMemAllocPitch(&d3a, &p3a, W3, H3 * D3, 4));
  CHECK(cuMemAllocPitch(&d3b, &p3b, W3, H3 * D3, 4));
  CHECK(cuMemsetD8(d3b, 0x42, p3b * H3 * D3));
  Model m3a(p3a, H3 * D3), m3b(p3b, H3 * D3);
  std::memset(m3b.b.data(), 0x42, m3b.b.size());
  std::vector<unsigned char> src3(W3 * H3 * D3);
  fill_pattern(src3.data(), src3.size(), 3);
  CHECK(cuMemsetD8(d3a, 0, p3a * H3 * D3));
  CUDA_MEMCPY3D c3 = copy3d();  // host -> d3a
  c3.srcMemoryType = CU_MEMORYTYPE_HOST, c3.srcHost = src3.data(), c3.srcPitch = W3, c3.srcHeight = H3;
  c3.dstMemoryType = CU_MEMORYTYPE_DEVICE, c3.dstDevice = d3a, c3.dstPitch = p3a, c3.dstHeight = H3;
  c3.WidthInBytes = W3, c3.Height = H3, c3.Depth = D3;
  CHECK(cuMemcpy3D(&c3));
  for (size_t z = 0; z < D3; ++z)
    for (size_t y = 0; y < H3; ++y) std::memcpy(m3a.at(0, z * H3 + y), &src3[(z * H3 + y) * W3], W3);
  expect_device("3d_htod", d3a, m3a);

  c3 = copy3d();  // d3a (4, 1, 1) -> d3b (0, 2, 0), extent (W3-4, H3-3, D3-1)
  c3.srcXInBytes = 4, c3.srcY = 1, c3.srcZ = 1;
  c3.srcMemoryType = CU_MEMORYTYPE_DEVICE, c3.srcDevice = d3a, c3.srcPitch = p3a, c3.srcHeight = H3;
  c3.dstY = 2;
  c3.dstMemoryType = CU_MEMORYTYPE_DEVICE, c3.dstDevice = d3b, c3.dstPitch = p3b, c3.dstHeight = H3;
  c3.WidthInBytes = W3 - 4, c3.Height = H3 - 3, c3.Depth = D3 - 1;
  CHECK(cuMemcpy3D(&c3));
  for (size_t z = 0; z < D3 - 1; ++z)
    for (size_t y = 0; y < H3 - 3; ++y)
      std::memcpy(m3b.at(0, z * H3 + 2 + y), m3a.at(4, (z + 1) * H3 + 1 + y), W3 - 4);
  expect_device("3d_dtod_offsets", d3b, m3b);

  std::vector<unsigned char> out3(W3 * H3 * D3, 0);
  c3 = copy3d();  // d3b -> host (tight)
  c3.srcMemoryType = CU_MEMORYTYPE_DEVICE, c3.srcDevice = d3b, c3.srcPitch = p3b, c3.srcHeight = H3;
  c3.dstMemoryType = CU_MEMORYTYPE_HOST, c3.dstHost = out3.data(), c3.dstPitch = W3, c3.dstHeight = H3;
  c3.WidthInBytes = W3, c3.Height = H3, c3.Depth = D3;
  CHECK(cuMemcpy3D(&c3));
  for (size_t r = 0; r < H3 * D3; ++r) EXPECT(std::memcmp(&out3[r * W3], m3b.at(0, r), W3) == 0);
  print_hex("3d_dtoh", fnv1a(out3.data(), out3.size()));

  // ---- Async on a stream, pinned host memory ---------------------------------------------------
  CUstream s;
  CHECK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
  unsigned char* pin = nullptr;
  CHECK(cuMemAllocHost(reinterpret_cast<void**>(&pin), W * H));
  fill_pattern(pin, W * H, 9);
  c = copy2d();
  c.srcMemoryType = CU_MEMORYTYPE_HOST, c.srcHost = pin, c.srcPitch = W;
  c.dstXInBytes = 16, c.dstY = 4, c.dstMemoryType = CU_MEMORYTYPE_DEVICE, c.dstDevice = da, c.dstPitch = pa;
  c.WidthInBytes = W - 16, c.Height = H - 4;
  CHECK(cuMemcpy2DAsync(&c, s));
  for (size_t y = 0; y < H - 4; ++y) std::memcpy(ma.at(16, 4 + y), &pin[y * W], W - 16);
  CHECK(cuMemsetD2D8Async(da + 1, pa, 0x01, 10, H, s));
  for (size_t y = 0; y < H; ++y) std::memset(ma.at(1, y), 0x01, 10);
  CHECK(cuMemsetD2D16Async(da + pa * 2 + 100, pa, 0xA55A, 50, 5, s));
  for (size_t y = 0; y < 5; ++y)
    for (size_t i = 0; i < 50; ++i) { uint16_t v = 0xA55A; std::memcpy(ma.at(100 + 2 * i, 2 + y), &v, 2); }
  CHECK(cuMemsetD2D32Async(da + pa * 20 + 400, pa, 0x0F0E0D0Cu, 60, 12, s));
  for (size_t y = 0; y < 12; ++y)
    for (size_t i = 0; i < 60; ++i) { uint32_t v = 0x0F0E0D0Cu; std::memcpy(ma.at(400 + 4 * i, 20 + y), &v, 4); }
  c3 = copy3d();  // d3a -> d3b, whole, async
  c3.srcMemoryType = CU_MEMORYTYPE_DEVICE, c3.srcDevice = d3a, c3.srcPitch = p3a, c3.srcHeight = H3;
  c3.dstMemoryType = CU_MEMORYTYPE_DEVICE, c3.dstDevice = d3b, c3.dstPitch = p3b, c3.dstHeight = H3;
  c3.WidthInBytes = W3, c3.Height = H3, c3.Depth = D3;
  CHECK(cuMemcpy3DAsync(&c3, s));
  for (size_t r = 0; r < H3 * D3; ++r) std::memcpy(m3b.at(0, r), m3a.at(0, r), W3);
  CHECK(cuStreamSynchronize(s));
  expect_device("async_2d", da, ma);
  expect_device("async_3d", d3b, m3b);

  CHECK(cuMemFreeHost(pin));
  CHECK(cuStreamDestroy(s));
  for (CUdeviceptr p : {da, db, d3a, d3b}) CHECK(cuMemFree(p));
  CHECK(cuModuleUnload(mod));
  CHECK(cuDevicePrimaryCtxRelease(dev));
  std::printf("memcpy_2d_3d PASS\n");
  return 0;
}
#endif
