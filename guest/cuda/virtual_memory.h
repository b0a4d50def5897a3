// Virtual memory management as the driver shim remembers it: the properties of each physical
// allocation the process holds (cuMemGetAllocationPropertiesFromHandle is answered from them)
// and where allocations are mapped, so that a mapped address is device memory to the unified
// addressing answers (device_memory.h), as cuMemAlloc's ranges are. vgpud keeps the tables that
// are enforced (vgpud/executor/virtual_memory.h); a handle is vgpud's id of the allocation.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <optional>

#include "guest/cuda/address_map.h"

namespace vgpu::cuda {

// A physical allocation was made (references 1) or retained (one more).
void note_physical(CUmemGenericAllocationHandle handle, const CUmemAllocationProp& prop, uint64_t size);
void note_retained(CUmemGenericAllocationHandle handle);
// One reference fewer; the properties go with the last.
void note_released(CUmemGenericAllocationHandle handle);
// The properties of a handle the process holds.
std::optional<CUmemAllocationProp> physical_properties(CUmemGenericAllocationHandle handle);

// Mapped: [address, address + size) of the allocation `handle`.
void note_mapped(uint64_t address, uint64_t size, CUmemGenericAllocationHandle handle);
// Unmapped: every mapping inside [address, address + size).
void note_unmapped(uint64_t address, uint64_t size);
// The mapping holding `address`, if any.
std::optional<AddressRange> find_mapping(uint64_t address);

// A device's primary context was reset: vgpud released the allocations made on it and their
// mappings.
void forget_virtual_memory(uint32_t device);

}  // namespace vgpu::cuda
