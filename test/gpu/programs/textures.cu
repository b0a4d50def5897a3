// textures: CUDA arrays, texture and surface objects (docs/design.md §23). A 2D float texture on
// a cudaArray sampled with cudaFilterModeLinear at normalized coordinates; a texture over pitched
// linear memory (cudaMallocPitch) read at texel centres; a 3D array texture sampled between
// texels; a mipmapped array of two levels, each filled with its own data and sampled at an
// explicit level (tex2DLod); a surface object written by a kernel (surf2Dwrite) and read back;
// cudaMemcpy2DToArray/FromArray (pageable and page-locked, 8 MiB), cudaMemcpy3D to and from an
// array, cudaMemcpy2DArrayToArray; the arrays' descriptions (cudaArrayGetInfo,
// cudaGetChannelDesc) and the objects' (cudaGetTextureObject*Desc). Prints values and FNV-1a
// checksums only; every object is destroyed.
#include <vector>

#include "common.h"

namespace {

std::vector<float> pattern(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>((i * 37) % 101) * scale;
  return v;
}

uint64_t checksum(const std::vector<float>& v) { return fnv1a(v.data(), v.size() * sizeof(float)); }

// Samples a 2D texture at normalized coordinates between texel centres.
__global__ void sample_2d(cudaTextureObject_t tex, float* out, int w, int h) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y;
  if (x >= w || y >= h) return;
  const float u = (x + 0.25f) / w, v = (y + 0.75f) / h;
  out[y * w + x] = tex2D<float>(tex, u, v);
}

// Reads a texture at texel centres (unnormalized coordinates).
__global__ void read_2d(cudaTextureObject_t tex, float* out, int w, int h) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y;
  if (x < w && y < h) out[y * w + x] = tex2D<float>(tex, x + 0.5f, y + 0.5f);
}

__global__ void sample_3d(cudaTextureObject_t tex, float* out, int w, int h, int d) {
  const int x = threadIdx.x, y = blockIdx.x, z = blockIdx.y;
  if (x < w && y < h && z < d) out[(z * h + y) * w + x] = tex3D<float>(tex, x + 0.3f, y + 0.6f, z + 0.5f);
}

__global__ void sample_lod(cudaTextureObject_t tex, float* out, int n, float level) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y;
  if (x < n && y < n) out[y * n + x] = tex2DLod<float>(tex, (x + 0.5f) / n, (y + 0.5f) / n, level);
}

__global__ void write_surface(cudaSurfaceObject_t surf, int w, int h) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y;
  if (x < w && y < h) surf2Dwrite(static_cast<unsigned>(x * 1000 + y), surf, x * 4, y);
}

std::vector<float> read(const float* dev, size_t n) {
  std::vector<float> host(n);
  CK(cudaMemcpy(host.data(), dev, n * sizeof(float), cudaMemcpyDeviceToHost));
  return host;
}

cudaTextureDesc texture_desc(cudaTextureFilterMode filter, int normalized) {
  cudaTextureDesc td{};
  td.addressMode[0] = td.addressMode[1] = td.addressMode[2] = cudaAddressModeClamp;
  td.filterMode = filter;
  td.readMode = cudaReadModeElementType;
  td.normalizedCoords = normalized;
  return td;
}

