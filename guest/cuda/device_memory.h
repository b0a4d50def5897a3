// Device memory as the driver shim tracks it. A guest shares no address space with the GPU, so
// the shim remembers every device range it handed out (cuMemAlloc, module globals) to answer
// what the driver answers from unified addressing: which end of a cuMemcpy is device memory,
// cuMemGetAddressRange, cuPointerGetAttribute. Each allocation's range is also reserved in the
// process (address_reservation.h), so that host memory can never later appear at an address
// the program holds as a device pointer.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <optional>

#include "guest/cuda/context.h"
#include "guest/cuda/address_map.h"

namespace vgpu::cuda {

// A device range and how it came to be.
struct DeviceRange {
  cuda::AddressRange range;
  bool allocation = false;      // cuMemAlloc'd (true) or a module's global (false)
  Context* owner = nullptr;     // the context it was made in
  uint64_t buffer_id = 0;       // unique in the process, never reused (CU_POINTER_ATTRIBUTE_BUFFER_ID)
  bool managed = false;         // cuMemAllocManaged's (managed_memory.h)
};

// The range containing `address`, if it is device memory of this process.
std::optional<DeviceRange> find_device_range(CUdeviceptr address) noexcept;
inline bool is_device_pointer(CUdeviceptr p) noexcept { return find_device_range(p).has_value(); }

// A module global vgpud resolved (cuModuleGetGlobal, cuLibraryGetGlobal).
void note_global(CUdeviceptr start, uint64_t size, uint32_t device, Context* owner);
// Graph memory's address (graph_memory.h): an allocation of `owner`'s device to the process from
// now on (a later node at the same address replaces it); reserved in the process's address space.
void note_graph_memory(CUdeviceptr start, uint64_t size, uint32_t device, Context* owner);

// The device's primary context was reset: its allocations and globals are gone.
void forget_device_memory(uint32_t device);

// What cuMemAlloc and cuMemFree do once they have their context, for the memory pools
// (mem_pools.h), which make their blocks the same way, on the pool's device: `owner`'s device
// gets `size` bytes (vgpud charges them to the tenant); the allocation that starts at `ptr` is
// freed. Neither needs a current context; both need an initialized driver.
CUresult allocate_device_memory(Context* owner, size_t size, CUdeviceptr* out);
CUresult free_device_memory(CUdeviceptr ptr);

}  // namespace vgpu::cuda
