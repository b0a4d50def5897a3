// Texture and surface objects (docs/design.md §23). vgpud makes the driver's and answers its own
// 64-bit value, which the program's kernels take as a plain argument: launches carry it as they
// carry any other. The guest keeps what each object was made from, in the program's own handles,
// so the getters need no round trip, and a value that is not the process's is refused here.
// The driver's values may repeat across devices: each is kept with its context's device.
#include <map>
#include <mutex>
#include <utility>

#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/arrays.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace {

struct ObjectRecord {
  bool surface = false;
  CUDA_RESOURCE_DESC resource{};
  CUDA_TEXTURE_DESC texture{};
  bool has_view = false;
  CUDA_RESOURCE_VIEW_DESC view{};
};

std::mutex g_mutex;
std::map<std::pair<uint32_t, uint64_t>, ObjectRecord> g_objects;  // (device, value)

// The resource as the message names it; INVALID_HANDLE for an array that is not one.
CUresult describe_resource(const CUDA_RESOURCE_DESC& r, proto::TexObjectCreateRequest* m) {
  if (r.flags != 0) return CUDA_ERROR_INVALID_VALUE;
  m->resource_type = static_cast<uint32_t>(r.resType);
  switch (r.resType) {
    case CU_RESOURCE_TYPE_ARRAY: {
      const ArrayObject* a = array_of(r.res.array.hArray);
      if (a == nullptr) return CUDA_ERROR_INVALID_HANDLE;
      m->handle = a->wire;
      return CUDA_SUCCESS;
    }
    case CU_RESOURCE_TYPE_MIPMAPPED_ARRAY: {
      const MipmappedArrayObject* mm = mipmap_of(r.res.mipmap.hMipmappedArray);
      if (mm == nullptr) return CUDA_ERROR_INVALID_HANDLE;
      m->handle = mm->wire;
      return CUDA_SUCCESS;
    }
    case CU_RESOURCE_TYPE_LINEAR:
      m->format = static_cast<uint32_t>(r.res.linear.format);
      m->channels = r.res.linear.numChannels;
      m->device_ptr = r.res.linear.devPtr;
      m->size_bytes = r.res.linear.sizeInBytes;
      return CUDA_SUCCESS;
    case CU_RESOURCE_TYPE_PITCH2D:
      m->format = static_cast<uint32_t>(r.res.pitch2D.format);
      m->channels = r.res.pitch2D.numChannels;
      m->device_ptr = r.res.pitch2D.devPtr;
      m->width = r.res.pitch2D.width;
      m->height = r.res.pitch2D.height;
      m->pitch = r.res.pitch2D.pitchInBytes;
      return CUDA_SUCCESS;
    default:
      return CUDA_ERROR_INVALID_VALUE;
  }
}

void describe_texture(const CUDA_TEXTURE_DESC& t, proto::TexObjectCreateRequest* m) {
  for (int i = 0; i < 3; ++i) m->address_mode[i] = static_cast<uint32_t>(t.addressMode[i]);
  m->filter_mode = static_cast<uint32_t>(t.filterMode);
  m->flags = t.flags;
  m->max_anisotropy = t.maxAnisotropy;
  m->mipmap_filter_mode = static_cast<uint32_t>(t.mipmapFilterMode);
  m->mipmap_level_bias = t.mipmapLevelBias;
  m->min_mipmap_level_clamp = t.minMipmapLevelClamp;
  m->max_mipmap_level_clamp = t.maxMipmapLevelClamp;
  for (int i = 0; i < 4; ++i) m->border_color[i] = t.borderColor[i];
}

void describe_view(const CUDA_RESOURCE_VIEW_DESC& v, proto::TexObjectCreateRequest* m) {
  m->has_view = 1;
  m->view_format = static_cast<uint32_t>(v.format);
  m->view_width = v.width;
  m->view_height = v.height;
  m->view_depth = v.depth;
  m->first_mipmap_level = v.firstMipmapLevel;
  m->last_mipmap_level = v.lastMipmapLevel;
  m->first_layer = v.firstLayer;
  m->last_layer = v.lastLayer;
}

CUresult create_texture(CUtexObject* out, const CUDA_RESOURCE_DESC* resource, const CUDA_TEXTURE_DESC* texture,
                        const CUDA_RESOURCE_VIEW_DESC* view) {
  if (out == nullptr || resource == nullptr || texture == nullptr) return CUDA_ERROR_INVALID_VALUE;
  proto::TexObjectCreateRequest request{};
  if (CUresult r = describe_resource(*resource, &request); r != CUDA_SUCCESS) return r;
  describe_texture(*texture, &request);
  if (view != nullptr) describe_view(*view, &request);
  guest::Channel* ch = nullptr;
  Context* c = nullptr;
  if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
  proto::TexObjectCreateReply reply{};
  const guest::CallResult result = guest::call<proto::CallId::TexObjectCreate>(*ch, request, &reply);
  if (result.status != 0) return to_cu_result(result.status);
  ObjectRecord record{false, *resource, *texture, view != nullptr, view != nullptr ? *view : CUDA_RESOURCE_VIEW_DESC{}};
  std::lock_guard lock(g_mutex);
  g_objects[{c->device, reply.object}] = record;
  *out = reply.object;
  return CUDA_SUCCESS;
}

