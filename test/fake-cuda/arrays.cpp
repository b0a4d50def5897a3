// fake-cuda (test double, never ships): CUDA arrays and mipmapped arrays (host memory, charged
// to the device's memory), their descriptors and memory requirements, and cuMemcpy3DAsync_v2
// between host memory, device memory and arrays. Checked as the driver documents: a box inside
// the array in whole elements, a buffer's whole span inside one region.
#include "arrays.h"

#include <algorithm>

#include "graph.h"

using namespace vgpu::fake;

ArrayRegistry& vgpu::fake::array_registry() {
  static ArrayRegistry registry;
  return registry;
}

std::size_t vgpu::fake::array_element_bytes(CUarray_format format, unsigned channels) {
  if (channels != 1 && channels != 2 && channels != 4) return 0;
  switch (raw_enum(&format)) {
    case CU_AD_FORMAT_UNSIGNED_INT8:
    case CU_AD_FORMAT_SIGNED_INT8:
      return channels;
    case CU_AD_FORMAT_UNSIGNED_INT16:
    case CU_AD_FORMAT_SIGNED_INT16:
    case CU_AD_FORMAT_HALF:
      return 2u * channels;
    case CU_AD_FORMAT_UNSIGNED_INT32:
    case CU_AD_FORMAT_SIGNED_INT32:
    case CU_AD_FORMAT_FLOAT:
      return 4u * channels;
    default:
      return 0;
  }
}

namespace {

constexpr unsigned kKnownFlags = CUDA_ARRAY3D_LAYERED | CUDA_ARRAY3D_SURFACE_LDST | CUDA_ARRAY3D_CUBEMAP |
                                 CUDA_ARRAY3D_TEXTURE_GATHER | CUDA_ARRAY3D_DEPTH_TEXTURE |
                                 CUDA_ARRAY3D_COLOR_ATTACHMENT | CUDA_ARRAY3D_DEFERRED_MAPPING;

// An array's shape as the driver's rules for cuArray3DCreate give it (the device limits are an
// H100's, device.cpp): CUDA_SUCCESS and the element, rows and slices, or the error.
CUresult shape(const CUDA_ARRAY3D_DESCRIPTOR& d, std::size_t& element, std::size_t& rows, std::size_t& slices) {
  if ((d.Flags & CUDA_ARRAY3D_SPARSE) != 0) return CUDA_ERROR_NOT_SUPPORTED;
  if ((d.Flags & ~kKnownFlags) != 0 || d.Width == 0) return CUDA_ERROR_INVALID_VALUE;
  element = array_element_bytes(d.Format, d.NumChannels);
  if (element == 0) return CUDA_ERROR_INVALID_VALUE;
  const bool layered = (d.Flags & CUDA_ARRAY3D_LAYERED) != 0;
  const bool cubemap = (d.Flags & CUDA_ARRAY3D_CUBEMAP) != 0;
  if (cubemap && (d.Width != d.Height || d.Depth == 0 || d.Depth % 6 != 0 || (!layered && d.Depth != 6)))
    return CUDA_ERROR_INVALID_VALUE;
  if (layered && d.Depth == 0) return CUDA_ERROR_INVALID_VALUE;
  if (!layered && !cubemap && d.Height == 0 && d.Depth != 0) return CUDA_ERROR_INVALID_VALUE;  // 1D with depth
  const bool three_d = d.Depth != 0 && !layered && !cubemap;
  const std::size_t max_w = three_d ? 16384 : 131072, max_h = three_d ? 16384 : 65536;
  if (d.Width > max_w || d.Height > max_h || d.Depth > (three_d ? 16384 : 2048 * 6)) return CUDA_ERROR_INVALID_VALUE;
  rows = std::max<std::size_t>(d.Height, 1);
  slices = std::max<std::size_t>(d.Depth, 1);
  return CUDA_SUCCESS;
}

// Makes one array (caller holds the registry's and the context's locks); charges its bytes
// unless it is for deferred mapping.
CUresult make_array(Context& ctx, const CUDA_ARRAY3D_DESCRIPTOR& d, CUmipmappedArray parent, CUarray* out) {
  Array a;
  if (CUresult r = shape(d, a.element, a.rows, a.slices); r != CUDA_SUCCESS) return r;
  a.ctx = ctx.handle;
  a.desc = d;
  a.row_bytes = d.Width * a.element;
  a.parent = parent;
  if ((d.Flags & CUDA_ARRAY3D_DEFERRED_MAPPING) == 0) {
    const std::size_t bytes = a.row_bytes * a.rows * a.slices;
    if (!reserve_device_memory(ctx.device, bytes)) return CUDA_ERROR_OUT_OF_MEMORY;
    a.bytes.assign(bytes, 0);
    a.charged = bytes;
  }
  const auto handle = new_handle<CUarray>();
  array_registry().arrays.emplace(handle, std::move(a));
  *out = handle;
  return CUDA_SUCCESS;
}

void drop_array(Context& ctx, std::unordered_map<CUarray, Array>::iterator it) {
  release_device_memory(ctx.device, it->second.charged);
  array_registry().arrays.erase(it);
}

// Level `l` of a mipmapped array: each extent halves, at least 1; layers stay; 0 stays 0.
CUDA_ARRAY3D_DESCRIPTOR level_of(const CUDA_ARRAY3D_DESCRIPTOR& d, unsigned l) {
  CUDA_ARRAY3D_DESCRIPTOR out = d;
  out.Width = std::max<std::size_t>(d.Width >> l, 1);
  if (d.Height != 0) out.Height = std::max<std::size_t>(d.Height >> l, 1);
  if (d.Depth != 0 && (d.Flags & (CUDA_ARRAY3D_LAYERED | CUDA_ARRAY3D_CUBEMAP)) == 0)
    out.Depth = std::max<std::size_t>(d.Depth >> l, 1);
  return out;
}

unsigned max_levels(const CUDA_ARRAY3D_DESCRIPTOR& d) {
  std::size_t largest = std::max({d.Width, d.Height, (d.Flags & CUDA_ARRAY3D_LAYERED) != 0 ? 0 : d.Depth});
  unsigned levels = 1;
  while (largest > 1) {
    largest >>= 1;
    ++levels;
  }
  return levels;
}

}  // namespace

