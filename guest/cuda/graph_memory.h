// Graph memory in the guest (graph_memory_api.cpp, docs/design.md §19): allocation nodes added
// by hand or captured from cuMemAllocAsync, whose addresses the driver fixes for the node's life.
// The process remembers each address as device memory (cuMemcpy's direction, pointer queries)
// and frees it through vgpud when the program frees it outside a graph.
#pragma once
#include <cuda.h>

#include <cstdint>

#include "guest/cuda/context.h"

namespace vgpu::cuda {

// Whether `ptr` starts graph memory of this process.
bool is_graph_memory(CUdeviceptr ptr) noexcept;
// cuMemFree (`stream` null) or cuMemFreeAsync of graph memory; *handled false when `ptr` is none.
CUresult free_graph_memory(CUdeviceptr ptr, const CUstream* stream, bool* handled);
// cuMemAllocAsync on vgpud's stream `stream` of `device`, which captures: an allocation node of
// the capture's graph (the driver's), its address in *out.
CUresult capture_graph_memory(Context* c, uint32_t device, uint64_t stream, size_t size, CUdeviceptr* out);

}  // namespace vgpu::cuda
