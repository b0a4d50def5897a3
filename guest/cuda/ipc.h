// Sharing between the processes of one tenant (docs/design.md §25), as the driver shim keeps it:
// what a CUipcMemHandle, a CUipcEventHandle and a shareable handle's file descriptor hold (a
// token vgpud made, never the driver's handle), and the memory this process opened from
// another, which is device memory to the unified addressing answers (device_memory.h) as its
// own allocations are.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <optional>

#include "guest/cuda/address_map.h"
#include "guest/cuda/context.h"

namespace vgpu::cuda {

// What the 64 bytes of a CUipcMemHandle / CUipcEventHandle carry, and what the file behind an
// exported shareable handle holds.
struct IpcHandleBytes {
  char magic[8];
  uint64_t token_lo;
  uint64_t token_hi;
  uint32_t device;  // shareable handles: the allocation's device (for a reader's information)
  uint32_t reserved;
};
static_assert(sizeof(IpcHandleBytes) <= sizeof(CUipcMemHandle) && sizeof(IpcHandleBytes) <= sizeof(CUipcEventHandle));
inline constexpr char kIpcMemMagic[8] = {'V', 'G', 'P', 'U', 'I', 'P', 'C', 'M'};
inline constexpr char kIpcEventMagic[8] = {'V', 'G', 'P', 'U', 'I', 'P', 'C', 'E'};
inline constexpr char kShareableMagic[8] = {'V', 'G', 'P', 'U', 'S', 'H', 'R', 'H'};

// Memory another process shared that this one opened (cuIpcOpenMemHandle), if `address` is in it.
struct IpcRange {
  AddressRange range;
  Context* owner = nullptr;  // the context it was opened in
  uint64_t buffer_id = 0;
};
std::optional<IpcRange> find_ipc_range(uint64_t address) noexcept;

// The device's primary context was reset: vgpud closed what was opened there.
void forget_ipc_memory(uint32_t device);

}  // namespace vgpu::cuda