void array_texture_2d() {
  const int w = 64, h = 48;
  const cudaChannelFormatDesc f = cudaCreateChannelDesc<float>();
  cudaArray_t a = nullptr;
  CK(cudaMallocArray(&a, &f, w, h));
  cudaChannelFormatDesc got{};
  cudaExtent extent{};
  unsigned flags = 7;
  CK(cudaArrayGetInfo(&got, &extent, &flags, a));
  std::printf("array 2D: %dx%dx%d channel x=%d kind=%d flags=%u\n", static_cast<int>(extent.width),
              static_cast<int>(extent.height), static_cast<int>(extent.depth), got.x, static_cast<int>(got.f), flags);
  const std::vector<float> data = pattern(w * h, 0.5f);
  CK(cudaMemcpy2DToArray(a, 0, 0, data.data(), w * sizeof(float), w * sizeof(float), h, cudaMemcpyHostToDevice));
  std::vector<float> back(w * h, -1.0f);
  CK(cudaMemcpy2DFromArray(back.data(), w * sizeof(float), a, 0, 0, w * sizeof(float), h, cudaMemcpyDeviceToHost));
  std::printf("array 2D round trip: %s\n", back == data ? "same" : "DIFFERENT");

  cudaResourceDesc res{};
  res.resType = cudaResourceTypeArray;
  res.res.array.array = a;
  const cudaTextureDesc td = texture_desc(cudaFilterModeLinear, 1);
  cudaTextureObject_t tex = 0;
  CK(cudaCreateTextureObject(&tex, &res, &td, nullptr));
  cudaResourceDesc got_res{};
  CK(cudaGetTextureObjectResourceDesc(&got_res, tex));
  cudaTextureDesc got_td{};
  CK(cudaGetTextureObjectTextureDesc(&got_td, tex));
  std::printf("texture 2D: resource type %d same array %d, filter %d normalized %d\n",
              static_cast<int>(got_res.resType), got_res.res.array.array == a, static_cast<int>(got_td.filterMode),
              got_td.normalizedCoords);
  float* out = nullptr;
  CK(cudaMalloc(&out, w * h * sizeof(float)));
  sample_2d<<<dim3(1, h), w>>>(tex, out, w, h);
  CK_LAUNCH();
  const std::vector<float> sampled = read(out, w * h);
  std::printf("linear filtering: [0]=%.6f [100]=%.6f [3071]=%.6f checksum %016llx\n", sampled[0], sampled[100],
              sampled[3071], static_cast<unsigned long long>(checksum(sampled)));
  CK(cudaDestroyTextureObject(tex));
  CK(cudaFree(out));
  CK(cudaFreeArray(a));
}

void pitched_texture() {
  const int w = 100, h = 30;
  float* dev = nullptr;
  size_t pitch = 0;
  CK(cudaMallocPitch(reinterpret_cast<void**>(&dev), &pitch, w * sizeof(float), h));
  const std::vector<float> data = pattern(w * h, 0.25f);
  CK(cudaMemcpy2D(dev, pitch, data.data(), w * sizeof(float), w * sizeof(float), h, cudaMemcpyHostToDevice));
  cudaResourceDesc res{};
  res.resType = cudaResourceTypePitch2D;
  res.res.pitch2D.devPtr = dev;
  res.res.pitch2D.desc = cudaCreateChannelDesc<float>();
  res.res.pitch2D.width = w;
  res.res.pitch2D.height = h;
  res.res.pitch2D.pitchInBytes = pitch;
  const cudaTextureDesc td = texture_desc(cudaFilterModePoint, 0);
  cudaTextureObject_t tex = 0;
  CK(cudaCreateTextureObject(&tex, &res, &td, nullptr));
  float* out = nullptr;
  CK(cudaMalloc(&out, w * h * sizeof(float)));
  read_2d<<<dim3(1, h), 128>>>(tex, out, w, h);
  CK_LAUNCH();
  const std::vector<float> got = read(out, w * h);
  std::printf("pitched texture: texels as written %s, checksum %016llx\n", got == data ? "yes" : "NO",
              static_cast<unsigned long long>(checksum(got)));
  CK(cudaDestroyTextureObject(tex));
  CK(cudaFree(out));
  CK(cudaFree(dev));
}

