// cudaDeviceProp and cudaDeviceGetAttribute answers from one DeviceGetInfo reply (name, uuid,
// total memory and the CUdevice_attribute table), so device queries after the first cost no
// round trip.
#pragma once
#include <driver_types.h>

#include "vgpu/protocol/messages.h"

namespace vgpu::cudart {

// The value the shim reports for a CUdevice_attribute (cudaDeviceAttr has the same numbers):
// the device's value, except for features vgpu does not provide to a guest (managed memory,
// host registration, memory pools, multi-device cooperative launches, IPC events), which read 0 so applications take their portable path. 0 when the device did
// not report the attribute.
int device_attribute(const proto::DeviceGetInfoReply& info, int attribute);

// True when `attribute` is inside the table the device filled.
bool has_device_attribute(const proto::DeviceGetInfoReply& info, int attribute);

// Fills every cudaDeviceProp field with a driver-API counterpart; the rest are zero.
void fill_device_prop(const proto::DeviceGetInfoReply& info, cudaDeviceProp* prop);

}  // namespace vgpu::cudart
