// Two more of cuGetExportTable's private tables, the ones CUDA's libraries ask for (cuBLAS,
// cuBLASLt, cuFFT, cuSOLVER; the frameworks too). NVIDIA names them ToolsContext and
// ToolsModule; what is known of their slots is in the research notes on export tables.
//
//   TOOLS_CONTEXT 21318c60-9714-3248-8ca6-41ff7324c8f2 (93 slots on driver 580)
//     [3]  (CUcontext, CUdevice* out): the context's device
//     [4]  (CUcontext, uint64_t* out): the context's id (cuCtxGetId's)
//     [39] (CUcontext, tools stream, uint64_t* out): the stream's id (cuStreamGetId's)
//     [51] (CUcontext, CUstream, tools stream* out, uint8_t per_thread): the driver's own handle
//          for a public stream; the all-ones stream is refused with CUDA_ERROR_INVALID_HANDLE
//   TOOLS_MODULE 6e163fbe-b958-444d-835c-e182aff1991e (99 slots)
//     [7]  (CUcontext, CUmodule, visit(user, CUfunction, owner), user): calls visit for each
//          kernel in the module and returns how many it visited (not a CUresult); cuFFT finds
//          its kernels this way
//     [33] (CUfunction, size_t* count): how many parameters a kernel takes
// Every other slot is unimplemented (export_slots.h): it answers CUDA_ERROR_NOT_SUPPORTED and
// says once, with its arguments, that it was called.
#pragma once
#include <cuda.h>

#include <cstdint>

namespace vgpu::cuda {

// [7]'s work (enumerate_api.cpp): each kernel of the module through visit(user, function, module).
uint64_t walk_module_functions(CUmodule module, void (*visit)(void*, CUfunction, void*), void* user) noexcept;

const void* const* tools_context_table();
const void* const* tools_module_table();

}  // namespace vgpu::cuda
