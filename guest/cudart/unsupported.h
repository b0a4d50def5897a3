// What the generated stubs (unsupported_calls.txt -> unsupported_stubs.cpp) call. The stub
// file cannot include the CUDA headers (its stubs do not have CUDA's prototypes), so this
// header does not either: cudaErrorNotSupported travels as an int.
#pragma once
#include <atomic>

namespace vgpu::cudart {

// Says "<name> is not supported by vgpu" once, at Warn; records and returns
// cudaErrorNotSupported.
int unsupported_call(const char* name, std::atomic<bool>* said) noexcept;
// For the few non-cudaError_t entry points: only says it, once (at Debug when `quiet`).
void unsupported_note(const char* name, std::atomic<bool>* said, bool quiet) noexcept;

}  // namespace vgpu::cudart