void vgpu::fake::release_arrays(Context& ctx) {
  ArrayRegistry& reg = array_registry();
  std::lock_guard<std::mutex> g(reg.mu);
  std::erase_if(reg.objects, [&](const auto& e) { return e.second.ctx == ctx.handle; });
  for (auto it = reg.arrays.begin(); it != reg.arrays.end();) {
    if (it->second.ctx != ctx.handle) {
      ++it;
      continue;
    }
    release_device_memory(ctx.device, it->second.charged);
    it = reg.arrays.erase(it);
  }
  std::erase_if(reg.mipmaps, [&](const auto& e) { return e.second.ctx == ctx.handle; });
}

FAKE_CUDA_API CUresult CUDAAPI cuArray3DCreate_v2(CUarray* pHandle, const CUDA_ARRAY3D_DESCRIPTOR* pAllocateArray) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (pHandle == nullptr || pAllocateArray == nullptr) return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard<std::mutex> g(array_registry().mu);
  return make_array(*l.ctx, *pAllocateArray, nullptr, pHandle);
}

FAKE_CUDA_API CUresult CUDAAPI cuArrayDestroy(CUarray hArray) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  std::lock_guard<std::mutex> g(array_registry().mu);
  auto it = array_registry().arrays.find(hArray);
  if (it == array_registry().arrays.end() || it->second.parent != nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (it->second.ctx != l->handle) return CUDA_ERROR_INVALID_CONTEXT;
  drop_array(*l.ctx, it);
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuArray3DGetDescriptor_v2(CUDA_ARRAY3D_DESCRIPTOR* pArrayDescriptor, CUarray hArray) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (pArrayDescriptor == nullptr) return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard<std::mutex> g(array_registry().mu);
  auto it = array_registry().arrays.find(hArray);
  if (it == array_registry().arrays.end()) return CUDA_ERROR_INVALID_HANDLE;
  *pArrayDescriptor = it->second.desc;
  pArrayDescriptor->Flags &= ~static_cast<unsigned>(CUDA_ARRAY3D_DEFERRED_MAPPING);
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuArrayGetMemoryRequirements(CUDA_ARRAY_MEMORY_REQUIREMENTS* memoryRequirements,
                                                            CUarray array, CUdevice device) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (memoryRequirements == nullptr) return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard<std::mutex> g(array_registry().mu);
  auto it = array_registry().arrays.find(array);
  if (it == array_registry().arrays.end() || (it->second.desc.Flags & CUDA_ARRAY3D_DEFERRED_MAPPING) == 0)
    return CUDA_ERROR_INVALID_VALUE;
  if (device != l->device) return CUDA_ERROR_INVALID_DEVICE;
  *memoryRequirements = CUDA_ARRAY_MEMORY_REQUIREMENTS{};
  memoryRequirements->size = it->second.row_bytes * it->second.rows * it->second.slices;
  memoryRequirements->alignment = 512;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuMipmappedArrayCreate(CUmipmappedArray* pHandle,
                                                      const CUDA_ARRAY3D_DESCRIPTOR* pMipmappedArrayDesc,
                                                      unsigned int numMipmapLevels) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (pHandle == nullptr || pMipmappedArrayDesc == nullptr || numMipmapLevels == 0) return CUDA_ERROR_INVALID_VALUE;
  const CUDA_ARRAY3D_DESCRIPTOR& d = *pMipmappedArrayDesc;
  if (numMipmapLevels > max_levels(d)) return CUDA_ERROR_INVALID_VALUE;
  ArrayRegistry& reg = array_registry();
  std::lock_guard<std::mutex> g(reg.mu);
  const auto handle = new_handle<CUmipmappedArray>();
  Mipmap m;
  m.ctx = l->handle;
  m.desc = d;
  for (unsigned level = 0; level < numMipmapLevels; ++level) {
    CUarray a = nullptr;
    CUresult r = make_array(*l.ctx, level_of(d, level), handle, &a);
    if (r != CUDA_SUCCESS) {
      for (CUarray made : m.levels) drop_array(*l.ctx, reg.arrays.find(made));
      return r;
    }
    m.levels.push_back(a);
    m.charged += reg.arrays.at(a).row_bytes * reg.arrays.at(a).rows * reg.arrays.at(a).slices;
  }
  reg.mipmaps.emplace(handle, std::move(m));
  *pHandle = handle;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuMipmappedArrayGetLevel(CUarray* pLevelArray, CUmipmappedArray hMipmappedArray,
                                                        unsigned int level) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (pLevelArray == nullptr) return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard<std::mutex> g(array_registry().mu);
  auto it = array_registry().mipmaps.find(hMipmappedArray);
  if (it == array_registry().mipmaps.end()) return CUDA_ERROR_INVALID_HANDLE;
  if (level >= it->second.levels.size()) return CUDA_ERROR_INVALID_VALUE;
  *pLevelArray = it->second.levels[level];
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuMipmappedArrayDestroy(CUmipmappedArray hMipmappedArray) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  ArrayRegistry& reg = array_registry();
  std::lock_guard<std::mutex> g(reg.mu);
  auto it = reg.mipmaps.find(hMipmappedArray);
  if (it == reg.mipmaps.end()) return CUDA_ERROR_INVALID_HANDLE;
  if (it->second.ctx != l->handle) return CUDA_ERROR_INVALID_CONTEXT;
  for (CUarray level : it->second.levels) drop_array(*l.ctx, reg.arrays.find(level));
  reg.mipmaps.erase(it);
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuMipmappedArrayGetMemoryRequirements(
    CUDA_ARRAY_MEMORY_REQUIREMENTS* memoryRequirements, CUmipmappedArray mipmap, CUdevice device) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (memoryRequirements == nullptr) return CUDA_ERROR_INVALID_VALUE;
  ArrayRegistry& reg = array_registry();
  std::lock_guard<std::mutex> g(reg.mu);
  auto it = reg.mipmaps.find(mipmap);
  if (it == reg.mipmaps.end() || (it->second.desc.Flags & CUDA_ARRAY3D_DEFERRED_MAPPING) == 0)
    return CUDA_ERROR_INVALID_VALUE;
  if (device != l->device) return CUDA_ERROR_INVALID_DEVICE;
  *memoryRequirements = CUDA_ARRAY_MEMORY_REQUIREMENTS{};
  for (CUarray level : it->second.levels) {
    const Array& a = reg.arrays.at(level);
    memoryRequirements->size += a.row_bytes * a.rows * a.slices;
  }
  memoryRequirements->alignment = 512;
  return CUDA_SUCCESS;
}

