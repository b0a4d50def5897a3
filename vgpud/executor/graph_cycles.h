// Whether a graph has a cycle, asked of the driver's own view of its nodes and edges. The
// driver lets an edge close a cycle (cuGraphAddDependencies succeeds) and then crashes the
// process that instantiates the graph (driver 580: a segmentation fault in
// cuGraphInstantiate), so vgpud asks before instantiating a graph a guest added edges to.
#pragma once
#include <cuda.h>

#include "vgpud/executor/cuda_driver.h"

namespace vgpud {

// CUDA_ERROR_INVALID_VALUE (CUDA_GRAPH_INSTANTIATE_INVALID_STRUCTURE's error) when the graph has
// a cycle, the driver's error from listing it, else CUDA_SUCCESS.
[[nodiscard]] CUresult refuse_cycle(const CudaDriver& cu, CUgraph graph);

}  // namespace vgpud
