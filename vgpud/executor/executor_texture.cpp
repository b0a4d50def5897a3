// Handlers for texture and surface objects (docs/design.md §23). The object is the driver's own
// value, which the guest's kernels take as a plain 64-bit argument: nothing to translate at a
// launch. So vgpud checks the resource before the driver sees it (an array of the channel's, or
// linear or pitched memory inside one of its allocations: a texture reads what it names, as a
// copy would), and keeps the values it made, so that a guest destroys only its own.
#include <fmt/format.h>

#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/reply_payload.h"

namespace vgpud {

namespace {

// What TEX_OBJECT_CREATE's resource names, checked. 0, or the status to answer.
struct ResourceBounds {
  const DeviceMemoryMap& memory;
  ArrayObjects& arrays;
  uint32_t device;  // the current one
};

int32_t resource_of(const ResourceBounds& b, const TexObjectCreateCmd& cmd, CUDA_RESOURCE_DESC* out) {
  switch (cmd.resource_type) {
    case CU_RESOURCE_TYPE_ARRAY: {
      const ArrayObjects::Array* a = b.arrays.arrays.find(cmd.handle);
      if (a == nullptr) return CUDA_ERROR_INVALID_HANDLE;
      if (a->device != b.device) return CUDA_ERROR_INVALID_VALUE;
      out->resType = CU_RESOURCE_TYPE_ARRAY;
      out->res.array.hArray = a->handle;
      return 0;
    }
    case CU_RESOURCE_TYPE_MIPMAPPED_ARRAY: {
      const ArrayObjects::Mipmap* m = b.arrays.mipmaps.find(cmd.handle);
      if (m == nullptr) return CUDA_ERROR_INVALID_HANDLE;
      if (m->device != b.device) return CUDA_ERROR_INVALID_VALUE;
      out->resType = CU_RESOURCE_TYPE_MIPMAPPED_ARRAY;
      out->res.mipmap.hMipmappedArray = m->handle;
      return 0;
    }
    default:
      break;
  }
  const std::optional<uint32_t> element = element_bytes(cmd.format, cmd.channels);
  if (!element) return CUDA_ERROR_INVALID_VALUE;
  if (cmd.resource_type == CU_RESOURCE_TYPE_LINEAR) {
    if (cmd.size_bytes == 0) return CUDA_ERROR_INVALID_VALUE;
    uint64_t size = cmd.size_bytes;
    if (b.memory.device_of(cmd.device_ptr, size) != b.device) {
      // Programs name more than their allocation holds (convolutionFFT2D's padded spectrum
      // does, and passes natively, never fetching past it): clamped to the allocation, a fetch
      // past it reads 0, as past any linear texture's end, instead of what lies beyond.
      const auto room = b.memory.room_at(cmd.device_ptr);
      if (!room || room->second != b.device || room->first < *element) return CUDA_ERROR_INVALID_VALUE;
      size = room->first / *element * *element;
    }
    out->resType = CU_RESOURCE_TYPE_LINEAR;
    out->res.linear.devPtr = cmd.device_ptr;
    out->res.linear.format = static_cast<CUarray_format>(cmd.format);
    out->res.linear.numChannels = cmd.channels;
    out->res.linear.sizeInBytes = size;
    return 0;
  }
  // Pitched: height rows of width elements, pitch bytes apart.
  uint64_t row = 0;
  if (__builtin_mul_overflow(cmd.width, uint64_t{*element}, &row)) return CUDA_ERROR_INVALID_VALUE;
  const std::optional<Span> span = buffer_span(CopyBox{0, 0, 0, row, cmd.height, 1}, cmd.pitch, 0);
  if (!span || b.memory.device_of(cmd.device_ptr, span->length) != b.device) return CUDA_ERROR_INVALID_VALUE;
  out->resType = CU_RESOURCE_TYPE_PITCH2D;
  out->res.pitch2D.devPtr = cmd.device_ptr;
  out->res.pitch2D.format = static_cast<CUarray_format>(cmd.format);
  out->res.pitch2D.numChannels = cmd.channels;
  out->res.pitch2D.width = cmd.width;
  out->res.pitch2D.height = cmd.height;
  out->res.pitch2D.pitchInBytes = cmd.pitch;
  return 0;
}

CUDA_TEXTURE_DESC texture_of(const TexObjectCreateCmd& cmd) {
  CUDA_TEXTURE_DESC t{};
  for (int i = 0; i < 3; ++i) t.addressMode[i] = static_cast<CUaddress_mode>(cmd.address_mode[i]);
  t.filterMode = static_cast<CUfilter_mode>(cmd.filter_mode);
  t.flags = cmd.flags;
  t.maxAnisotropy = cmd.max_anisotropy;
  t.mipmapFilterMode = static_cast<CUfilter_mode>(cmd.mipmap_filter_mode);
  t.mipmapLevelBias = cmd.mipmap_level_bias;
  t.minMipmapLevelClamp = cmd.min_mipmap_level_clamp;
  t.maxMipmapLevelClamp = cmd.max_mipmap_level_clamp;
  for (int i = 0; i < 4; ++i) t.borderColor[i] = cmd.border_color[i];
  return t;
}

CUDA_RESOURCE_VIEW_DESC view_of(const TexObjectCreateCmd& cmd) {
  CUDA_RESOURCE_VIEW_DESC v{};
  v.format = static_cast<CUresourceViewFormat>(cmd.view_format);
  v.width = cmd.view_width;
  v.height = cmd.view_height;
  v.depth = cmd.view_depth;
  v.firstMipmapLevel = cmd.first_mipmap_level;
  v.lastMipmapLevel = cmd.last_mipmap_level;
  v.firstLayer = cmd.first_layer;
  v.lastLayer = cmd.last_layer;
  return v;
}

}  // namespace

int32_t ChannelExecutor::handle(const TexObjectCreateCmd& cmd, Reply& reply) {
  if (int32_t st = require_context()) return st;
  if (arrays_.textures.full()) return limit_exceeded();
  CUDA_RESOURCE_DESC resource{};
  if (int32_t st = resource_of({objects_.memory, arrays_, contexts_.current()}, cmd, &resource)) return st;
  const CUDA_TEXTURE_DESC texture = texture_of(cmd);
  const CUDA_RESOURCE_VIEW_DESC view = view_of(cmd);
  CUtexObject object = 0;
  const CUresult r = traced("cuTexObjectCreate",
                            cu_.cuTexObjectCreate(&object, &resource, &texture, cmd.has_view != 0 ? &view : nullptr),
                            [&] { return fmt::format("resource type {} object=0x{:x}", cmd.resource_type, object); });
  if (r != CUDA_SUCCESS) return r;
  arrays_.textures.insert(contexts_.current(), object);
  put(reply.payload, proto::TexObjectCreateReply{object});
  return 0;
}

int32_t ChannelExecutor::handle(const TexObjectDestroyCmd& cmd, Reply&) {
  // The driver's values may repeat across contexts: the object is the current device's.
  const uint32_t device = contexts_.current();
  if (!arrays_.textures.contains(device, cmd.object)) return CUDA_ERROR_INVALID_VALUE;
  const CUresult r = contexts_.in_existing_context_of(
      device, [&] { return traced("cuTexObjectDestroy", cu_.cuTexObjectDestroy(cmd.object)); });
  arrays_.textures.erase(device, cmd.object);
  return r;
}

int32_t ChannelExecutor::handle(const SurfObjectCreateCmd& cmd, Reply& reply) {
  if (int32_t st = require_context()) return st;
  if (arrays_.surfaces.full()) return limit_exceeded();
  // A surface is made over an array only (the driver's rule); it must be the channel's.
  const ArrayObjects::Array* a = arrays_.arrays.find(cmd.array);
  if (a == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (a->device != contexts_.current()) return CUDA_ERROR_INVALID_VALUE;
  CUDA_RESOURCE_DESC resource{};
  resource.resType = CU_RESOURCE_TYPE_ARRAY;
  resource.res.array.hArray = a->handle;
  CUsurfObject object = 0;
  const CUresult r = traced("cuSurfObjectCreate", cu_.cuSurfObjectCreate(&object, &resource),
                            [&] { return fmt::format("array {} object=0x{:x}", cmd.array, object); });
  if (r != CUDA_SUCCESS) return r;
  arrays_.surfaces.insert(contexts_.current(), object);
  put(reply.payload, proto::TexObjectCreateReply{object});
  return 0;
}

int32_t ChannelExecutor::handle(const SurfObjectDestroyCmd& cmd, Reply&) {
  const uint32_t device = contexts_.current();
  if (!arrays_.surfaces.contains(device, cmd.object)) return CUDA_ERROR_INVALID_VALUE;
  const CUresult r = contexts_.in_existing_context_of(
      device, [&] { return traced("cuSurfObjectDestroy", cu_.cuSurfObjectDestroy(cmd.object)); });
  arrays_.surfaces.erase(device, cmd.object);
  return r;
}

}  // namespace vgpud
