// __managed__ variables, mirrored in the guest (docs/design.md §24).
//
// The driver places a module's __managed__ variables in its own managed memory when vgpud loads
// the module, and kernels use them at that address. cuLibraryGetManaged tells the guest the
// address; the guest maps the pages holding the variable there, so the program's pointer (the
// static runtime stores it where host code reads the variable) serves the CPU as it serves
// kernels. Coherence follows managed_memory.h's scheme, with two differences:
//
//   - the unit is the page, not the 64 KiB chunk: a variable is as small as an int;
//   - only the variables' own bytes are copied. A page may hold several variables, of several
//     modules, and bytes of no variable the guest knows; those are never written to the GPU,
//     so a page shared with memory the guest has not mirrored cannot overwrite it.
//
//   page state  CPU protection   meaning
//   Device      none             the GPU may have written its variables; the CPU's copy is stale
//   HostClean   read             the CPU's copy equals the GPU's
//   HostDirty   read and write   the CPU wrote it; the GPU's copy is stale
//
// The fault handler, the coherence lock and the hand-over before GPU work are managed_memory's;
// it calls the functions marked "coherence held" below.
#pragma once
#include <cstdint>
#include <optional>

#include "guest/client/channel.h"
#include "guest/cuda/managed_memory.h"

namespace vgpu::cuda {

// Mirrors variable [address, address + size) of module `module` (any value naming the module,
// for forget_managed_variables_of) on `device`. A variable already mirrored is left as it is.
CUresult mirror_managed_variable(const void* module, uint64_t address, uint64_t size, uint32_t device);
// The module was unloaded: its variables are gone, and pages no variable needs are unmapped.
void forget_managed_variables_of(const void* module);
// The device's primary context was reset.
void forget_managed_variables(uint32_t device);

// The variable holding `address`, if it is one's.
std::optional<ManagedRange> find_managed_variable(uint64_t address);

// Coherence held (managed_memory.cpp):
// The CPU touched `address`: makes its page readable (downloading the variables on it, and on
// the Device pages after it, up to 2 MiB) or writable. False when no mirrored page holds it.
bool resolve_variable_fault(uint64_t address);
// True when some page is not Device (one atomic load; no lock needed).
bool variables_touched();
// Copies the variables' bytes on HostDirty pages to the GPU and makes every page Device.
CUresult hand_over_variables(guest::Channel& ch);

}  // namespace vgpu::cuda
