// fake-cuda (test double, never ships): texture and surface objects. Each is a table entry of
// the context that made it, holding what it was made from, which the getters give back (a view
// only where one was given, as the driver documents); no kernel samples them. A resource is checked as the driver documents: an array or mipmapped
// array that exists (a surface: an array made with CUDA_ARRAY3D_SURFACE_LDST), or linear or
// pitched memory inside one region, its pitch a multiple of the device's texture pitch alignment.
#include "arrays.h"

using namespace vgpu::fake;

namespace {

constexpr std::size_t kTexturePitchAlignment = 32;  // device.cpp's CU_DEVICE_ATTRIBUTE_TEXTURE_PITCH_ALIGNMENT
constexpr unsigned kTextureFlags = CU_TRSF_READ_AS_INTEGER | CU_TRSF_NORMALIZED_COORDINATES | CU_TRSF_SRGB |
                                   CU_TRSF_DISABLE_TRILINEAR_OPTIMIZATION | CU_TRSF_SEAMLESS_CUBEMAP;

// Caller holds the region index and the registry's lock.
CUresult check_resource(const RegionReader& held, const CUDA_RESOURCE_DESC& r) {
  if (r.flags != 0) return CUDA_ERROR_INVALID_VALUE;
  switch (raw_enum(&r.resType)) {
    case CU_RESOURCE_TYPE_ARRAY:
      return array_registry().arrays.count(r.res.array.hArray) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
    case CU_RESOURCE_TYPE_MIPMAPPED_ARRAY:
      return array_registry().mipmaps.count(r.res.mipmap.hMipmappedArray) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
    case CU_RESOURCE_TYPE_LINEAR: {
      const auto& l = r.res.linear;
      if (array_element_bytes(l.format, l.numChannels) == 0 || l.sizeInBytes == 0 ||
          region_owner(held, l.devPtr, l.sizeInBytes) == nullptr)
        return CUDA_ERROR_INVALID_VALUE;
      return CUDA_SUCCESS;
    }
    case CU_RESOURCE_TYPE_PITCH2D: {
      const auto& p = r.res.pitch2D;
      const std::size_t element = array_element_bytes(p.format, p.numChannels);
      std::size_t row = 0, span = 0;
      if (element == 0 || p.width == 0 || p.height == 0 || p.pitchInBytes % kTexturePitchAlignment != 0 ||
          __builtin_mul_overflow(p.width, element, &row) || p.pitchInBytes < row ||
          __builtin_mul_overflow(p.height - 1, p.pitchInBytes, &span) || __builtin_add_overflow(span, row, &span) ||
          region_owner(held, p.devPtr, span) == nullptr)
        return CUDA_ERROR_INVALID_VALUE;
      return CUDA_SUCCESS;
    }
    default:
      return CUDA_ERROR_INVALID_VALUE;
  }
}

CUresult check_texture(const CUDA_TEXTURE_DESC& t) {
  for (const CUaddress_mode& mode : t.addressMode)
    if (raw_enum(&mode) < CU_TR_ADDRESS_MODE_WRAP || raw_enum(&mode) > CU_TR_ADDRESS_MODE_BORDER)
      return CUDA_ERROR_INVALID_VALUE;
  const int filter = raw_enum(&t.filterMode), mip_filter = raw_enum(&t.mipmapFilterMode);
  if (filter < 0 || filter > CU_TR_FILTER_MODE_LINEAR || mip_filter < 0 || mip_filter > CU_TR_FILTER_MODE_LINEAR ||
      (t.flags & ~kTextureFlags) != 0)
    return CUDA_ERROR_INVALID_VALUE;
  return CUDA_SUCCESS;
}

// The calling context's object `object` of the given kind, or null (caller holds the lock).
TextureObject* find_object(CUcontext ctx, std::uint64_t object, bool surface) {
  auto it = array_registry().objects.find(object);
  if (it == array_registry().objects.end() || it->second.ctx != ctx || it->second.surface != surface) return nullptr;
  return &it->second;
}

}  // namespace

