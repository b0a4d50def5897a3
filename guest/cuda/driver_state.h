// What the driver shim knows about the process as a whole: whether cuInit ran, the channel to
// vgpud (the process's one, shared with the runtime shim through libvgpu-client.so.1), and the
// devices, fetched once (device_snapshot.h) so that a runtime's start-up, hundreds of attribute
// queries, costs no round trip.
#pragma once
#include <cuda.h>

#include <cstdint>

#include "guest/client/channel.h"
#include "guest/cuda/device_snapshot.h"

namespace vgpu::cuda {

// CUDA_SUCCESS once cuInit(0) succeeded in this process; CUDA_ERROR_NOT_INITIALIZED before;
// the reason cuInit failed after a failed one.
CUresult init_status() noexcept;
// cuInit: opens the channel and takes the device snapshot, once.
CUresult initialize() noexcept;
// The channel; null before a successful initialize().
guest::Channel* channel() noexcept;

// The driver version this shim reports (cuDriverGetVersion): vgpud's driver's, never below
// the CUDA version the shim was built against (a runtime refuses an older driver).
int reported_driver_version() noexcept;
// The devices the tenant was given; 0 before initialize().
uint32_t device_count() noexcept;
// Device `index`'s snapshot; null when out of range or before initialize().
const DeviceSnapshot* device(uint32_t index) noexcept;

}  // namespace vgpu::cuda
