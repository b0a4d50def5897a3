// CUDA arrays, texture and surface objects through the runtime shim (docs/design.md §23): data
// round-trips through 1D, 2D, 3D and layered arrays and two mipmap levels by every runtime copy
// path (pageable memory inline and staged in pieces, page-locked memory, device memory, array to
// array, the 1D copies at offsets, cudaMemcpy3D, asynchronous and per-thread forms), with copies
// of several MiB; texture objects over an array (with and without a view), a mipmapped array,
// pitched and linear memory, and a surface object, each queried and destroyed; and what is
// refused. Every object made is destroyed (LeakSanitizer runs).
//
//   arrays          everything above
//   arrays limit    arrays count against the tenant's device memory (the test gives it 8 MiB)
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "test/integration/guest_programs/guest_check.h"

// cudaMemcpyToArray and its kin are deprecated, and still CUDA's entry points that programs call.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

extern "C" {
cudaError_t cudaMemcpy2DToArray_ptds(cudaArray_t, size_t, size_t, const void*, size_t, size_t, size_t, cudaMemcpyKind);
cudaError_t cudaMemcpy2DFromArrayAsync_ptsz(void*, size_t, cudaArray_const_t, size_t, size_t, size_t, size_t,
                                            cudaMemcpyKind, cudaStream_t);
cudaError_t cudaMemcpyToArray_ptds(cudaArray_t, size_t, size_t, const void*, size_t, cudaMemcpyKind);
cudaError_t cudaMemcpyFromArray_ptds(void*, cudaArray_const_t, size_t, size_t, size_t, cudaMemcpyKind);
cudaError_t cudaMemcpyArrayToArray_ptds(cudaArray_t, size_t, size_t, cudaArray_const_t, size_t, size_t, size_t,
                                        cudaMemcpyKind);
cudaError_t cudaMemcpy3D_ptds(const cudaMemcpy3DParms*);
}

namespace {

const cudaChannelFormatDesc kFloat = cudaCreateChannelDesc(32, 0, 0, 0, cudaChannelFormatKindFloat);

std::vector<float> pattern(size_t n, float base) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = base + static_cast<float>(i % 9973) * 0.5f;
  return v;
}

