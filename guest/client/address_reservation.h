// Keeps device addresses out of the guest's own address space, as CUDA's unified addressing
// does natively. Device pointers come from vgpud's process (or another machine), so a guest
// host buffer could sit at the very address a cudaMalloc returns, and cudaMemcpyDefault or
// cuPointerGetAttribute would then mistake one for the other. Each device range is therefore
// reserved here (PROT_NONE, no memory behind it): the guest can never map host memory there
// afterwards, and an allocation whose range the guest already uses is refused and retried.
//
// The driver packs small allocations several to a page, so a page may hold more than one
// device range: the pages at either end of a range are counted, and only unmapped when the
// last range on them is released. One table per process, in the client library both shims
// share, so that their ranges count on the same pages.
#pragma once
#include <cstdint>

#include "guest/client/export.h"

namespace vgpu::guest {

// Reserves [start, start + size) rounded out to pages. False when any of it is mapped in this
// process by anything but another device range's end page (or the range is not representable).
VGPU_CLIENT_API bool reserve_device_range(uint64_t start, uint64_t size);
// Gives a reservation back (after a free, or when an allocation is dropped).
VGPU_CLIENT_API void release_device_range(uint64_t start, uint64_t size);

}  // namespace vgpu::guest