CUresult create_surface(CUsurfObject* out, const CUDA_RESOURCE_DESC* resource) {
  if (out == nullptr || resource == nullptr || resource->flags != 0 || resource->resType != CU_RESOURCE_TYPE_ARRAY)
    return CUDA_ERROR_INVALID_VALUE;
  const ArrayObject* a = array_of(resource->res.array.hArray);
  if (a == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  guest::Channel* ch = nullptr;
  Context* c = nullptr;
  if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
  proto::TexObjectCreateReply reply{};
  const guest::CallResult result = guest::call<proto::CallId::SurfObjectCreate>(*ch, {a->wire, 0}, &reply);
  if (result.status != 0) return to_cu_result(result.status);
  std::lock_guard lock(g_mutex);
  g_objects[{c->device, reply.object}] = ObjectRecord{true, *resource, {}, false, {}};
  *out = reply.object;
  return CUDA_SUCCESS;
}

// The calling context's object `value` of the kind asked for, copied; false when it has none.
bool find_object(uint64_t value, bool surface, ObjectRecord* out) {
  const Context* c = current_context();
  if (c == nullptr) return false;
  std::lock_guard lock(g_mutex);
  auto it = g_objects.find({c->device, value});
  if (it == g_objects.end() || it->second.surface != surface) return false;
  *out = it->second;
  return true;
}

CUresult destroy_object(uint64_t value, bool surface) {
  guest::Channel* ch = nullptr;
  Context* c = nullptr;
  if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
  ObjectRecord record;
  if (!find_object(value, surface, &record)) return CUDA_ERROR_INVALID_VALUE;
  const guest::CallResult result = surface ? guest::call<proto::CallId::SurfObjectDestroy>(*ch, {value}, nullptr)
                                           : guest::call<proto::CallId::TexObjectDestroy>(*ch, {value}, nullptr);
  {
    // vgpud forgets it whatever its driver answered.
    std::lock_guard lock(g_mutex);
    g_objects.erase({c->device, value});
  }
  return to_cu_result(result.status);
}

}  // namespace

VGPU_DRIVER_API CUresult cuTexObjectCreate(CUtexObject* out, const CUDA_RESOURCE_DESC* resource,
                                           const CUDA_TEXTURE_DESC* texture, const CUDA_RESOURCE_VIEW_DESC* view) {
  return guarded([&] { return create_texture(out, resource, texture, view); });
}

VGPU_DRIVER_API CUresult cuTexObjectDestroy(CUtexObject object) {
  return guarded([&] { return destroy_object(object, false); });
}

VGPU_DRIVER_API CUresult cuTexObjectGetResourceDesc(CUDA_RESOURCE_DESC* out, CUtexObject object) {
  return guarded([&] {
    ObjectRecord r;
    if (out == nullptr || !find_object(object, false, &r)) return CUDA_ERROR_INVALID_VALUE;
    *out = r.resource;
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuTexObjectGetTextureDesc(CUDA_TEXTURE_DESC* out, CUtexObject object) {
  return guarded([&] {
    ObjectRecord r;
    if (out == nullptr || !find_object(object, false, &r)) return CUDA_ERROR_INVALID_VALUE;
    *out = r.texture;
    return CUDA_SUCCESS;
  });
}

// What it was given; none given is CUDA_ERROR_INVALID_VALUE, as the driver documents.
VGPU_DRIVER_API CUresult cuTexObjectGetResourceViewDesc(CUDA_RESOURCE_VIEW_DESC* out, CUtexObject object) {
  return guarded([&] {
    ObjectRecord r;
    if (out == nullptr || !find_object(object, false, &r) || !r.has_view) return CUDA_ERROR_INVALID_VALUE;
    *out = r.view;
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuSurfObjectCreate(CUsurfObject* out, const CUDA_RESOURCE_DESC* resource) {
  return guarded([&] { return create_surface(out, resource); });
}

VGPU_DRIVER_API CUresult cuSurfObjectDestroy(CUsurfObject object) {
  return guarded([&] { return destroy_object(object, true); });
}

VGPU_DRIVER_API CUresult cuSurfObjectGetResourceDesc(CUDA_RESOURCE_DESC* out, CUsurfObject object) {
  return guarded([&] {
    ObjectRecord r;
    if (out == nullptr || !find_object(object, true, &r)) return CUDA_ERROR_INVALID_VALUE;
    *out = r.resource;
    return CUDA_SUCCESS;
  });
}
