// CUDA arrays, texture and surface objects through vgpu's libcuda.so.1 (docs/design.md §23): the
// descriptors, the 1D array copies at offsets that run across rows (host, device and array
// ends, synchronous, asynchronous and per-thread forms), cuMemcpy2D/3D with array ends (host,
// unified, page-locked and device memory, array to array, a copy of several MiB), mipmap levels,
// texture and surface objects made, queried and destroyed, and a texture object handed to a
// kernel as its argument. Every object made is destroyed (LeakSanitizer runs).
#include <cuda.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "guest_check.h"

extern "C" {
CUresult cuMemcpyHtoA_v2_ptds(CUarray, size_t, const void*, size_t);
CUresult cuMemcpyAtoH_v2_ptds(void*, CUarray, size_t, size_t);
CUresult cuMemcpyDtoA_v2_ptds(CUarray, size_t, CUdeviceptr, size_t);
CUresult cuMemcpyAtoD_v2_ptds(CUdeviceptr, CUarray, size_t, size_t);
CUresult cuMemcpyAtoA_v2_ptds(CUarray, size_t, CUarray, size_t, size_t);
CUresult cuMemcpyHtoAAsync_v2_ptsz(CUarray, size_t, const void*, size_t, CUstream);
CUresult cuMemcpyAtoHAsync_v2_ptsz(void*, CUarray, size_t, size_t, CUstream);
CUresult cuMemcpy2D_v2_ptds(const CUDA_MEMCPY2D*);
CUresult cuMemcpy3DAsync_v2_ptsz(const CUDA_MEMCPY3D*, CUstream);
}

