// CUDA arrays and mipmapped arrays (docs/design.md §23): made, described and destroyed. vgpud
// makes the driver's and charges them to the tenant's device memory; the guest keeps each one's
// descriptor, so the descriptor calls need no round trip.
#include <atomic>

#include "guest/client/log.h"
#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/arrays.h"
#include "guest/cuda/capture.h"
#include "vgpu/protocol/array_format.h"
#include "vgpu/protocol/limits.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;
namespace limits = vgpu::limits;

namespace vgpu::cuda {

uint32_t element_bytes(CUarray_format format, unsigned channels) noexcept {
  return proto::array_element_bytes(static_cast<uint32_t>(format), channels);
}

ArrayExtent extent_of(const ArrayObject& a) noexcept {
  return ArrayExtent{a.desc.Width * a.element, a.desc.Height != 0 ? a.desc.Height : 1,
                     a.desc.Depth != 0 ? a.desc.Depth : 1};
}

}  // namespace vgpu::cuda

namespace {

// The flags vgpud makes arrays with. Sparse and deferred-mapping arrays are mapped by hand
// (cuMemMapArrayAsync), which vgpu does not offer, nor video encode/decode.
constexpr unsigned kArrayFlags = CUDA_ARRAY3D_LAYERED | CUDA_ARRAY3D_SURFACE_LDST | CUDA_ARRAY3D_CUBEMAP |
                                 CUDA_ARRAY3D_TEXTURE_GATHER | CUDA_ARRAY3D_DEPTH_TEXTURE |
                                 CUDA_ARRAY3D_COLOR_ATTACHMENT;
constexpr unsigned kUnofferedFlags = CUDA_ARRAY3D_SPARSE | CUDA_ARRAY3D_DEFERRED_MAPPING | CUDA_ARRAY3D_VIDEO_ENCODE_DECODE;

void say_once(std::atomic<bool>& said, const char* what) {
  if (!said.exchange(true)) guest::log(guest::LogLevel::Warn, "%s is not supported by vgpu", what);
}

// What the driver would refuse, and what vgpu does not offer, before anything is sent; the
// element's bytes in *element.
CUresult check_descriptor(const CUDA_ARRAY3D_DESCRIPTOR& d, uint32_t* element) {
  static std::atomic<bool> said_flags{false}, said_format{false};
  if ((d.Flags & kUnofferedFlags) != 0) {
    say_once(said_flags, "a sparse, deferred-mapping or video CUDA array");
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  if ((d.Flags & ~kArrayFlags) != 0 || d.Width == 0 || d.Width > limits::kMaxArrayExtent ||
      d.Height > limits::kMaxArrayExtent || d.Depth > limits::kMaxArrayExtent)
    return CUDA_ERROR_INVALID_VALUE;
  if (d.NumChannels != 1 && d.NumChannels != 2 && d.NumChannels != 4) return CUDA_ERROR_INVALID_VALUE;
  *element = element_bytes(d.Format, d.NumChannels);
  if (*element == 0) {
    say_once(said_format, "a CUDA array format other than 8/16/32-bit integers, half or float");
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  return CUDA_SUCCESS;
}

CUresult create_array(CUarray* out, const CUDA_ARRAY3D_DESCRIPTOR* desc) {
  if (out == nullptr || desc == nullptr) return CUDA_ERROR_INVALID_VALUE;
  uint32_t element = 0;
  if (CUresult r = check_descriptor(*desc, &element); r != CUDA_SUCCESS) return r;
  guest::Channel* ch = nullptr;
  Context* c = nullptr;
  if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
  // Making an array may synchronize: a capture's mode can forbid it (capture.h).
  if (CUresult r = check_unsafe_call_during_capture(); r != CUDA_SUCCESS) return r;
  const proto::ArrayCreateRequest request{desc->Width, desc->Height, desc->Depth, static_cast<uint32_t>(desc->Format),
                                          desc->NumChannels, desc->Flags, 0};
  proto::ArrayCreateReply reply{};
  const guest::CallResult result = guest::call<proto::CallId::ArrayCreate>(*ch, request, &reply);
  if (result.status != 0) return to_cu_result(result.status);
  *out = reinterpret_cast<CUarray>(new ArrayObject{HandleKind::Array, reply.array, c->device, *desc, element, nullptr});
  return CUDA_SUCCESS;
}

CUresult destroy_array(CUarray array) {
  ArrayObject* a = array_of(array);
  // A level goes with its mipmapped array, as the driver's do.
  if (a == nullptr || a->mipmap != nullptr) return CUDA_ERROR_INVALID_HANDLE;
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  if (CUresult r = check_unsafe_call_during_capture(); r != CUDA_SUCCESS) return r;
  const CUresult r = to_cu_result(guest::call<proto::CallId::ArrayDestroy>(*ch, {a->wire, 0}, nullptr).status);
  if (r != CUDA_SUCCESS) return r;
  a->kind = HandleKind::Dead;
  delete a;
  return CUDA_SUCCESS;
}

CUresult create_mipmap(CUmipmappedArray* out, const CUDA_ARRAY3D_DESCRIPTOR* desc, unsigned levels) {
  if (out == nullptr || desc == nullptr || levels == 0 || levels > limits::kMaxMipmapLevels)
    return CUDA_ERROR_INVALID_VALUE;
  uint32_t element = 0;
  if (CUresult r = check_descriptor(*desc, &element); r != CUDA_SUCCESS) return r;
  guest::Channel* ch = nullptr;
  Context* c = nullptr;
  if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
  if (CUresult r = check_unsafe_call_during_capture(); r != CUDA_SUCCESS) return r;
  const proto::MipmappedArrayCreateRequest request{desc->Width,  desc->Height,
                                                   desc->Depth,  static_cast<uint32_t>(desc->Format),
                                                   desc->NumChannels, desc->Flags, levels};
  proto::MipmappedArrayCreateReply reply{};
  const guest::CallResult result = guest::call<proto::CallId::MipmappedArrayCreate>(*ch, request, &reply);
  if (result.status != 0) return to_cu_result(result.status);
  auto m = std::make_unique<MipmappedArrayObject>();
  m->wire = reply.mipmap;
  m->device = c->device;
  m->desc = *desc;
  m->element = element;
  m->levels.resize(levels);
  *out = reinterpret_cast<CUmipmappedArray>(m.release());
  return CUDA_SUCCESS;
}

CUresult mipmap_level(CUarray* out, CUmipmappedArray mipmap, unsigned level) {
  MipmappedArrayObject* m = mipmap_of(mipmap);
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (m == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (level >= m->levels.size()) return CUDA_ERROR_INVALID_VALUE;
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  std::lock_guard lock(m->mutex);
  std::unique_ptr<ArrayObject>& slot = m->levels[level];
  if (!slot) {
    // vgpud names the level once and describes it as the driver does (each extent halved).
    proto::MipmappedArrayGetLevelReply reply{};
    const guest::CallResult result =
        guest::call<proto::CallId::MipmappedArrayGetLevel>(*ch, {m->wire, level}, &reply);
    if (result.status != 0) return to_cu_result(result.status);
    CUDA_ARRAY3D_DESCRIPTOR desc = m->desc;
    desc.Width = reply.width;
    desc.Height = reply.height;
    desc.Depth = reply.depth;
    slot = std::make_unique<ArrayObject>(ArrayObject{HandleKind::Array, reply.array, m->device, desc, m->element, m});
  }
  *out = reinterpret_cast<CUarray>(slot.get());
  return CUDA_SUCCESS;
}

CUresult destroy_mipmap(CUmipmappedArray mipmap) {
  MipmappedArrayObject* m = mipmap_of(mipmap);
  if (m == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  if (CUresult r = check_unsafe_call_during_capture(); r != CUDA_SUCCESS) return r;
  const CUresult r = to_cu_result(guest::call<proto::CallId::MipmappedArrayDestroy>(*ch, {m->wire, 0}, nullptr).status);
  if (r != CUDA_SUCCESS) return r;
  m->kind = HandleKind::Dead;
  delete m;
  return CUDA_SUCCESS;
}

}  // namespace

VGPU_DRIVER_API CUresult cuArrayCreate_v2(CUarray* out, const CUDA_ARRAY_DESCRIPTOR* desc) {
  return guarded([&] {
    if (desc == nullptr) return CUDA_ERROR_INVALID_VALUE;
    CUDA_ARRAY3D_DESCRIPTOR d{};
    d.Width = desc->Width;
    d.Height = desc->Height;
    d.Format = desc->Format;
    d.NumChannels = desc->NumChannels;
    return create_array(out, &d);
  });
}

VGPU_DRIVER_API CUresult cuArray3DCreate_v2(CUarray* out, const CUDA_ARRAY3D_DESCRIPTOR* desc) {
  return guarded([&] { return create_array(out, desc); });
}

VGPU_DRIVER_API CUresult cuArrayDestroy(CUarray array) {
  return guarded([&] { return destroy_array(array); });
}

VGPU_DRIVER_API CUresult cuArrayGetDescriptor_v2(CUDA_ARRAY_DESCRIPTOR* out, CUarray array) {
  return guarded([&] {
    const ArrayObject* a = array_of(array);
    if (a == nullptr) return CUDA_ERROR_INVALID_HANDLE;
    if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
    *out = CUDA_ARRAY_DESCRIPTOR{a->desc.Width, a->desc.Height, a->desc.Format, a->desc.NumChannels};
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuArray3DGetDescriptor_v2(CUDA_ARRAY3D_DESCRIPTOR* out, CUarray array) {
  return guarded([&] {
    const ArrayObject* a = array_of(array);
    if (a == nullptr) return CUDA_ERROR_INVALID_HANDLE;
    if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
    *out = a->desc;
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuMipmappedArrayCreate(CUmipmappedArray* out, const CUDA_ARRAY3D_DESCRIPTOR* desc,
                                                unsigned int levels) {
  return guarded([&] { return create_mipmap(out, desc, levels); });
}

VGPU_DRIVER_API CUresult cuMipmappedArrayGetLevel(CUarray* out, CUmipmappedArray mipmap, unsigned int level) {
  return guarded([&] { return mipmap_level(out, mipmap, level); });
}

VGPU_DRIVER_API CUresult cuMipmappedArrayDestroy(CUmipmappedArray mipmap) {
  return guarded([&] { return destroy_mipmap(mipmap); });
}
