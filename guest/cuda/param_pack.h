// Kernel arguments on the wire. The launch site hands the runtime one pointer per parameter
// (void** args); vgpud reported each parameter's offset and size (cuFuncGetParamInfo), so the
// guest copies every argument to its offset in one buffer of param_buffer_size bytes, which
// cuLaunchKernel's CU_LAUNCH_PARAM_BUFFER_POINTER form takes as is. Structs and parameters
// over 4 KB need nothing special.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <span>

#include "vgpu/protocol/messages.h"

namespace vgpu::cuda {

// True when every parameter lies inside the buffer and the buffer fits the protocol.
bool param_layout_valid(std::span<const proto::KernelParamInfo> params, uint32_t buffer_size);

// Packs args into out[0, buffer_size); bytes no parameter covers are zero.
// CUDA_ERROR_INVALID_VALUE when args (or one of its entries) is missing or out is too small.
CUresult pack_params(std::span<const proto::KernelParamInfo> params, uint32_t buffer_size,
                        void* const* args, std::span<uint8_t> out);

// A launch's arguments as the driver takes them, packed into out[0, buffer_size): from `args`
// (kernelParams), else from the buffer `extra` names (CU_LAUNCH_PARAM_BUFFER_POINTER and _SIZE,
// ended by CU_LAUNCH_PARAM_END), else none, which only a kernel without parameters may have.
CUresult pack_arguments(std::span<const proto::KernelParamInfo> params, uint32_t buffer_size, void* const* args,
                        void* const* extra, std::span<uint8_t> out);

}  // namespace vgpu::cuda
