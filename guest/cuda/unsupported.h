// What the generated stubs (exports.txt -> stubs.cpp) call. The stub file cannot include
// cuda.h (its stubs do not have the driver's prototypes), so this header does not either:
// CUDA_ERROR_NOT_SUPPORTED travels as an int.
#pragma once
#include <atomic>

namespace vgpu::cuda {

// CUDA_ERROR_NOT_SUPPORTED, checked against cuda.h in unsupported.cpp.
inline constexpr int kNotSupported = 801;

// Says "<name> is not supported by vgpu" once per entry point (`said` is the stub's own flag),
// at Warn, and returns CUDA_ERROR_NOT_SUPPORTED. Never CUDA_ERROR_STUB_LIBRARY: that code
// would tell NVIDIA's runtime it loaded a stub driver.
int unsupported_call(const char* name, std::atomic<bool>* said) noexcept;

}  // namespace vgpu::cuda
