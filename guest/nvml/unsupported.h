// What the generated stubs (exports.txt -> stubs.cpp) call: the stub file has none of NVML's
// prototypes, so NVML_ERROR_NOT_SUPPORTED travels as an int.
#pragma once
#include <atomic>

namespace vgpu::nvml {

// NVML_ERROR_NOT_SUPPORTED, checked against nvml_abi.h in unsupported.cpp.
inline constexpr int kNotSupported = 3;

// Says "<name> is not supported by vgpu" once per entry point, at Debug: monitoring tools ask
// NVML for everything it might know and take NOT_SUPPORTED as "N/A", so a warning per name
// would be noise. Returns NVML_ERROR_NOT_SUPPORTED.
int unsupported_call(const char* name, std::atomic<bool>* said) noexcept;

}  // namespace vgpu::nvml