namespace {

// One side of a 3D copy, resolved to the byte its (x, y, z) names and the strides from there.
struct Side {
  unsigned char* first = nullptr;
  std::size_t pitch = 0, slice = 0;
};

// Checks one side of `c` and finds its first byte (caller holds the region index and the
// registry's lock). Host and device sides: their whole span; arrays: the box, in whole elements.
CUresult side_of(const RegionReader& held, CUmemorytype type, const void* host, CUdeviceptr device, CUarray array,
                 std::size_t x, std::size_t y, std::size_t z, std::size_t pitch, std::size_t height,
                 const CUDA_MEMCPY3D& c, Side& out) {
  if (raw_enum(&type) == CU_MEMORYTYPE_ARRAY) {
    auto it = array_registry().arrays.find(array);
    if (it == array_registry().arrays.end()) return CUDA_ERROR_INVALID_HANDLE;
    Array& a = it->second;
    if (a.bytes.empty()) return CUDA_ERROR_INVALID_VALUE;  // deferred mapping: no memory behind it
    if (x % a.element != 0 || c.WidthInBytes % a.element != 0 || x > a.row_bytes || c.WidthInBytes > a.row_bytes - x ||
        y > a.rows || c.Height > a.rows - y || z > a.slices || c.Depth > a.slices - z)
      return CUDA_ERROR_INVALID_VALUE;
    out.pitch = a.row_bytes;
    out.slice = a.row_bytes * a.rows;
    out.first = a.bytes.data() + z * out.slice + y * out.pitch + x;
    return CUDA_SUCCESS;
  }
  const int t = raw_enum(&type);
  if (t != CU_MEMORYTYPE_HOST && t != CU_MEMORYTYPE_DEVICE && t != CU_MEMORYTYPE_UNIFIED) return CUDA_ERROR_INVALID_VALUE;
  const bool multi_row = c.Height > 1 || c.Depth > 1;
  if (multi_row && pitch < x + c.WidthInBytes) return CUDA_ERROR_INVALID_VALUE;
  if (c.Depth > 1 && height < y + c.Height) return CUDA_ERROR_INVALID_VALUE;
  std::size_t slice = 0, offset = 0, span = 0, a = 0, b = 0;
  if (__builtin_mul_overflow(pitch, height, &slice) || __builtin_mul_overflow(z, slice, &a) ||
      __builtin_mul_overflow(y, pitch, &b) || __builtin_add_overflow(a, b, &offset) ||
      __builtin_add_overflow(offset, x, &offset) || __builtin_mul_overflow(c.Depth - 1, slice, &a) ||
      __builtin_mul_overflow(c.Height - 1, pitch, &b) || __builtin_add_overflow(a, b, &span) ||
      __builtin_add_overflow(span, c.WidthInBytes, &span))
    return CUDA_ERROR_INVALID_VALUE;
  const auto base = t == CU_MEMORYTYPE_HOST ? reinterpret_cast<std::uintptr_t>(host) : device;
  if (base == 0 || __builtin_add_overflow(base, offset, &a)) return CUDA_ERROR_INVALID_VALUE;
  if (t != CU_MEMORYTYPE_HOST && region_owner(held, a, span) == nullptr) return CUDA_ERROR_INVALID_VALUE;
  out.first = reinterpret_cast<unsigned char*>(a);
  out.pitch = pitch;
  out.slice = slice;
  return CUDA_SUCCESS;
}

}  // namespace

