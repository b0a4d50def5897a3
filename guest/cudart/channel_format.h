// The runtime's channel descriptors (cudaChannelFormatDesc) and the driver's array formats
// (CUarray_format and a channel count), both ways, and an array's element size as the driver
// describes it: what cudaMallocArray, the array copies and the texture objects share.
#pragma once
#include <cuda.h>
#include <driver_types.h>

#include <cstddef>

namespace vgpu::cudart {

// The driver's format of a channel descriptor: cudaSuccess, cudaErrorInvalidChannelDescriptor
// (channels of unequal sizes, a gap, three channels, a size its kind has not), or
// cudaErrorNotSupported for the kinds vgpu does not offer (normalized, compressed, video).
cudaError_t format_of(const cudaChannelFormatDesc& desc, CUarray_format* format, unsigned* channels);

// The channel descriptor of a driver format; kind cudaChannelFormatKindNone for one not known.
cudaChannelFormatDesc channel_desc_of(CUarray_format format, unsigned channels);

// Bytes of one element of `array` (0 when the driver does not describe it).
size_t element_size(cudaArray_const_t array);

}  // namespace vgpu::cudart