void array_texture_3d() {
  const int w = 16, h = 16, d = 8;
  const cudaExtent extent = make_cudaExtent(w, h, d);
  const cudaChannelFormatDesc f = cudaCreateChannelDesc<float>();
  cudaArray_t a = nullptr;
  CK(cudaMalloc3DArray(&a, &f, extent));
  const std::vector<float> data = pattern(w * h * d, 1.5f);
  cudaMemcpy3DParms to{};
  to.srcPtr = make_cudaPitchedPtr(const_cast<float*>(data.data()), w * sizeof(float), w, h);
  to.dstArray = a;
  to.extent = extent;
  to.kind = cudaMemcpyHostToDevice;
  CK(cudaMemcpy3D(&to));
  std::vector<float> back(data.size(), 0.0f);
  cudaMemcpy3DParms from{};
  from.srcArray = a;
  from.dstPtr = make_cudaPitchedPtr(back.data(), w * sizeof(float), w, h);
  from.extent = extent;
  from.kind = cudaMemcpyDeviceToHost;
  CK(cudaMemcpy3D(&from));
  std::printf("array 3D round trip: %s\n", back == data ? "same" : "DIFFERENT");
  cudaResourceDesc res{};
  res.resType = cudaResourceTypeArray;
  res.res.array.array = a;
  const cudaTextureDesc td = texture_desc(cudaFilterModeLinear, 0);
  cudaTextureObject_t tex = 0;
  CK(cudaCreateTextureObject(&tex, &res, &td, nullptr));
  float* out = nullptr;
  CK(cudaMalloc(&out, data.size() * sizeof(float)));
  sample_3d<<<dim3(h, d), w>>>(tex, out, w, h, d);
  CK_LAUNCH();
  const std::vector<float> sampled = read(out, data.size());
  std::printf("3D texture: [0]=%.6f [777]=%.6f checksum %016llx\n", sampled[0], sampled[777],
              static_cast<unsigned long long>(checksum(sampled)));
  CK(cudaDestroyTextureObject(tex));
  CK(cudaFree(out));
  CK(cudaFreeArray(a));
}

void mipmaps() {
  const int n = 64;
  const cudaChannelFormatDesc f = cudaCreateChannelDesc<float>();
  cudaMipmappedArray_t mip = nullptr;
  CK(cudaMallocMipmappedArray(&mip, &f, make_cudaExtent(n, n, 0), 2));
  cudaArray_t level0 = nullptr, level1 = nullptr;
  CK(cudaGetMipmappedArrayLevel(&level0, mip, 0));
  CK(cudaGetMipmappedArrayLevel(&level1, mip, 1));
  cudaExtent extent{};
  CK(cudaArrayGetInfo(nullptr, &extent, nullptr, level1));
  std::printf("mipmap level 1: %dx%d\n", static_cast<int>(extent.width), static_cast<int>(extent.height));
  const std::vector<float> l0 = pattern(n * n, 1.0f), l1 = pattern(n / 2 * n / 2, -2.0f);
  CK(cudaMemcpy2DToArray(level0, 0, 0, l0.data(), n * 4, n * 4, n, cudaMemcpyHostToDevice));
  CK(cudaMemcpy2DToArray(level1, 0, 0, l1.data(), n * 2, n * 2, n / 2, cudaMemcpyHostToDevice));
  cudaResourceDesc res{};
  res.resType = cudaResourceTypeMipmappedArray;
  res.res.mipmap.mipmap = mip;
  cudaTextureDesc td = texture_desc(cudaFilterModePoint, 1);
  td.mipmapFilterMode = cudaFilterModePoint;
  td.maxMipmapLevelClamp = 1.0f;
  cudaTextureObject_t tex = 0;
  CK(cudaCreateTextureObject(&tex, &res, &td, nullptr));
  float* out = nullptr;
  CK(cudaMalloc(&out, n * n * sizeof(float)));
  for (int level = 0; level < 2; ++level) {
    const int side = n >> level;
    sample_lod<<<dim3(1, side), side>>>(tex, out, side, static_cast<float>(level));
    CK_LAUNCH();
    const std::vector<float> got = read(out, side * side);
    const std::vector<float>& want = level == 0 ? l0 : l1;
    std::printf("tex2DLod level %d: texels as written %s, checksum %016llx\n", level, got == want ? "yes" : "NO",
                static_cast<unsigned long long>(checksum(got)));
  }
  CK(cudaDestroyTextureObject(tex));
  CK(cudaFree(out));
  CK(cudaFreeMipmappedArray(mip));
}

