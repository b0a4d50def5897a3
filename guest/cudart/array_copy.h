// cudaMemcpy3D and its forms when an array is at one end or both (guest/cudart/array_copies.cpp):
// positions and the width are then in elements on the array's side, as the runtime documents.
#pragma once
#include <driver_types.h>

namespace vgpu::cudart {

// Runs in the thread's context (entry.h's context_call). `per_thread_default`: a _ptds/_ptsz
// entry point; `async`: return before the copy is done where the memory allows.
cudaError_t copy_3d_with_array(const cudaMemcpy3DParms& p, cudaStream_t stream, bool per_thread_default, bool async);

}  // namespace vgpu::cudart
