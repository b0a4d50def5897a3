// fake-cuda (test double, never ships): self-check of CUDA arrays, mipmapped arrays,
// cuMemcpy3DAsync_v2 with array ends, texture and surface objects (arrays.cpp, textures.cpp).
#include <dlfcn.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "selftest.h"

namespace vgpu::fake::selftest {

namespace {

// The calls of this check, resolved from the library the self-check loaded.
struct ArrayApi {
  CUresult (*cuArray3DCreate_v2)(CUarray*, const CUDA_ARRAY3D_DESCRIPTOR*);
  CUresult (*cuArrayDestroy)(CUarray);
  CUresult (*cuArray3DGetDescriptor_v2)(CUDA_ARRAY3D_DESCRIPTOR*, CUarray);
  CUresult (*cuArrayGetMemoryRequirements)(CUDA_ARRAY_MEMORY_REQUIREMENTS*, CUarray, CUdevice);
  CUresult (*cuMipmappedArrayCreate)(CUmipmappedArray*, const CUDA_ARRAY3D_DESCRIPTOR*, unsigned);
  CUresult (*cuMipmappedArrayGetLevel)(CUarray*, CUmipmappedArray, unsigned);
  CUresult (*cuMipmappedArrayDestroy)(CUmipmappedArray);
  CUresult (*cuMipmappedArrayGetMemoryRequirements)(CUDA_ARRAY_MEMORY_REQUIREMENTS*, CUmipmappedArray, CUdevice);
  CUresult (*cuMemcpy3DAsync_v2)(const CUDA_MEMCPY3D*, CUstream);
  CUresult (*cuTexObjectCreate)(CUtexObject*, const CUDA_RESOURCE_DESC*, const CUDA_TEXTURE_DESC*,
                                const CUDA_RESOURCE_VIEW_DESC*);
  CUresult (*cuTexObjectDestroy)(CUtexObject);
  CUresult (*cuTexObjectGetResourceDesc)(CUDA_RESOURCE_DESC*, CUtexObject);
  CUresult (*cuTexObjectGetTextureDesc)(CUDA_TEXTURE_DESC*, CUtexObject);
  CUresult (*cuTexObjectGetResourceViewDesc)(CUDA_RESOURCE_VIEW_DESC*, CUtexObject);
  CUresult (*cuSurfObjectCreate)(CUsurfObject*, const CUDA_RESOURCE_DESC*);
  CUresult (*cuSurfObjectDestroy)(CUsurfObject);
  CUresult (*cuSurfObjectGetResourceDesc)(CUDA_RESOURCE_DESC*, CUsurfObject);
};

bool resolve(const char* lib_path, ArrayApi& a) {
  void* lib = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return false;
  bool ok = true;
#define VGPU_ARRAY_API(name) ok = (*reinterpret_cast<void**>(&a.name) = dlsym(lib, #name)) != nullptr && ok;
  VGPU_ARRAY_API(cuArray3DCreate_v2)
  VGPU_ARRAY_API(cuArrayDestroy)
  VGPU_ARRAY_API(cuArray3DGetDescriptor_v2)
  VGPU_ARRAY_API(cuArrayGetMemoryRequirements)
  VGPU_ARRAY_API(cuMipmappedArrayCreate)
  VGPU_ARRAY_API(cuMipmappedArrayGetLevel)
  VGPU_ARRAY_API(cuMipmappedArrayDestroy)
  VGPU_ARRAY_API(cuMipmappedArrayGetMemoryRequirements)
  VGPU_ARRAY_API(cuMemcpy3DAsync_v2)
  VGPU_ARRAY_API(cuTexObjectCreate)
  VGPU_ARRAY_API(cuTexObjectDestroy)
  VGPU_ARRAY_API(cuTexObjectGetResourceDesc)
  VGPU_ARRAY_API(cuTexObjectGetTextureDesc)
  VGPU_ARRAY_API(cuTexObjectGetResourceViewDesc)
  VGPU_ARRAY_API(cuSurfObjectCreate)
  VGPU_ARRAY_API(cuSurfObjectDestroy)
  VGPU_ARRAY_API(cuSurfObjectGetResourceDesc)
#undef VGPU_ARRAY_API
  return ok;  // the handle stays open: the self-check loaded the library already
}

CUDA_ARRAY3D_DESCRIPTOR descriptor(size_t w, size_t h, size_t d, unsigned flags = 0) {
  CUDA_ARRAY3D_DESCRIPTOR desc{};
  desc.Width = w, desc.Height = h, desc.Depth = d;
  desc.Format = CU_AD_FORMAT_FLOAT;
  desc.NumChannels = 1;
  desc.Flags = flags;
  return desc;
}

// A copy between a host buffer (pitch, rows) and an array, in either direction.
CUDA_MEMCPY3D host_array(void* host, size_t pitch, size_t rows, CUarray array, bool to_array, size_t width,
                         size_t height, size_t depth) {
  CUDA_MEMCPY3D c{};
  if (to_array) {
    c.srcMemoryType = CU_MEMORYTYPE_HOST, c.srcHost = host, c.srcPitch = pitch, c.srcHeight = rows;
    c.dstMemoryType = CU_MEMORYTYPE_ARRAY, c.dstArray = array;
  } else {
    c.srcMemoryType = CU_MEMORYTYPE_ARRAY, c.srcArray = array;
    c.dstMemoryType = CU_MEMORYTYPE_HOST, c.dstHost = host, c.dstPitch = pitch, c.dstHeight = rows;
  }
  c.WidthInBytes = width, c.Height = height, c.Depth = depth;
  return c;
}

}  // namespace

void array_checks(const char* lib_path) {
  ArrayApi a{};
  CHECK(resolve(lib_path, a));
  CUcontext before = nullptr, ctx = nullptr;
  OK(api.cuCtxGetCurrent(&before));
  OK(api.cuCtxCreate_v2(&ctx, 0, 0));
  size_t free_before = 0, total = 0, free_now = 0;
  OK(api.cuMemGetInfo_v2(&free_before, &total));

  // ---- arrays: made, described, charged to the device's memory, refused ----
  CUarray vol = nullptr, flat = nullptr, deferred = nullptr, bad = nullptr;
  CUDA_ARRAY3D_DESCRIPTOR d = descriptor(16, 8, 4);
  OK(a.cuArray3DCreate_v2(&vol, &d));
  d = descriptor(32, 32, 0, CUDA_ARRAY3D_SURFACE_LDST);
  OK(a.cuArray3DCreate_v2(&flat, &d));
  OK(api.cuMemGetInfo_v2(&free_now, &total));
  CHECK(free_before - free_now == 16 * 8 * 4 * 4 + 32 * 32 * 4);
  CUDA_ARRAY3D_DESCRIPTOR got{};
  OK(a.cuArray3DGetDescriptor_v2(&got, vol));
  CHECK(got.Width == 16 && got.Height == 8 && got.Depth == 4 && got.Format == CU_AD_FORMAT_FLOAT);
  CUDA_ARRAY_MEMORY_REQUIREMENTS needs{};
  EXPECT_RC(a.cuArrayGetMemoryRequirements(&needs, vol, 0), CUDA_ERROR_INVALID_VALUE);  // not deferred
  d = descriptor(100, 10, 0, CUDA_ARRAY3D_DEFERRED_MAPPING);
  OK(a.cuArray3DCreate_v2(&deferred, &d));
  OK(a.cuArrayGetMemoryRequirements(&needs, deferred, 0));
  CHECK(needs.size == 100 * 10 * 4);
  EXPECT_RC(a.cuArrayGetMemoryRequirements(&needs, deferred, 1), CUDA_ERROR_INVALID_DEVICE);
  OK(a.cuArrayDestroy(deferred));
  d = descriptor(16, 16, 0);
  d.NumChannels = 3;
  EXPECT_RC(a.cuArray3DCreate_v2(&bad, &d), CUDA_ERROR_INVALID_VALUE);
  d = descriptor(16, 0, 4);  // 1D with a depth
  EXPECT_RC(a.cuArray3DCreate_v2(&bad, &d), CUDA_ERROR_INVALID_VALUE);
  d = descriptor(16, 16, 0, CUDA_ARRAY3D_SPARSE);
  EXPECT_RC(a.cuArray3DCreate_v2(&bad, &d), CUDA_ERROR_NOT_SUPPORTED);
  d = descriptor(16, 16, 5, CUDA_ARRAY3D_CUBEMAP);
  EXPECT_RC(a.cuArray3DCreate_v2(&bad, &d), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(a.cuArrayDestroy(reinterpret_cast<CUarray>(0x4321)), CUDA_ERROR_INVALID_HANDLE);

  // ---- copies: a volume in and a box back, through device memory too; boxes past the array ----
  std::vector<float> in(16 * 8 * 4), out(in.size(), 0);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i);
  CUDA_MEMCPY3D c = host_array(in.data(), 64, 8, vol, true, 64, 8, 4);
  OK(a.cuMemcpy3DAsync_v2(&c, nullptr));
  c = host_array(out.data(), 64, 8, vol, false, 32, 3, 2);
  c.srcXInBytes = 16, c.srcY = 4, c.srcZ = 1;
  c.dstXInBytes = 16, c.dstY = 4, c.dstZ = 1;
  OK(a.cuMemcpy3DAsync_v2(&c, nullptr));
  const auto at = [](size_t x, size_t y, size_t z) { return (z * 8 + y) * 16 + x; };
  CHECK(out[at(4, 4, 1)] == in[at(4, 4, 1)] && out[at(11, 6, 2)] == in[at(11, 6, 2)]);
  CHECK(out[at(3, 4, 1)] == 0.0f && out[at(12, 6, 2)] == 0.0f && out[at(4, 7, 2)] == 0.0f);
  CUdeviceptr dev = 0;
  OK(api.cuMemAlloc_v2(&dev, 4096));
  CUDA_MEMCPY3D to_dev{};
  to_dev.srcMemoryType = CU_MEMORYTYPE_ARRAY, to_dev.srcArray = vol;
  to_dev.dstMemoryType = CU_MEMORYTYPE_DEVICE, to_dev.dstDevice = dev, to_dev.dstPitch = 64, to_dev.dstHeight = 8;
  to_dev.WidthInBytes = 64, to_dev.Height = 8, to_dev.Depth = 2;
  OK(a.cuMemcpy3DAsync_v2(&to_dev, nullptr));
  float word = 0;
  OK(api.cuMemcpyDtoHAsync_v2(&word, dev + 4 * at(5, 7, 1), 4, nullptr));
  CHECK(word == in[at(5, 7, 1)]);
  to_dev.Depth = 3;  // 3 × 512 bytes of 4096: still in; a pitch that walks past: out
  OK(a.cuMemcpy3DAsync_v2(&to_dev, nullptr));
  to_dev.dstPitch = 1024;
  EXPECT_RC(a.cuMemcpy3DAsync_v2(&to_dev, nullptr), CUDA_ERROR_INVALID_VALUE);
  c = host_array(out.data(), 64, 8, vol, false, 64, 8, 1);
  c.srcZ = 4;
  EXPECT_RC(a.cuMemcpy3DAsync_v2(&c, nullptr), CUDA_ERROR_INVALID_VALUE);
  c.srcZ = 0, c.srcXInBytes = 2;
  c.WidthInBytes = 8;
  EXPECT_RC(a.cuMemcpy3DAsync_v2(&c, nullptr), CUDA_ERROR_INVALID_VALUE);  // not an element's start
  c.srcXInBytes = 0, c.srcLOD = 1;
  EXPECT_RC(a.cuMemcpy3DAsync_v2(&c, nullptr), CUDA_ERROR_INVALID_VALUE);

  // ---- mipmapped arrays: levels halve, charged together, go together ----
  CUmipmappedArray mip = nullptr;
  d = descriptor(64, 32, 0);
  EXPECT_RC(a.cuMipmappedArrayCreate(&mip, &d, 8), CUDA_ERROR_INVALID_VALUE);  // 7 levels at most
  OK(a.cuMipmappedArrayCreate(&mip, &d, 3));
  CUarray level = nullptr;
  OK(a.cuMipmappedArrayGetLevel(&level, mip, 2));
  OK(a.cuArray3DGetDescriptor_v2(&got, level));
  CHECK(got.Width == 16 && got.Height == 8);
  EXPECT_RC(a.cuMipmappedArrayGetLevel(&level, mip, 3), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(a.cuArrayDestroy(level), CUDA_ERROR_INVALID_HANDLE);  // goes with its mipmapped array
  EXPECT_RC(a.cuMipmappedArrayGetMemoryRequirements(&needs, mip, 0), CUDA_ERROR_INVALID_VALUE);

  // ---- texture and surface objects: what they were made from comes back ----
  CUDA_RESOURCE_DESC res{};
  res.resType = CU_RESOURCE_TYPE_ARRAY;
  res.res.array.hArray = flat;
  CUDA_TEXTURE_DESC td{};
  td.addressMode[0] = CU_TR_ADDRESS_MODE_BORDER;
  td.filterMode = CU_TR_FILTER_MODE_LINEAR;
  td.flags = CU_TRSF_NORMALIZED_COORDINATES;
  td.borderColor[2] = 0.5f;
  CUDA_RESOURCE_VIEW_DESC view{};
  view.format = CU_RES_VIEW_FORMAT_FLOAT_1X32;
  view.width = 32;
  CUtexObject tex = 0, tex_mip = 0, tex_pitched = 0, none = 0;
  OK(a.cuTexObjectCreate(&tex, &res, &td, &view));
  CHECK(tex != 0);
  CUDA_RESOURCE_DESC got_res{};
  OK(a.cuTexObjectGetResourceDesc(&got_res, tex));
  CHECK(got_res.resType == CU_RESOURCE_TYPE_ARRAY && got_res.res.array.hArray == flat);
  CUDA_TEXTURE_DESC got_td{};
  OK(a.cuTexObjectGetTextureDesc(&got_td, tex));
  CHECK(got_td.filterMode == CU_TR_FILTER_MODE_LINEAR && got_td.borderColor[2] == 0.5f);
  CUDA_RESOURCE_VIEW_DESC got_view{};
  OK(a.cuTexObjectGetResourceViewDesc(&got_view, tex));
  CHECK(got_view.format == CU_RES_VIEW_FORMAT_FLOAT_1X32 && got_view.width == 32);
  CUDA_RESOURCE_DESC mr{};
  mr.resType = CU_RESOURCE_TYPE_MIPMAPPED_ARRAY;
  mr.res.mipmap.hMipmappedArray = mip;
  OK(a.cuTexObjectCreate(&tex_mip, &mr, &td, nullptr));
  EXPECT_RC(a.cuTexObjectGetResourceViewDesc(&got_view, tex_mip), CUDA_ERROR_INVALID_VALUE);  // none given
  CUDA_RESOURCE_DESC pr{};
  pr.resType = CU_RESOURCE_TYPE_PITCH2D;
  pr.res.pitch2D.devPtr = dev, pr.res.pitch2D.format = CU_AD_FORMAT_FLOAT, pr.res.pitch2D.numChannels = 1;
  pr.res.pitch2D.width = 16, pr.res.pitch2D.height = 16, pr.res.pitch2D.pitchInBytes = 256;
  OK(a.cuTexObjectCreate(&tex_pitched, &pr, &td, nullptr));
  pr.res.pitch2D.height = 17;  // past the allocation
  EXPECT_RC(a.cuTexObjectCreate(&none, &pr, &td, nullptr), CUDA_ERROR_INVALID_VALUE);
  pr.res.pitch2D.height = 16, pr.res.pitch2D.pitchInBytes = 100;  // not the device's pitch alignment
  EXPECT_RC(a.cuTexObjectCreate(&none, &pr, &td, nullptr), CUDA_ERROR_INVALID_VALUE);
  const int unknown_mode = 7;  // written as bytes: no such CUfilter_mode
  std::memcpy(&td.filterMode, &unknown_mode, sizeof unknown_mode);
  EXPECT_RC(a.cuTexObjectCreate(&none, &res, &td, nullptr), CUDA_ERROR_INVALID_VALUE);
  CUsurfObject surf = 0;
  OK(a.cuSurfObjectCreate(&surf, &res));
  OK(a.cuSurfObjectGetResourceDesc(&got_res, surf));
  CHECK(got_res.res.array.hArray == flat);
  EXPECT_RC(a.cuTexObjectDestroy(surf), CUDA_ERROR_INVALID_VALUE);  // a surface, not a texture
  res.res.array.hArray = vol;  // made without SURFACE_LDST
  EXPECT_RC(a.cuSurfObjectCreate(&surf, &res), CUDA_ERROR_INVALID_VALUE);

  // ---- what a context made goes with it; what was destroyed is gone ----
  for (CUtexObject t : {tex, tex_mip, tex_pitched}) OK(a.cuTexObjectDestroy(t));
  EXPECT_RC(a.cuTexObjectDestroy(tex), CUDA_ERROR_INVALID_VALUE);
  OK(a.cuSurfObjectDestroy(surf));
  OK(a.cuMipmappedArrayDestroy(mip));
  OK(a.cuArrayDestroy(vol));
  OK(api.cuMemFree_v2(dev));
  OK(api.cuMemGetInfo_v2(&free_now, &total));
  CHECK(free_before - free_now == 32 * 32 * 4);  // `flat` alone
  OK(api.cuCtxDestroy_v2(ctx));  // with `flat`
  OK(api.cuCtxCreate_v2(&ctx, 0, 0));
  OK(api.cuMemGetInfo_v2(&free_now, &total));
  CHECK(free_now == free_before);
  OK(api.cuCtxDestroy_v2(ctx));
  OK(api.cuCtxSetCurrent(before));
}

}  // namespace vgpu::fake::selftest
