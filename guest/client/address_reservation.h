// Keeps device addresses out of the guest's own address space, as CUDA's unified addressing
// does natively. Device pointers come from vgpud's process (or another machine), so a guest
// host buffer could sit at the very address a cudaMalloc returns, and cudaMemcpyDefault or
// cuPointerGetAttribute would then mistake one for the other. Each device range is therefore
// reserved here (PROT_NONE, no memory behind it): the guest can never map host memory there
// afterwards, and an allocation whose range the guest already uses is refused and retried.
//
// Reservations outlive the allocations: freed device addresses are handed out again by the
// driver, usually for the very next allocation of that size, and a range already reserved costs
// no system call. (A PROT_NONE, MAP_NORESERVE mapping takes no memory, adjacent ones merge into
// one mapping, and the union stays within the device address space the tenant ever used.) One
// table per process, in the client library both shims share.
#pragma once
#include <cstdint>

#include "guest/client/export.h"

namespace vgpu::guest {

// Reserves [start, start + size) rounded out to pages; the pages an earlier device range
// reserved count as reserved. False when any other page of it is mapped in this process (or the
// range is not representable).
VGPU_CLIENT_API bool reserve_device_range(uint64_t start, uint64_t size);

}  // namespace vgpu::guest
