// Which way a copy goes. The driver knows what each pointer is (device memory it handed out or
// resolved for a module's variable, page-locked host memory, or neither), as it does under
// unified addressing; the runtime turns that and the copy's cudaMemcpyKind into a direction.
#pragma once
#include <driver_types.h>

#include <optional>

namespace vgpu::cudart {

enum class PtrKind {
  Device,    // GPU memory
  Pinned,    // page-locked host memory the driver handed out
  Pageable,  // ordinary host memory
};

// What the driver says `p` is (cuPointerGetAttribute's memory type).
PtrKind pointer_kind(const void* p) noexcept;

enum class Direction { HostToHost, HostToDevice, DeviceToHost, DeviceToDevice };

// The direction of a copy. cudaMemcpyDefault infers it from the two pointers' kinds; an
// explicit kind is trusted, as CUDA trusts it. nullopt for a kind outside cudaMemcpyKind.
std::optional<Direction> copy_direction(cudaMemcpyKind kind, PtrKind dst, PtrKind src);

}  // namespace vgpu::cudart
