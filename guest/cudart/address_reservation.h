// Keeps device addresses out of the guest's own address space, as CUDA's unified addressing
// does natively. Device pointers come from vgpud's process (or another machine), so a guest
// host buffer could sit at the very address a cudaMalloc returns, and cudaMemcpyDefault or
// cudaPointerGetAttributes would then mistake one for the other. Each device range is
// therefore reserved here (PROT_NONE, no memory behind it): the guest can never map host
// memory there afterwards, and an allocation whose range the guest already uses is refused
// and retried.
#pragma once
#include <cstdint>

namespace vgpu::cudart {

// Reserves [start, start + size) rounded out to pages. False when any of it is already mapped
// in this process (or the range is not representable).
bool reserve_device_range(uint64_t start, uint64_t size);
// Gives a reservation back (after cudaFree, or when an allocation is dropped).
void release_device_range(uint64_t start, uint64_t size);

}  // namespace vgpu::cudart