namespace {

std::vector<uint32_t> pattern(size_t n, uint32_t base) {
  std::vector<uint32_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = base + static_cast<uint32_t>(i * 2654435761u);
  return v;
}

CUDA_ARRAY3D_DESCRIPTOR descriptor(size_t w, size_t h, size_t d, unsigned flags = 0) {
  CUDA_ARRAY3D_DESCRIPTOR desc{};
  desc.Width = w, desc.Height = h, desc.Depth = d;
  desc.Format = CU_AD_FORMAT_UNSIGNED_INT32;
  desc.NumChannels = 1;
  desc.Flags = flags;
  return desc;
}

// The 1D copies on a 2D array of 100 x 10 words: spans that start and end inside rows.
void linear_copies(CUstream stream) {
  CUDA_ARRAY_DESCRIPTOR d2{};
  d2.Width = 100, d2.Height = 10, d2.Format = CU_AD_FORMAT_UNSIGNED_INT32, d2.NumChannels = 1;
  CUarray a = nullptr, b = nullptr;
  CU_CHECK(cuArrayCreate(&a, &d2));
  CU_CHECK(cuArrayCreate(&b, &d2));
  CUDA_ARRAY_DESCRIPTOR got{};
  CU_CHECK(cuArrayGetDescriptor(&got, a));
  EXPECT(got.Width == 100 && got.Height == 10 && got.Format == CU_AD_FORMAT_UNSIGNED_INT32);
  const std::vector<uint32_t> in = pattern(1000, 1);
  CU_CHECK(cuMemcpyHtoA(a, 0, in.data(), 4000));
  std::vector<uint32_t> out(1000, 0);
  CU_CHECK(cuMemcpyAtoH(out.data(), a, 4 * 150, 4 * 620));  // rows 1.5 .. 7.7
  EXPECT(std::memcmp(out.data(), in.data() + 150, 4 * 620) == 0);
  CUdeviceptr dev = 0;
  CU_CHECK(cuMemAlloc(&dev, 4000));
  CU_CHECK(cuMemcpyAtoD(dev, a, 4 * 37, 4 * 900));
  CU_CHECK(cuMemcpyDtoA(b, 4 * 37, dev, 4 * 900));
  CU_CHECK(cuMemcpyAtoA(a, 0, b, 4 * 37, 4 * 900));  // a[0..900) = in[37..937)
  CU_CHECK(cuMemcpyAtoHAsync(out.data(), a, 0, 4000, stream));
  CU_CHECK(cuStreamSynchronize(stream));
  EXPECT(std::memcmp(out.data(), in.data() + 37, 4 * 900) == 0 && out[999] == in[999]);
  CU_CHECK(cuMemcpyHtoAAsync(b, 0, in.data(), 4000, stream));
  CU_CHECK(cuStreamSynchronize(stream));
  // Per-thread forms, each its legacy twin on the thread's stream.
  CU_CHECK(cuMemcpyHtoA_v2_ptds(a, 4, in.data(), 8));
  CU_CHECK(cuMemcpyAtoA_v2_ptds(b, 4 * 500, a, 0, 16));
  CU_CHECK(cuMemcpyAtoD_v2_ptds(dev, b, 4 * 500, 16));
  CU_CHECK(cuMemcpyDtoA_v2_ptds(a, 4 * 990, dev, 16));
  CU_CHECK(cuMemcpyHtoAAsync_v2_ptsz(a, 4 * 996, in.data(), 8, nullptr));
  CU_CHECK(cuMemcpyAtoHAsync_v2_ptsz(out.data(), a, 4 * 990, 40, nullptr));
  CU_CHECK(cuStreamSynchronize(CU_STREAM_PER_THREAD));
  CU_CHECK(cuMemcpyAtoH_v2_ptds(out.data() + 10, a, 0, 8));
  EXPECT(out[0] == in[37] && out[1] == in[0] && out[2] == in[1] && out[6] == in[0] && out[7] == in[1] &&
         out[8] == in[998] && out[10] == in[37] && out[11] == in[0]);
  // Past the array's bytes; a handle of another kind.
  EXPECT(cuMemcpyHtoA(a, 4 * 999, in.data(), 8) == CUDA_ERROR_INVALID_VALUE);
  EXPECT(cuMemcpyHtoA(reinterpret_cast<CUarray>(stream), 0, in.data(), 4) == CUDA_ERROR_INVALID_HANDLE);
  CU_CHECK(cuMemFree(dev));
  CU_CHECK(cuArrayDestroy(b));
  CU_CHECK(cuArrayDestroy(a));
  std::printf("linear copies ok\n");
}

// cuMemcpy2D/3D with array ends.
void box_copies(CUstream stream) {
  const CUDA_ARRAY3D_DESCRIPTOR d = descriptor(64, 32, 16);
  CUarray volume = nullptr, other = nullptr;
  CU_CHECK(cuArray3DCreate(&volume, &d));
  CU_CHECK(cuArray3DCreate(&other, &d));
  CUDA_ARRAY3D_DESCRIPTOR got{};
  CU_CHECK(cuArray3DGetDescriptor(&got, volume));
  EXPECT(got.Width == 64 && got.Height == 32 && got.Depth == 16 && got.NumChannels == 1);
  const std::vector<uint32_t> in = pattern(64 * 32 * 16, 7);
  CUDA_MEMCPY3D up{};
  up.srcMemoryType = CU_MEMORYTYPE_UNIFIED;  // host memory, told apart by its address
  up.srcDevice = reinterpret_cast<CUdeviceptr>(in.data());
  up.srcPitch = 256;
  up.srcHeight = 32;
  up.dstMemoryType = CU_MEMORYTYPE_ARRAY;
  up.dstArray = volume;
  up.WidthInBytes = 256, up.Height = 32, up.Depth = 16;
  CU_CHECK(cuMemcpy3D(&up));
  // Array to array, a box, on a per-thread stream; then the whole volume back into page-locked memory.
  CUDA_MEMCPY3D across{};
  across.srcMemoryType = across.dstMemoryType = CU_MEMORYTYPE_ARRAY;
  across.srcArray = volume, across.dstArray = other;
  across.srcXInBytes = across.dstXInBytes = 16;
  across.srcY = across.dstY = 2, across.srcZ = across.dstZ = 3;
  across.WidthInBytes = 128, across.Height = 20, across.Depth = 10;
  CU_CHECK(cuMemcpy3DAsync_v2_ptsz(&across, nullptr));
  CU_CHECK(cuStreamSynchronize(CU_STREAM_PER_THREAD));
  uint32_t* pinned = nullptr;
  CU_CHECK(cuMemAllocHost(reinterpret_cast<void**>(&pinned), in.size() * 4));
  std::memset(pinned, 0, in.size() * 4);
  CUDA_MEMCPY3D down{};
  down.srcMemoryType = CU_MEMORYTYPE_ARRAY;
  down.srcArray = other;
  down.dstMemoryType = CU_MEMORYTYPE_HOST;
  down.dstHost = pinned;
  down.dstPitch = 256, down.dstHeight = 32;
  down.WidthInBytes = 256, down.Height = 32, down.Depth = 16;
  CU_CHECK(cuMemcpy3DAsync(&down, stream));
  CU_CHECK(cuStreamSynchronize(stream));
  const auto at = [](size_t x, size_t y, size_t z) { return (z * 32 + y) * 64 + x; };
  EXPECT(pinned[at(4, 2, 3)] == in[at(4, 2, 3)] && pinned[at(35, 21, 12)] == in[at(35, 21, 12)]);
  EXPECT(pinned[at(3, 2, 3)] == 0 && pinned[at(36, 21, 12)] == 0 && pinned[at(4, 2, 13)] == 0);

  // 2D: a slice of rows into a 2D array from device memory, out again to the host, unaligned.
  CUarray plane = nullptr;
  const CUDA_ARRAY3D_DESCRIPTOR p = descriptor(64, 32, 0);
  CU_CHECK(cuArray3DCreate(&plane, &p));
  CUdeviceptr dev = 0;
  size_t pitch = 0;
  CU_CHECK(cuMemAllocPitch(&dev, &pitch, 256, 32, 4));
  CUDA_MEMCPY2D fill{};
  fill.srcMemoryType = CU_MEMORYTYPE_HOST, fill.srcHost = in.data(), fill.srcPitch = 256;
  fill.dstMemoryType = CU_MEMORYTYPE_DEVICE, fill.dstDevice = dev, fill.dstPitch = pitch;
  fill.WidthInBytes = 256, fill.Height = 32;
  CU_CHECK(cuMemcpy2D_v2_ptds(&fill));
  CUDA_MEMCPY2D c{};
  c.srcMemoryType = CU_MEMORYTYPE_DEVICE, c.srcDevice = dev, c.srcPitch = pitch, c.srcY = 4;
  c.dstMemoryType = CU_MEMORYTYPE_ARRAY, c.dstArray = plane, c.dstY = 4;
  c.WidthInBytes = 256, c.Height = 28;
  CU_CHECK(cuMemcpy2DAsync(&c, stream));
  std::vector<uint32_t> out(64 * 32, 0);
  CUDA_MEMCPY2D back{};
  back.srcMemoryType = CU_MEMORYTYPE_ARRAY, back.srcArray = plane, back.srcXInBytes = 8, back.srcY = 4;
  back.dstMemoryType = CU_MEMORYTYPE_HOST, back.dstHost = out.data(), back.dstPitch = 256;
  back.WidthInBytes = 240, back.Height = 28;
  CU_CHECK(cuMemcpy2DUnaligned(&back));
  EXPECT(out[0] == in[4 * 64 + 2] && out[27 * 64 + 59] == in[31 * 64 + 61]);
  // A box past the array: refused; a width that is not whole elements: refused.
  back.srcY = 5;
  EXPECT(cuMemcpy2D(&back) == CUDA_ERROR_INVALID_VALUE);
  back.srcY = 4, back.WidthInBytes = 6;
  EXPECT(cuMemcpy2D(&back) == CUDA_ERROR_INVALID_VALUE);

  CU_CHECK(cuMemFreeHost(pinned));
  CU_CHECK(cuMemFree(dev));
  CU_CHECK(cuArrayDestroy(plane));
  CU_CHECK(cuArrayDestroy(volume));
  CU_CHECK(cuArrayDestroy(other));
  std::printf("box copies ok\n");
}

// A copy of 6 MiB each way between pageable memory and an array, in pieces.
void large_copy() {
  const CUDA_ARRAY3D_DESCRIPTOR d = descriptor(1024, 512, 3);
  CUarray a = nullptr;
  CU_CHECK(cuArray3DCreate(&a, &d));
  const std::vector<uint32_t> in = pattern(1024 * 512 * 3, 11);
  std::vector<uint32_t> out(in.size(), 0);
  CUDA_MEMCPY3D c{};
  c.srcMemoryType = CU_MEMORYTYPE_HOST, c.srcHost = in.data(), c.srcPitch = 4096, c.srcHeight = 512;
  c.dstMemoryType = CU_MEMORYTYPE_ARRAY, c.dstArray = a;
  c.WidthInBytes = 4096, c.Height = 512, c.Depth = 3;
  CU_CHECK(cuMemcpy3D(&c));
  CUDA_MEMCPY3D r{};
  r.srcMemoryType = CU_MEMORYTYPE_ARRAY, r.srcArray = a;
  r.dstMemoryType = CU_MEMORYTYPE_HOST, r.dstHost = out.data(), r.dstPitch = 4096, r.dstHeight = 512;
  r.WidthInBytes = 4096, r.Height = 512, r.Depth = 3;
  CU_CHECK(cuMemcpy3D(&r));
  EXPECT(out == in);
  CU_CHECK(cuArrayDestroy(a));
  std::printf("large copy ok\n");
}

// Mipmap levels, texture objects (array with a view, mipmapped array, pitched and linear memory)
// and a surface object; a texture object as a kernel's argument.
void textures(CUstream stream) {
  CUmipmappedArray mip = nullptr;
  const CUDA_ARRAY3D_DESCRIPTOR md = descriptor(64, 64, 0);
  CU_CHECK(cuMipmappedArrayCreate(&mip, &md, 3));
  CUarray level2 = nullptr;
  CU_CHECK(cuMipmappedArrayGetLevel(&level2, mip, 2));
  CUDA_ARRAY3D_DESCRIPTOR ld{};
  CU_CHECK(cuArray3DGetDescriptor(&ld, level2));
  EXPECT(ld.Width == 16 && ld.Height == 16);
  EXPECT(cuArrayDestroy(level2) == CUDA_ERROR_INVALID_HANDLE);

  CUarray surface_array = nullptr;
  const CUDA_ARRAY3D_DESCRIPTOR sd = descriptor(32, 32, 0, CUDA_ARRAY3D_SURFACE_LDST);
  CU_CHECK(cuArray3DCreate(&surface_array, &sd));
  CUDA_RESOURCE_DESC res{};
  res.resType = CU_RESOURCE_TYPE_ARRAY;
  res.res.array.hArray = surface_array;
  CUDA_TEXTURE_DESC td{};
  td.addressMode[0] = td.addressMode[1] = CU_TR_ADDRESS_MODE_WRAP;
  td.filterMode = CU_TR_FILTER_MODE_POINT;
  td.flags = CU_TRSF_READ_AS_INTEGER;
  CUDA_RESOURCE_VIEW_DESC view{};
  view.format = CU_RES_VIEW_FORMAT_UINT_1X32;
  view.width = 32, view.height = 32;
  CUtexObject tex = 0, tex_mip = 0, tex_pitched = 0, tex_linear = 0;
  CU_CHECK(cuTexObjectCreate(&tex, &res, &td, &view));
  CUDA_RESOURCE_VIEW_DESC got_view{};
  CU_CHECK(cuTexObjectGetResourceViewDesc(&got_view, tex));
  EXPECT(got_view.format == CU_RES_VIEW_FORMAT_UINT_1X32 && got_view.width == 32);
  CUDA_TEXTURE_DESC got_td{};
  CU_CHECK(cuTexObjectGetTextureDesc(&got_td, tex));
  EXPECT(got_td.flags == CU_TRSF_READ_AS_INTEGER && got_td.addressMode[0] == CU_TR_ADDRESS_MODE_WRAP);
  CUsurfObject surf = 0;
  CU_CHECK(cuSurfObjectCreate(&surf, &res));
  CUDA_RESOURCE_DESC got{};
  CU_CHECK(cuSurfObjectGetResourceDesc(&got, surf));
  EXPECT(got.resType == CU_RESOURCE_TYPE_ARRAY && got.res.array.hArray == surface_array);
  EXPECT(cuTexObjectGetResourceDesc(&got, surf) == CUDA_ERROR_INVALID_VALUE);  // a surface, not a texture

  CUDA_RESOURCE_DESC mr{};
  mr.resType = CU_RESOURCE_TYPE_MIPMAPPED_ARRAY;
  mr.res.mipmap.hMipmappedArray = mip;
  CU_CHECK(cuTexObjectCreate(&tex_mip, &mr, &td, nullptr));
  CUdeviceptr dev = 0;
  size_t pitch = 0;
  CU_CHECK(cuMemAllocPitch(&dev, &pitch, 40 * 4, 30, 4));
  CUDA_RESOURCE_DESC pr{};
  pr.resType = CU_RESOURCE_TYPE_PITCH2D;
  pr.res.pitch2D.devPtr = dev, pr.res.pitch2D.format = CU_AD_FORMAT_UNSIGNED_INT32, pr.res.pitch2D.numChannels = 1;
  pr.res.pitch2D.width = 40, pr.res.pitch2D.height = 30, pr.res.pitch2D.pitchInBytes = pitch;
  CU_CHECK(cuTexObjectCreate(&tex_pitched, &pr, &td, nullptr));
  CUDA_RESOURCE_DESC lr{};
  lr.resType = CU_RESOURCE_TYPE_LINEAR;
  lr.res.linear.devPtr = dev, lr.res.linear.format = CU_AD_FORMAT_FLOAT, lr.res.linear.numChannels = 2;
  lr.res.linear.sizeInBytes = pitch * 30;
  CU_CHECK(cuTexObjectCreate(&tex_linear, &lr, &td, nullptr));
  CU_CHECK(cuTexObjectGetResourceDesc(&got, tex_linear));
  EXPECT(got.resType == CU_RESOURCE_TYPE_LINEAR && got.res.linear.devPtr == dev && got.res.linear.numChannels == 2);
  // Pitched rows that run past the allocation, an array that is not one: refused.
  CUtexObject refused = 0;
  pr.res.pitch2D.height = 31;
  EXPECT(cuTexObjectCreate(&refused, &pr, &td, nullptr) == CUDA_ERROR_INVALID_VALUE);
  res.res.array.hArray = reinterpret_cast<CUarray>(&pitch);
  EXPECT(cuTexObjectCreate(&refused, &res, &td, nullptr) == CUDA_ERROR_INVALID_HANDLE);

  // The texture object reaches a kernel as a plain 64-bit argument.
  const char image[] = "FAKECUBIN 1\nkernel sample_texture 8,8\n";
  CUmodule module = nullptr;
  CU_CHECK(cuModuleLoadData(&module, image));
  CUfunction sample = nullptr;
  CU_CHECK(cuModuleGetFunction(&sample, module, "sample_texture"));
  void* args[] = {&tex, &dev};
  CU_CHECK(cuLaunchKernel(sample, 1, 1, 1, 32, 1, 1, 0, stream, args, nullptr));
  CU_CHECK(cuStreamSynchronize(stream));
  // As the launch log shows a parameter: its bytes in memory order.
  std::printf("texture object bytes ");
  for (size_t i = 0; i < sizeof tex; ++i) std::printf("%02x", reinterpret_cast<const unsigned char*>(&tex)[i]);
  std::printf("\n");
  CU_CHECK(cuModuleUnload(module));

  for (CUtexObject t : {tex, tex_mip, tex_pitched, tex_linear}) CU_CHECK(cuTexObjectDestroy(t));
  EXPECT(cuTexObjectDestroy(tex) == CUDA_ERROR_INVALID_VALUE);
  CU_CHECK(cuSurfObjectDestroy(surf));
  EXPECT(cuSurfObjectDestroy(surf) == CUDA_ERROR_INVALID_VALUE);
  CU_CHECK(cuMemFree(dev));
  CU_CHECK(cuArrayDestroy(surface_array));
  CU_CHECK(cuMipmappedArrayDestroy(mip));
  std::printf("textures ok\n");
}

void refusals() {
  CUarray a = nullptr;
  CUDA_ARRAY3D_DESCRIPTOR d = descriptor(16, 16, 0, CUDA_ARRAY3D_SPARSE);
  EXPECT(cuArray3DCreate(&a, &d) == CUDA_ERROR_NOT_SUPPORTED);
  d = descriptor(16, 16, 0);
  d.Format = CU_AD_FORMAT_NV12;
  EXPECT(cuArray3DCreate(&a, &d) == CUDA_ERROR_NOT_SUPPORTED);
  d = descriptor(16, 16, 0);
  d.NumChannels = 3;
  EXPECT(cuArray3DCreate(&a, &d) == CUDA_ERROR_INVALID_VALUE);
  EXPECT(cuArrayDestroy(nullptr) == CUDA_ERROR_INVALID_HANDLE);
}

}  // namespace

int main() {
  CU_CHECK(cuInit(0));
  CUcontext ctx = nullptr;
  CU_CHECK(cuDevicePrimaryCtxRetain(&ctx, 0));
  CU_CHECK(cuCtxSetCurrent(ctx));
  CUstream stream = nullptr;
  CU_CHECK(cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));
  linear_copies(stream);
  box_copies(stream);
  large_copy();
  textures(stream);
  refusals();
  CU_CHECK(cuStreamDestroy(stream));
  CU_CHECK(cuDevicePrimaryCtxRelease(0));
  std::printf("arrays_driver ok\n");
  return 0;
}