// 1D: the linear copies at an offset, array to array, a 2D copy of the one row.
void one_dimension() {
  cudaArray_t a = nullptr, b = nullptr;
  CHECK(cudaMallocArray(&a, &kFloat, 1000));
  CHECK(cudaMallocArray(&b, &kFloat, 1000));
  cudaChannelFormatDesc desc{};
  cudaExtent extent{};
  unsigned flags = 99;
  CHECK(cudaArrayGetInfo(&desc, &extent, &flags, a));
  EXPECT(desc.x == 32 && desc.y == 0 && desc.f == cudaChannelFormatKindFloat);
  EXPECT(extent.width == 1000 && extent.height == 0 && extent.depth == 0 && flags == 0);
  const std::vector<float> in = pattern(1000, 1.0f);
  CHECK(cudaMemcpyToArray(a, 0, 0, in.data(), 4000, cudaMemcpyHostToDevice));
  std::vector<float> out(1000, -1.0f);
  CHECK(cudaMemcpyFromArray(out.data(), a, 40, 0, 400, cudaMemcpyDefault));  // elements 10..109
  EXPECT(std::memcmp(out.data(), in.data() + 10, 400) == 0);
  CHECK(cudaMemcpyArrayToArray(b, 0, 0, a, 0, 0, 4000, cudaMemcpyDeviceToDevice));
  CHECK(cudaMemcpy2DFromArray(out.data(), 4000, b, 0, 0, 4000, 1, cudaMemcpyDeviceToHost));
  EXPECT(out == in);
  // Per-thread forms: offsets, then array to array at other offsets.
  CHECK(cudaMemcpyToArray_ptds(a, 8, 0, in.data(), 16, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpyArrayToArray_ptds(b, 400, 0, a, 0, 0, 400, cudaMemcpyDefault));
  CHECK(cudaMemcpyFromArray_ptds(out.data(), b, 400, 0, 400, cudaMemcpyDeviceToHost));
  EXPECT(out[0] == in[0] && out[1] == in[1] && out[2] == in[0] && out[5] == in[3] && out[6] == in[6]);
  CHECK(cudaFreeArray(a));
  CHECK(cudaFreeArray(b));
}

// 2D: pageable, page-locked and device memory at offsets, synchronously and on a stream.
void two_dimensions(cudaStream_t stream) {
  const size_t w = 300, h = 200;  // elements
  cudaArray_t a = nullptr, b = nullptr;
  CHECK(cudaMallocArray(&a, &kFloat, w, h));
  CHECK(cudaMallocArray(&b, &kFloat, w, h));
  const std::vector<float> in = pattern(w * h, 2.0f);  // 240 KB: staged in pieces
  CHECK(cudaMemcpy2DToArray(a, 0, 0, in.data(), w * 4, w * 4, h, cudaMemcpyHostToDevice));
  std::vector<float> out(w * h, 0);
  CHECK(cudaMemcpy2DFromArray(out.data(), w * 4, a, 0, 0, w * 4, h, cudaMemcpyDeviceToHost));
  EXPECT(out == in);
  // A sub-rectangle through page-locked memory on a stream: rows 10..29, columns 5..69.
  float* pinned = nullptr;
  CHECK(cudaMallocHost(reinterpret_cast<void**>(&pinned), 64 * 20 * 4));
  for (size_t i = 0; i < 64 * 20; ++i) pinned[i] = -static_cast<float>(i);
  CHECK(cudaMemcpy2DToArrayAsync(a, 5 * 4, 10, pinned, 64 * 4, 64 * 4, 20, cudaMemcpyHostToDevice, stream));
  CHECK(cudaStreamSynchronize(stream));  // the copy reads the pinned bytes when the stream gets to it
  std::memset(pinned, 0, 64 * 20 * 4);
  CHECK(cudaMemcpy2DFromArrayAsync(pinned, 64 * 4, a, 5 * 4, 10, 64 * 4, 20, cudaMemcpyDeviceToHost, stream));
  CHECK(cudaStreamSynchronize(stream));
  EXPECT(pinned[0] == 0.0f && pinned[64 * 20 - 1] == -static_cast<float>(64 * 20 - 1));
  // Through pitched device memory, and array to array.
  void* dev = nullptr;
  size_t pitch = 0;
  CHECK(cudaMallocPitch(&dev, &pitch, w * 4, h));
  CHECK(cudaMemcpy2DFromArray(dev, pitch, a, 0, 0, w * 4, h, cudaMemcpyDeviceToDevice));
  CHECK(cudaMemcpy2DToArray_ptds(b, 0, 0, dev, pitch, w * 4, h, cudaMemcpyDefault));
  CHECK(cudaMemcpy2DArrayToArray(a, 0, 0, b, 0, 0, w * 4, h, cudaMemcpyDeviceToDevice));
  std::fill(out.begin(), out.end(), 0.0f);
  CHECK(cudaMemcpy2DFromArrayAsync_ptsz(out.data(), w * 4, a, 0, 0, w * 4, h, cudaMemcpyDeviceToHost, nullptr));
  CHECK(cudaStreamSynchronize(cudaStreamPerThread));
  EXPECT(out[10 * w + 5] == 0.0f && out[29 * w + 68] == -static_cast<float>(64 * 20 - 1) && out[0] == in[0] &&
         out[w * h - 1] == in[w * h - 1]);
  // A box past the array, a pitch short of the width: refused before anything moves.
  EXPECT(cudaMemcpy2DToArray(a, 4, 0, in.data(), w * 4, w * 4, 1, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  EXPECT(cudaMemcpy2DToArray(a, 0, h - 1, in.data(), w * 4, w * 4, 2, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  EXPECT(cudaMemcpy2DToArray(a, 0, 0, in.data(), 8, 16, 2, cudaMemcpyHostToDevice) == cudaErrorInvalidPitchValue);
  CHECK(cudaFreeHost(pinned));
  CHECK(cudaFree(dev));
  CHECK(cudaFreeArray(a));
  CHECK(cudaFreeArray(b));
}

// Large copies (several MiB, more than a staging block): a 2D float array and a 3D float4 one.
void large(cudaStream_t stream) {
  const size_t w = 1024, h = 2048;  // 8 MiB
  cudaArray_t a = nullptr;
  CHECK(cudaMallocArray(&a, &kFloat, w, h));
  const std::vector<float> in = pattern(w * h, 3.0f);
  CHECK(cudaMemcpy2DToArray(a, 0, 0, in.data(), w * 4, w * 4, h, cudaMemcpyHostToDevice));
  std::vector<float> out(w * h, 0);
  CHECK(cudaMemcpy2DFromArray(out.data(), w * 4, a, 0, 0, w * 4, h, cudaMemcpyDeviceToHost));
  EXPECT(out == in);
  CHECK(cudaFreeArray(a));

  const cudaChannelFormatDesc float4 = cudaCreateChannelDesc(32, 32, 32, 32, cudaChannelFormatKindFloat);
  const cudaExtent extent{64, 64, 80};  // 5 MiB
  cudaArray_t v = nullptr;
  CHECK(cudaMalloc3DArray(&v, &float4, extent));
  const std::vector<float> volume = pattern(64 * 64 * 80 * 4, 4.0f);
  cudaMemcpy3DParms to{};
  to.srcPtr = cudaPitchedPtr{const_cast<float*>(volume.data()), 64 * 16, 64, 64};
  to.dstArray = v;
  to.extent = extent;
  to.kind = cudaMemcpyHostToDevice;
  CHECK(cudaMemcpy3D(&to));
  // A box back (x 8..39, y 4..59, z 3..77) into a buffer of the whole volume's shape, on a stream.
  std::vector<float> back(volume.size(), 0);
  cudaMemcpy3DParms from{};
  from.srcArray = v;
  from.srcPos = cudaPos{8, 4, 3};
  from.dstPtr = cudaPitchedPtr{back.data(), 64 * 16, 64, 64};
  from.dstPos = cudaPos{8 * 16, 4, 3};
  from.extent = cudaExtent{32, 56, 75};
  from.kind = cudaMemcpyDeviceToHost;
  CHECK(cudaMemcpy3DAsync(&from, stream));
  CHECK(cudaStreamSynchronize(stream));
  const auto at = [](size_t x, size_t y, size_t z, size_t c) { return ((z * 64 + y) * 64 + x) * 4 + c; };
  EXPECT(back[at(8, 4, 3, 0)] == volume[at(8, 4, 3, 0)] && back[at(39, 59, 77, 3)] == volume[at(39, 59, 77, 3)]);
  EXPECT(back[at(7, 4, 3, 0)] == 0.0f && back[at(40, 59, 77, 3)] == 0.0f);
  // Out of the volume: refused.
  from.srcPos = cudaPos{40, 0, 0};
  EXPECT(cudaMemcpy3D(&from) == cudaErrorInvalidValue);
  CHECK(cudaFreeArray(v));
}

// A layered 2D array (3 layers) through device memory with cudaMemcpy3D_ptds, and a mipmapped
// array's two levels.
void layers_and_mipmaps() {
  cudaArray_t layered = nullptr;
  CHECK(cudaMalloc3DArray(&layered, &kFloat, cudaExtent{16, 8, 3}, cudaArrayLayered));
  unsigned flags = 0;
  cudaExtent extent{};
  CHECK(cudaArrayGetInfo(nullptr, &extent, &flags, layered));
  EXPECT(flags == cudaArrayLayered && extent.depth == 3);
  const std::vector<float> in = pattern(16 * 8 * 3, 5.0f);
  void* dev = nullptr;
  CHECK(cudaMalloc(&dev, in.size() * 4));
  CHECK(cudaMemcpy(dev, in.data(), in.size() * 4, cudaMemcpyHostToDevice));
  cudaMemcpy3DParms p{};
  p.srcPtr = cudaPitchedPtr{dev, 64, 16, 8};
  p.dstArray = layered;
  p.extent = cudaExtent{16, 8, 3};
  p.kind = cudaMemcpyDeviceToDevice;
  CHECK(cudaMemcpy3D_ptds(&p));
  std::vector<float> out(in.size(), 0);
  cudaMemcpy3DParms q{};
  q.srcArray = layered;
  q.dstPtr = cudaPitchedPtr{out.data(), 64, 16, 8};
  q.extent = p.extent;
  q.kind = cudaMemcpyDeviceToHost;
  CHECK(cudaMemcpy3D(&q));
  EXPECT(out == in);
  CHECK(cudaFree(dev));
  CHECK(cudaFreeArray(layered));

  cudaMipmappedArray_t mip = nullptr;
  CHECK(cudaMallocMipmappedArray(&mip, &kFloat, cudaExtent{64, 32, 0}, 2));
  cudaArray_t level0 = nullptr, level1 = nullptr, again = nullptr;
  CHECK(cudaGetMipmappedArrayLevel(&level0, mip, 0));
  CHECK(cudaGetMipmappedArrayLevel(&level1, mip, 1));
  CHECK(cudaGetMipmappedArrayLevel(&again, mip, 1));
  EXPECT(again == level1 && level0 != level1);
  EXPECT(cudaGetMipmappedArrayLevel(&again, mip, 2) == cudaErrorInvalidValue);
  CHECK(cudaArrayGetInfo(nullptr, &extent, nullptr, level1));
  EXPECT(extent.width == 32 && extent.height == 16);
  const std::vector<float> l0 = pattern(64 * 32, 6.0f), l1 = pattern(32 * 16, 7.0f);
  CHECK(cudaMemcpy2DToArray(level0, 0, 0, l0.data(), 256, 256, 32, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy2DToArray(level1, 0, 0, l1.data(), 128, 128, 16, cudaMemcpyHostToDevice));
  std::vector<float> r0(l0.size()), r1(l1.size());
  CHECK(cudaMemcpy2DFromArray(r0.data(), 256, level0, 0, 0, 256, 32, cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy2DFromArray(r1.data(), 128, level1, 0, 0, 128, 16, cudaMemcpyDeviceToHost));
  EXPECT(r0 == l0 && r1 == l1);
  EXPECT(cudaFreeArray(level1) != cudaSuccess);  // a level goes with its mipmapped array only
  CHECK(cudaFreeMipmappedArray(mip));
}

// Texture objects over an array, a mipmapped array, pitched and linear memory; a surface.
void textures_and_surfaces() {
  cudaArray_t a = nullptr, surface_array = nullptr;
  CHECK(cudaMallocArray(&a, &kFloat, 64, 64));
  CHECK(cudaMallocArray(&surface_array, &kFloat, 64, 64, cudaArraySurfaceLoadStore));
  cudaResourceDesc res{};
  res.resType = cudaResourceTypeArray;
  res.res.array.array = a;
  cudaTextureDesc td{};
  td.addressMode[0] = td.addressMode[1] = cudaAddressModeClamp;
  td.filterMode = cudaFilterModeLinear;
  td.readMode = cudaReadModeElementType;
  td.normalizedCoords = 1;
  cudaTextureObject_t tex = 0, viewed = 0;
  CHECK(cudaCreateTextureObject(&tex, &res, &td, nullptr));
  cudaResourceDesc got{};
  CHECK(cudaGetTextureObjectResourceDesc(&got, tex));
  EXPECT(got.resType == cudaResourceTypeArray && got.res.array.array == a);
  cudaTextureDesc got_td{};
  CHECK(cudaGetTextureObjectTextureDesc(&got_td, tex));
  EXPECT(got_td.filterMode == cudaFilterModeLinear && got_td.normalizedCoords == 1 &&
         got_td.addressMode[1] == cudaAddressModeClamp && got_td.readMode == cudaReadModeElementType);
  cudaResourceViewDesc view{};
  EXPECT(cudaGetTextureObjectResourceViewDesc(&view, tex) == cudaErrorInvalidValue);  // none was given
  view.format = cudaResViewFormatFloat1;
  view.width = 64;
  view.height = 64;
  CHECK(cudaCreateTextureObject(&viewed, &res, &td, &view));
  cudaResourceViewDesc got_view{};
  CHECK(cudaGetTextureObjectResourceViewDesc(&got_view, viewed));
  EXPECT(got_view.format == cudaResViewFormatFloat1 && got_view.width == 64 && got_view.height == 64);

  // Pitched and linear memory.
  void* pitched = nullptr;
  size_t pitch = 0;
  CHECK(cudaMallocPitch(&pitched, &pitch, 100 * 4, 50));
  cudaResourceDesc pr{};
  pr.resType = cudaResourceTypePitch2D;
  pr.res.pitch2D = {pitched, kFloat, 100, 50, pitch};
  cudaTextureObject_t tex_pitched = 0, tex_linear = 0, tex_mip = 0;
  CHECK(cudaCreateTextureObject(&tex_pitched, &pr, &td, nullptr));
  CHECK(cudaGetTextureObjectResourceDesc(&got, tex_pitched));
  EXPECT(got.resType == cudaResourceTypePitch2D && got.res.pitch2D.pitchInBytes == pitch &&
         got.res.pitch2D.desc.x == 32 && got.res.pitch2D.width == 100);
  void* linear = nullptr;
  CHECK(cudaMalloc(&linear, 4096));
  cudaResourceDesc lr{};
  lr.resType = cudaResourceTypeLinear;
  lr.res.linear = {linear, kFloat, 4096};
  td.filterMode = cudaFilterModePoint;
  td.normalizedCoords = 0;
  CHECK(cudaCreateTextureObject(&tex_linear, &lr, &td, nullptr));
  // Naming more than its allocation holds: clamped to the allocation by vgpud (the program sees
  // what it gave); memory that is no allocation of the process's (its own stack): refused.
  lr.res.linear.sizeInBytes = 8192;
  cudaTextureObject_t clamped = 0, refused = 0;
  CHECK(cudaCreateTextureObject(&clamped, &lr, &td, nullptr));
  CHECK(cudaGetTextureObjectResourceDesc(&got, clamped));
  EXPECT(got.res.linear.sizeInBytes == 8192);
  CHECK(cudaDestroyTextureObject(clamped));
  lr.res.linear.devPtr = &refused;
  lr.res.linear.sizeInBytes = sizeof refused;
  EXPECT(cudaCreateTextureObject(&refused, &lr, &td, nullptr) == cudaErrorInvalidValue);

  cudaMipmappedArray_t mip = nullptr;
  CHECK(cudaMallocMipmappedArray(&mip, &kFloat, cudaExtent{32, 32, 0}, 2));
  cudaResourceDesc mr{};
  mr.resType = cudaResourceTypeMipmappedArray;
  mr.res.mipmap.mipmap = mip;
  td.mipmapFilterMode = cudaFilterModeLinear;
  td.maxMipmapLevelClamp = 1.0f;
  CHECK(cudaCreateTextureObject(&tex_mip, &mr, &td, nullptr));
  CHECK(cudaGetTextureObjectTextureDesc(&got_td, tex_mip));
  EXPECT(got_td.maxMipmapLevelClamp == 1.0f && got_td.mipmapFilterMode == cudaFilterModeLinear);

  // A surface needs an array made for load/store.
  cudaResourceDesc sr{};
  sr.resType = cudaResourceTypeArray;
  sr.res.array.array = surface_array;
  cudaSurfaceObject_t surf = 0, not_made = 0;
  CHECK(cudaCreateSurfaceObject(&surf, &sr));
  CHECK(cudaGetSurfaceObjectResourceDesc(&got, surf));
  EXPECT(got.res.array.array == surface_array);
  sr.res.array.array = a;
  EXPECT(cudaCreateSurfaceObject(&not_made, &sr) != cudaSuccess);

  for (cudaTextureObject_t t : {tex, viewed, tex_pitched, tex_linear, tex_mip}) CHECK(cudaDestroyTextureObject(t));
  EXPECT(cudaDestroyTextureObject(tex) == cudaErrorInvalidValue);  // destroyed already
  CHECK(cudaDestroySurfaceObject(surf));
  CHECK(cudaFreeMipmappedArray(mip));
  CHECK(cudaFree(linear));
  CHECK(cudaFree(pitched));
  CHECK(cudaFreeArray(a));
  CHECK(cudaFreeArray(surface_array));
}

void refusals() {
  cudaArray_t a = nullptr;
  const cudaChannelFormatDesc three = cudaCreateChannelDesc(32, 32, 32, 0, cudaChannelFormatKindFloat);
  EXPECT(cudaMallocArray(&a, &three, 16, 16) == cudaErrorInvalidChannelDescriptor);
  const cudaChannelFormatDesc normalized = cudaCreateChannelDesc(8, 0, 0, 0, cudaChannelFormatKindUnsignedNormalized8X1);
  EXPECT(cudaMallocArray(&a, &normalized, 16, 16) == cudaErrorNotSupported);
  EXPECT(cudaMallocArray(&a, &kFloat, 0, 16) == cudaErrorInvalidValue);
  EXPECT(cudaFreeArray(nullptr) == cudaSuccess);
}

// With 8 MiB of device memory: an array larger is refused, a smaller one takes its share until
// it is freed.
int limit() {
  cudaArray_t big = nullptr, small = nullptr;
  EXPECT(cudaMallocArray(&big, &kFloat, 2048, 2048) == cudaErrorMemoryAllocation);
  size_t before = 0, total = 0, during = 0, after = 0;
  CHECK(cudaMemGetInfo(&before, &total));
  CHECK(cudaMallocArray(&small, &kFloat, 512, 512));  // 1 MiB
  CHECK(cudaMemGetInfo(&during, &total));
  EXPECT(before - during >= 1 << 20);
  CHECK(cudaFreeArray(small));
  CHECK(cudaMemGetInfo(&after, &total));
  EXPECT(after == before);
  std::printf("arrays limit ok\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "limit") return limit();
  cudaStream_t stream = nullptr;
  CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  one_dimension();
  two_dimensions(stream);
  large(stream);
  layers_and_mipmaps();
  textures_and_surfaces();
  refusals();
  CHECK(cudaStreamDestroy(stream));
  std::printf("arrays ok\n");
  return 0;
}
