// CUDA arrays and mipmapped arrays (docs/design.md §23): each runtime call is the driver's. A
// cudaArray_t is a CUarray and a cudaMipmappedArray_t a CUmipmappedArray, as in NVIDIA's
// runtime, so both shims hand out and take the same handles.
#include <cuda.h>

#include "guest/client/log.h"
#include "guest/cudart/channel_format.h"
#include "guest/cudart/entry.h"

namespace vgpu::cudart {
namespace {

CUarray driver(cudaArray_const_t a) { return reinterpret_cast<CUarray>(const_cast<cudaArray_t>(a)); }
CUmipmappedArray driver(cudaMipmappedArray_const_t m) {
  return reinterpret_cast<CUmipmappedArray>(const_cast<cudaMipmappedArray_t>(m));
}

// The driver's descriptor of an array of `extent` (elements) and `flags` (cudaArray* flags are
// the driver's CUDA_ARRAY3D_* values).
cudaError_t descriptor_of(const cudaChannelFormatDesc* desc, cudaExtent extent, unsigned flags,
                          CUDA_ARRAY3D_DESCRIPTOR* out) {
  if (desc == nullptr) return cudaErrorInvalidValue;
  *out = CUDA_ARRAY3D_DESCRIPTOR{};
  if (cudaError_t e = format_of(*desc, &out->Format, &out->NumChannels); e != cudaSuccess) return e;
  out->Width = extent.width;
  out->Height = extent.height;
  out->Depth = extent.depth;
  out->Flags = flags;
  return cudaSuccess;
}

// An allocation the driver could not make is the runtime's cudaErrorMemoryAllocation.
cudaError_t allocation_error(CUresult r) {
  return r == CUDA_ERROR_OUT_OF_MEMORY ? cudaErrorMemoryAllocation : to_cuda_error(r);
}

cudaError_t malloc_array(cudaArray_t* array, const cudaChannelFormatDesc* desc, cudaExtent extent, unsigned flags) {
  return context_call([&](Runtime&) {
    if (array == nullptr) return cudaErrorInvalidValue;
    CUDA_ARRAY3D_DESCRIPTOR d;
    if (cudaError_t e = descriptor_of(desc, extent, flags, &d); e != cudaSuccess) return e;
    CUarray made = nullptr;
    const CUresult r = cuArray3DCreate(&made, &d);
    if (r == CUDA_SUCCESS) *array = reinterpret_cast<cudaArray_t>(made);
    return allocation_error(r);
  });
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT cudaError_t cudaMallocArray(cudaArray_t* array, const cudaChannelFormatDesc* desc, size_t width,
                                        size_t height, unsigned int flags) {
  trace_api("cudaMallocArray %zux%zu flags=0x%x", width, height, flags);
  return malloc_array(array, desc, cudaExtent{width, height, 0}, flags);
}

VGPU_EXPORT cudaError_t cudaMalloc3DArray(cudaArray_t* array, const cudaChannelFormatDesc* desc, cudaExtent extent,
                                          unsigned int flags) {
  trace_api("cudaMalloc3DArray %zux%zux%zu flags=0x%x", extent.width, extent.height, extent.depth, flags);
  return malloc_array(array, desc, extent, flags);
}

VGPU_EXPORT cudaError_t cudaMallocMipmappedArray(cudaMipmappedArray_t* mipmap, const cudaChannelFormatDesc* desc,
                                                 cudaExtent extent, unsigned int levels, unsigned int flags) {
  trace_api("cudaMallocMipmappedArray %zux%zux%zu levels=%u flags=0x%x", extent.width, extent.height, extent.depth,
            levels, flags);
  return context_call([&](Runtime&) {
    if (mipmap == nullptr) return cudaErrorInvalidValue;
    CUDA_ARRAY3D_DESCRIPTOR d;
    if (cudaError_t e = descriptor_of(desc, extent, flags, &d); e != cudaSuccess) return e;
    CUmipmappedArray made = nullptr;
    const CUresult r = cuMipmappedArrayCreate(&made, &d, levels);
    if (r == CUDA_SUCCESS) *mipmap = reinterpret_cast<cudaMipmappedArray_t>(made);
    return allocation_error(r);
  });
}

VGPU_EXPORT cudaError_t cudaGetMipmappedArrayLevel(cudaArray_t* level_array, cudaMipmappedArray_const_t mipmap,
                                                   unsigned int level) {
  trace_api("cudaGetMipmappedArrayLevel level=%u", level);
  return context_call([&](Runtime&) {
    if (level_array == nullptr) return cudaErrorInvalidValue;
    CUarray level_of = nullptr;
    const CUresult r = cuMipmappedArrayGetLevel(&level_of, driver(mipmap), level);
    if (r == CUDA_SUCCESS) *level_array = reinterpret_cast<cudaArray_t>(level_of);
    return to_cuda_error(r);
  });
}

// Freeing nothing is no error, as for cudaFree.
VGPU_EXPORT cudaError_t cudaFreeArray(cudaArray_t array) {
  trace_api("cudaFreeArray %p", static_cast<void*>(array));
  return context_call([&](Runtime&) { return array == nullptr ? cudaSuccess : to_cuda_error(cuArrayDestroy(driver(array))); });
}

VGPU_EXPORT cudaError_t cudaFreeMipmappedArray(cudaMipmappedArray_t mipmap) {
  trace_api("cudaFreeMipmappedArray %p", static_cast<void*>(mipmap));
  return context_call(
      [&](Runtime&) { return mipmap == nullptr ? cudaSuccess : to_cuda_error(cuMipmappedArrayDestroy(driver(mipmap))); });
}

VGPU_EXPORT cudaError_t cudaArrayGetInfo(cudaChannelFormatDesc* desc, cudaExtent* extent, unsigned int* flags,
                                         cudaArray_t array) {
  trace_api("cudaArrayGetInfo %p", static_cast<void*>(array));
  return local_call([&](Runtime&) {
    CUDA_ARRAY3D_DESCRIPTOR d{};
    if (CUresult r = cuArray3DGetDescriptor(&d, driver(array)); r != CUDA_SUCCESS) return to_cuda_error(r);
    if (desc != nullptr) *desc = channel_desc_of(d.Format, d.NumChannels);
    if (extent != nullptr) *extent = cudaExtent{d.Width, d.Height, d.Depth};
    if (flags != nullptr) *flags = d.Flags;
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaGetChannelDesc(cudaChannelFormatDesc* desc, cudaArray_const_t array) {
  trace_api("cudaGetChannelDesc %p", static_cast<const void*>(array));
  return local_call([&](Runtime&) {
    if (desc == nullptr) return cudaErrorInvalidValue;
    CUDA_ARRAY3D_DESCRIPTOR d{};
    if (CUresult r = cuArray3DGetDescriptor(&d, driver(array)); r != CUDA_SUCCESS) return to_cuda_error(r);
    *desc = channel_desc_of(d.Format, d.NumChannels);
    return cudaSuccess;
  });
}
