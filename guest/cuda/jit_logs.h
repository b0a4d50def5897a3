// The log buffers a program hands the JIT and the linker through CUjit_option arrays
// (cuModuleLoadDataEx, cuLinkCreate, cuLibraryLoadData): the host's driver writes its logs into
// vgpud's buffers, and the guest copies what it brings back into the program's, with the
// sizes written back as the driver writes them (the option values are in-out).
#pragma once
#include <cuda.h>

#include <string_view>

namespace vgpu::cuda {

// Whether the program asked for an error log (a buffer with room).
bool wants_error_log(unsigned count, const CUjit_option* options, void* const* values) noexcept;

// Writes `info` and `error` (truncated to fit, always NUL-terminated) into the program's
// buffers, the bytes written (with the NUL) into the size options, and 0 ms into
// CU_JIT_WALL_TIME. Buffers the program did not pass are skipped.
void answer_jit_options(unsigned count, const CUjit_option* options, void** values, std::string_view info,
                        std::string_view error) noexcept;

}  // namespace vgpu::cuda