void surface() {
  const int w = 40, h = 24;
  const cudaChannelFormatDesc u = cudaCreateChannelDesc<unsigned>();
  cudaArray_t a = nullptr, copy = nullptr;
  CK(cudaMallocArray(&a, &u, w, h, cudaArraySurfaceLoadStore));
  CK(cudaMallocArray(&copy, &u, w, h));
  cudaChannelFormatDesc got{};
  CK(cudaGetChannelDesc(&got, a));
  std::printf("surface array channel x=%d kind=%d\n", got.x, static_cast<int>(got.f));
  cudaResourceDesc res{};
  res.resType = cudaResourceTypeArray;
  res.res.array.array = a;
  cudaSurfaceObject_t surf = 0;
  CK(cudaCreateSurfaceObject(&surf, &res));
  cudaResourceDesc got_res{};
  CK(cudaGetSurfaceObjectResourceDesc(&got_res, surf));
  write_surface<<<dim3(1, h), 64>>>(surf, w, h);
  CK_LAUNCH();
  CK(cudaMemcpy2DArrayToArray(copy, 0, 0, a, 0, 0, w * 4, h, cudaMemcpyDeviceToDevice));
  std::vector<unsigned> back(w * h, 0);
  CK(cudaMemcpy2DFromArray(back.data(), w * 4, copy, 0, 0, w * 4, h, cudaMemcpyDeviceToHost));
  bool right = got_res.res.array.array == a;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) right = right && back[y * w + x] == static_cast<unsigned>(x * 1000 + y);
  std::printf("surf2Dwrite then read back: %s, checksum %016llx\n", right ? "right" : "WRONG",
              static_cast<unsigned long long>(fnv1a(back.data(), back.size() * 4)));
  CK(cudaDestroySurfaceObject(surf));
  CK(cudaFreeArray(a));
  CK(cudaFreeArray(copy));
}

// 8 MiB each way, from pageable memory and through page-locked memory on a stream.
void large_copies() {
  const int w = 2048, h = 1024;
  const cudaChannelFormatDesc f = cudaCreateChannelDesc<float>();
  cudaArray_t a = nullptr;
  CK(cudaMallocArray(&a, &f, w, h));
  const std::vector<float> data = pattern(size_t{w} * h, 0.125f);
  CK(cudaMemcpy2DToArray(a, 0, 0, data.data(), w * 4, w * 4, h, cudaMemcpyHostToDevice));
  float* pinned = nullptr;
  CK(cudaMallocHost(&pinned, data.size() * sizeof(float)));
  cudaStream_t stream = nullptr;
  CK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  CK(cudaMemcpy2DFromArrayAsync(pinned, w * 4, a, 0, 0, w * 4, h, cudaMemcpyDeviceToHost, stream));
  CK(cudaStreamSynchronize(stream));
  const bool same_pinned = std::memcmp(pinned, data.data(), data.size() * sizeof(float)) == 0;
  for (size_t i = 0; i < data.size(); ++i) pinned[i] = -data[i];
  CK(cudaMemcpy2DToArrayAsync(a, 0, 0, pinned, w * 4, w * 4, h, cudaMemcpyHostToDevice, stream));
  CK(cudaStreamSynchronize(stream));
  std::vector<float> back(data.size(), 0.0f);
  CK(cudaMemcpy2DFromArray(back.data(), w * 4, a, 0, 0, w * 4, h, cudaMemcpyDeviceToHost));
  bool negated = true;
  for (size_t i = 0; i < data.size() && negated; ++i) negated = back[i] == -data[i];
  std::printf("8 MiB copies: page-locked back %s, pageable back %s, checksum %016llx\n", same_pinned ? "same" : "DIFFERENT",
              negated ? "same" : "DIFFERENT", static_cast<unsigned long long>(checksum(back)));
  CK(cudaStreamDestroy(stream));
  CK(cudaFreeHost(pinned));
  CK(cudaFreeArray(a));
}

}  // namespace

int main() {
  CK(cudaSetDevice(0));
  array_texture_2d();
  pitched_texture();
  array_texture_3d();
  mipmaps();
  surface();
  large_copies();
  CK(cudaDeviceSynchronize());
  std::printf("textures done\n");
  return 0;
}
