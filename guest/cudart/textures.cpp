// Texture and surface objects (docs/design.md §23): the runtime's descriptors turned into the
// driver's and back. A cudaTextureObject_t is the driver's CUtexObject, a cudaSurfaceObject_t its
// CUsurfObject: the value kernels take.
#include <cuda.h>

#include "guest/client/log.h"
#include "guest/cudart/channel_format.h"
#include "guest/cudart/entry.h"

namespace vgpu::cudart {
namespace {

cudaError_t to_driver(const cudaResourceDesc& in, CUDA_RESOURCE_DESC* out) {
  *out = CUDA_RESOURCE_DESC{};
  out->flags = in.flags;
  switch (in.resType) {
    case cudaResourceTypeArray:
      out->resType = CU_RESOURCE_TYPE_ARRAY;
      out->res.array.hArray = reinterpret_cast<CUarray>(in.res.array.array);
      return cudaSuccess;
    case cudaResourceTypeMipmappedArray:
      out->resType = CU_RESOURCE_TYPE_MIPMAPPED_ARRAY;
      out->res.mipmap.hMipmappedArray = reinterpret_cast<CUmipmappedArray>(in.res.mipmap.mipmap);
      return cudaSuccess;
    case cudaResourceTypeLinear:
      out->resType = CU_RESOURCE_TYPE_LINEAR;
      out->res.linear.devPtr = reinterpret_cast<CUdeviceptr>(in.res.linear.devPtr);
      out->res.linear.sizeInBytes = in.res.linear.sizeInBytes;
      return format_of(in.res.linear.desc, &out->res.linear.format, &out->res.linear.numChannels);
    case cudaResourceTypePitch2D:
      out->resType = CU_RESOURCE_TYPE_PITCH2D;
      out->res.pitch2D.devPtr = reinterpret_cast<CUdeviceptr>(in.res.pitch2D.devPtr);
      out->res.pitch2D.width = in.res.pitch2D.width;
      out->res.pitch2D.height = in.res.pitch2D.height;
      out->res.pitch2D.pitchInBytes = in.res.pitch2D.pitchInBytes;
      return format_of(in.res.pitch2D.desc, &out->res.pitch2D.format, &out->res.pitch2D.numChannels);
  }
  return cudaErrorInvalidValue;
}

cudaResourceDesc from_driver(const CUDA_RESOURCE_DESC& in) {
  cudaResourceDesc out{};
  out.flags = in.flags;
  switch (in.resType) {
    case CU_RESOURCE_TYPE_ARRAY:
      out.resType = cudaResourceTypeArray;
      out.res.array.array = reinterpret_cast<cudaArray_t>(in.res.array.hArray);
      break;
    case CU_RESOURCE_TYPE_MIPMAPPED_ARRAY:
      out.resType = cudaResourceTypeMipmappedArray;
      out.res.mipmap.mipmap = reinterpret_cast<cudaMipmappedArray_t>(in.res.mipmap.hMipmappedArray);
      break;
    case CU_RESOURCE_TYPE_LINEAR:
      out.resType = cudaResourceTypeLinear;
      out.res.linear.devPtr = reinterpret_cast<void*>(in.res.linear.devPtr);
      out.res.linear.desc = channel_desc_of(in.res.linear.format, in.res.linear.numChannels);
      out.res.linear.sizeInBytes = in.res.linear.sizeInBytes;
      break;
    case CU_RESOURCE_TYPE_PITCH2D:
      out.resType = cudaResourceTypePitch2D;
      out.res.pitch2D.devPtr = reinterpret_cast<void*>(in.res.pitch2D.devPtr);
      out.res.pitch2D.desc = channel_desc_of(in.res.pitch2D.format, in.res.pitch2D.numChannels);
      out.res.pitch2D.width = in.res.pitch2D.width;
      out.res.pitch2D.height = in.res.pitch2D.height;
      out.res.pitch2D.pitchInBytes = in.res.pitch2D.pitchInBytes;
      break;
  }
  return out;
}

// cudaReadModeElementType reads integer formats as integers (the driver's READ_AS_INTEGER, which
// it ignores for float formats); cudaReadModeNormalizedFloat promotes them to [0, 1] or [-1, 1].
CUDA_TEXTURE_DESC to_driver(const cudaTextureDesc& in) {
  CUDA_TEXTURE_DESC out{};
  for (int i = 0; i < 3; ++i) out.addressMode[i] = static_cast<CUaddress_mode>(in.addressMode[i]);
  out.filterMode = static_cast<CUfilter_mode>(in.filterMode);
  if (in.readMode == cudaReadModeElementType) out.flags |= CU_TRSF_READ_AS_INTEGER;
  if (in.normalizedCoords != 0) out.flags |= CU_TRSF_NORMALIZED_COORDINATES;
  if (in.sRGB != 0) out.flags |= CU_TRSF_SRGB;
  if (in.disableTrilinearOptimization != 0) out.flags |= CU_TRSF_DISABLE_TRILINEAR_OPTIMIZATION;
  if (in.seamlessCubemap != 0) out.flags |= CU_TRSF_SEAMLESS_CUBEMAP;
  out.maxAnisotropy = in.maxAnisotropy;
  out.mipmapFilterMode = static_cast<CUfilter_mode>(in.mipmapFilterMode);
  out.mipmapLevelBias = in.mipmapLevelBias;
  out.minMipmapLevelClamp = in.minMipmapLevelClamp;
  out.maxMipmapLevelClamp = in.maxMipmapLevelClamp;
  for (int i = 0; i < 4; ++i) out.borderColor[i] = in.borderColor[i];
  return out;
}

cudaTextureDesc from_driver(const CUDA_TEXTURE_DESC& in) {
  cudaTextureDesc out{};
  for (int i = 0; i < 3; ++i) out.addressMode[i] = static_cast<cudaTextureAddressMode>(in.addressMode[i]);
  out.filterMode = static_cast<cudaTextureFilterMode>(in.filterMode);
  out.readMode = (in.flags & CU_TRSF_READ_AS_INTEGER) != 0 ? cudaReadModeElementType : cudaReadModeNormalizedFloat;
  out.normalizedCoords = (in.flags & CU_TRSF_NORMALIZED_COORDINATES) != 0;
  out.sRGB = (in.flags & CU_TRSF_SRGB) != 0;
  out.disableTrilinearOptimization = (in.flags & CU_TRSF_DISABLE_TRILINEAR_OPTIMIZATION) != 0;
  out.seamlessCubemap = (in.flags & CU_TRSF_SEAMLESS_CUBEMAP) != 0;
  out.maxAnisotropy = in.maxAnisotropy;
  out.mipmapFilterMode = static_cast<cudaTextureFilterMode>(in.mipmapFilterMode);
  out.mipmapLevelBias = in.mipmapLevelBias;
  out.minMipmapLevelClamp = in.minMipmapLevelClamp;
  out.maxMipmapLevelClamp = in.maxMipmapLevelClamp;
  for (int i = 0; i < 4; ++i) out.borderColor[i] = in.borderColor[i];
  return out;
}

// The view formats are the driver's, value for value.
CUDA_RESOURCE_VIEW_DESC to_driver(const cudaResourceViewDesc& in) {
  CUDA_RESOURCE_VIEW_DESC out{};
  out.format = static_cast<CUresourceViewFormat>(in.format);
  out.width = in.width;
  out.height = in.height;
  out.depth = in.depth;
  out.firstMipmapLevel = in.firstMipmapLevel;
  out.lastMipmapLevel = in.lastMipmapLevel;
  out.firstLayer = in.firstLayer;
  out.lastLayer = in.lastLayer;
  return out;
}

cudaResourceViewDesc from_driver(const CUDA_RESOURCE_VIEW_DESC& in) {
  cudaResourceViewDesc out{};
  out.format = static_cast<cudaResourceViewFormat>(in.format);
  out.width = in.width;
  out.height = in.height;
  out.depth = in.depth;
  out.firstMipmapLevel = in.firstMipmapLevel;
  out.lastMipmapLevel = in.lastMipmapLevel;
  out.firstLayer = in.firstLayer;
  out.lastLayer = in.lastLayer;
  return out;
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT cudaError_t cudaCreateTextureObject(cudaTextureObject_t* object, const cudaResourceDesc* resource,
                                                const cudaTextureDesc* texture, const cudaResourceViewDesc* view) {
  trace_api("cudaCreateTextureObject");
  return context_call([&](Runtime&) {
    if (object == nullptr || resource == nullptr || texture == nullptr) return cudaErrorInvalidValue;
    CUDA_RESOURCE_DESC r;
    if (cudaError_t e = to_driver(*resource, &r); e != cudaSuccess) return e;
    const CUDA_TEXTURE_DESC t = to_driver(*texture);
    CUDA_RESOURCE_VIEW_DESC v{};
    if (view != nullptr) v = to_driver(*view);
    CUtexObject made = 0;
    const CUresult result = cuTexObjectCreate(&made, &r, &t, view != nullptr ? &v : nullptr);
    if (result == CUDA_SUCCESS) *object = made;
    return to_cuda_error(result);
  });
}

VGPU_EXPORT cudaError_t cudaDestroyTextureObject(cudaTextureObject_t object) {
  trace_api("cudaDestroyTextureObject 0x%llx", object);
  return context_call([&](Runtime&) { return to_cuda_error(cuTexObjectDestroy(object)); });
}

VGPU_EXPORT cudaError_t cudaGetTextureObjectResourceDesc(cudaResourceDesc* out, cudaTextureObject_t object) {
  trace_api("cudaGetTextureObjectResourceDesc 0x%llx", object);
  return context_call([&](Runtime&) {
    if (out == nullptr) return cudaErrorInvalidValue;
    CUDA_RESOURCE_DESC r{};
    if (CUresult e = cuTexObjectGetResourceDesc(&r, object); e != CUDA_SUCCESS) return to_cuda_error(e);
    *out = from_driver(r);
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaGetTextureObjectTextureDesc(cudaTextureDesc* out, cudaTextureObject_t object) {
  trace_api("cudaGetTextureObjectTextureDesc 0x%llx", object);
  return context_call([&](Runtime&) {
    if (out == nullptr) return cudaErrorInvalidValue;
    CUDA_TEXTURE_DESC t{};
    if (CUresult e = cuTexObjectGetTextureDesc(&t, object); e != CUDA_SUCCESS) return to_cuda_error(e);
    *out = from_driver(t);
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaGetTextureObjectResourceViewDesc(cudaResourceViewDesc* out, cudaTextureObject_t object) {
  trace_api("cudaGetTextureObjectResourceViewDesc 0x%llx", object);
  return context_call([&](Runtime&) {
    if (out == nullptr) return cudaErrorInvalidValue;
    CUDA_RESOURCE_VIEW_DESC v{};
    if (CUresult e = cuTexObjectGetResourceViewDesc(&v, object); e != CUDA_SUCCESS) return to_cuda_error(e);
    *out = from_driver(v);
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaCreateSurfaceObject(cudaSurfaceObject_t* object, const cudaResourceDesc* resource) {
  trace_api("cudaCreateSurfaceObject");
  return context_call([&](Runtime&) {
    if (object == nullptr || resource == nullptr) return cudaErrorInvalidValue;
    CUDA_RESOURCE_DESC r;
    if (cudaError_t e = to_driver(*resource, &r); e != cudaSuccess) return e;
    CUsurfObject made = 0;
    const CUresult result = cuSurfObjectCreate(&made, &r);
    if (result == CUDA_SUCCESS) *object = made;
    return to_cuda_error(result);
  });
}

VGPU_EXPORT cudaError_t cudaDestroySurfaceObject(cudaSurfaceObject_t object) {
  trace_api("cudaDestroySurfaceObject 0x%llx", object);
  return context_call([&](Runtime&) { return to_cuda_error(cuSurfObjectDestroy(object)); });
}

VGPU_EXPORT cudaError_t cudaGetSurfaceObjectResourceDesc(cudaResourceDesc* out, cudaSurfaceObject_t object) {
  trace_api("cudaGetSurfaceObjectResourceDesc 0x%llx", object);
  return context_call([&](Runtime&) {
    if (out == nullptr) return cudaErrorInvalidValue;
    CUDA_RESOURCE_DESC r{};
    if (CUresult e = cuSurfObjectGetResourceDesc(&r, object); e != CUDA_SUCCESS) return to_cuda_error(e);
    *out = from_driver(r);
    return cudaSuccess;
  });
}
