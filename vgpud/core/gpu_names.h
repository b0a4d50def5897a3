// How a configuration names a GPU ("0", or "GPU-<uuid>" as `nvidia-smi -L` prints it) and how
// the daemon's logs name one, both through the CudaDriver table: pure functions of what the
// driver reports, so tests can hand them a table of stand-ins.
#pragma once
#include <cuda.h>

#include <string>
#include <vector>

#include "vgpu/common/result.h"
#include "vgpud/executor/cuda_driver.h"

namespace vgpud {

// "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", as nvidia-smi -L prints a UUID.
std::string format_uuid(const CUuuid& uuid);

// Maps "0" or "GPU-<uuid>" to a device ordinal; the error says which GPU is missing.
vgpu::Result<int, std::string> resolve_gpu(const CudaDriver& driver, const std::string& gpu);

// "GPU 2 (GPU-...), GPU 0 (GPU-...)": which physical GPUs a tenant got, in its guests' order.
// A GPU whose UUID the driver does not give is named by its ordinal alone.
std::string describe_gpus(const CudaDriver& driver, const std::vector<int>& ordinals);

}  // namespace vgpud