FAKE_CUDA_API CUresult CUDAAPI cuMemcpy3DAsync_v2(const CUDA_MEMCPY3D* pCopy, CUstream hStream) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (!stream_ok(*l.ctx, hStream)) return CUDA_ERROR_INVALID_HANDLE;
  if (pCopy == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const CUDA_MEMCPY3D& c = *pCopy;
  if (c.srcLOD != 0 || c.dstLOD != 0 || c.reserved0 != nullptr || c.reserved1 != nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (c.WidthInBytes == 0 || c.Height == 0 || c.Depth == 0) return CUDA_SUCCESS;
  // Copies with arrays are not recorded into graphs here (the fake's graph nodes have no arrays).
  std::shared_ptr<Capture> cap;
  if (CUresult r = capture_gate(*l.ctx, hStream, cap); r != CUDA_SUCCESS) return r;
  if (cap) return CUDA_ERROR_NOT_SUPPORTED;
  const RegionReader held = read_regions();
  std::lock_guard<std::mutex> g(array_registry().mu);
  Side src, dst;
  if (CUresult r = side_of(held, c.srcMemoryType, c.srcHost, c.srcDevice, c.srcArray, c.srcXInBytes, c.srcY, c.srcZ,
                           c.srcPitch, c.srcHeight, c, src);
      r != CUDA_SUCCESS)
    return r;
  if (CUresult r = side_of(held, c.dstMemoryType, c.dstHost, c.dstDevice, c.dstArray, c.dstXInBytes, c.dstY, c.dstZ,
                           c.dstPitch, c.dstHeight, c, dst);
      r != CUDA_SUCCESS)
    return r;
  for (std::size_t z = 0; z < c.Depth; ++z)
    for (std::size_t y = 0; y < c.Height; ++y)
      std::memmove(dst.first + z * dst.slice + y * dst.pitch, src.first + z * src.slice + y * src.pitch,
                   c.WidthInBytes);
  return CUDA_SUCCESS;
}