FAKE_CUDA_API CUresult CUDAAPI cuTexObjectCreate(CUtexObject* pTexObject, const CUDA_RESOURCE_DESC* pResDesc,
                                                 const CUDA_TEXTURE_DESC* pTexDesc,
                                                 const CUDA_RESOURCE_VIEW_DESC* pResViewDesc) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (pTexObject == nullptr || pResDesc == nullptr || pTexDesc == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = check_texture(*pTexDesc); r != CUDA_SUCCESS) return r;
  const RegionReader held = read_regions();
  std::lock_guard<std::mutex> g(array_registry().mu);
  if (CUresult r = check_resource(held, *pResDesc); r != CUDA_SUCCESS) return r;
  // A view names another layout of an array's elements: not of linear memory.
  const int type = raw_enum(&pResDesc->resType);
  if (pResViewDesc != nullptr && type != CU_RESOURCE_TYPE_ARRAY && type != CU_RESOURCE_TYPE_MIPMAPPED_ARRAY)
    return CUDA_ERROR_INVALID_VALUE;
  TextureObject t;
  t.ctx = l->handle;
  t.resource = *pResDesc;
  t.texture = *pTexDesc;
  t.has_view = pResViewDesc != nullptr;
  if (t.has_view) t.view = *pResViewDesc;
  const auto object = static_cast<CUtexObject>(next_handle());
  array_registry().objects.emplace(object, t);
  *pTexObject = object;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuTexObjectDestroy(CUtexObject texObject) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  std::lock_guard<std::mutex> g(array_registry().mu);
  if (find_object(l->handle, texObject, false) == nullptr) return CUDA_ERROR_INVALID_VALUE;
  array_registry().objects.erase(texObject);
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuTexObjectGetResourceDesc(CUDA_RESOURCE_DESC* pResDesc, CUtexObject texObject) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  std::lock_guard<std::mutex> g(array_registry().mu);
  const TextureObject* t = find_object(l->handle, texObject, false);
  if (pResDesc == nullptr || t == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *pResDesc = t->resource;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuTexObjectGetTextureDesc(CUDA_TEXTURE_DESC* pTexDesc, CUtexObject texObject) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  std::lock_guard<std::mutex> g(array_registry().mu);
  const TextureObject* t = find_object(l->handle, texObject, false);
  if (pTexDesc == nullptr || t == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *pTexDesc = t->texture;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuTexObjectGetResourceViewDesc(CUDA_RESOURCE_VIEW_DESC* pResViewDesc,
                                                              CUtexObject texObject) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  std::lock_guard<std::mutex> g(array_registry().mu);
  const TextureObject* t = find_object(l->handle, texObject, false);
  if (pResViewDesc == nullptr || t == nullptr || !t->has_view) return CUDA_ERROR_INVALID_VALUE;
  *pResViewDesc = t->view;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuSurfObjectCreate(CUsurfObject* pSurfObject, const CUDA_RESOURCE_DESC* pResDesc) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (pSurfObject == nullptr || pResDesc == nullptr || raw_enum(&pResDesc->resType) != CU_RESOURCE_TYPE_ARRAY)
    return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard<std::mutex> g(array_registry().mu);
  auto it = array_registry().arrays.find(pResDesc->res.array.hArray);
  if (it == array_registry().arrays.end()) return CUDA_ERROR_INVALID_HANDLE;
  if ((it->second.desc.Flags & CUDA_ARRAY3D_SURFACE_LDST) == 0) return CUDA_ERROR_INVALID_VALUE;
  TextureObject s;
  s.ctx = l->handle;
  s.surface = true;
  s.resource = *pResDesc;
  const auto object = static_cast<CUsurfObject>(next_handle());
  array_registry().objects.emplace(object, s);
  *pSurfObject = object;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuSurfObjectDestroy(CUsurfObject surfObject) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  std::lock_guard<std::mutex> g(array_registry().mu);
  if (find_object(l->handle, surfObject, true) == nullptr) return CUDA_ERROR_INVALID_VALUE;
  array_registry().objects.erase(surfObject);
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuSurfObjectGetResourceDesc(CUDA_RESOURCE_DESC* pResDesc, CUsurfObject surfObject) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  std::lock_guard<std::mutex> g(array_registry().mu);
  const TextureObject* s = find_object(l->handle, surfObject, true);
  if (pResDesc == nullptr || s == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *pResDesc = s->resource;
  return CUDA_SUCCESS;
}
