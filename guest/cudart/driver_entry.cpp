// cudaGetDriverEntryPoint[ByVersion]: the runtime's door to driver functions it does not wrap,
// through the driver's cuGetProcAddress (vgpu's, in a guest). The two enums match the driver's.
#include <cuda.h>

#include "guest/client/log.h"
#include "guest/cudart/entry.h"

namespace vgpu::cudart {
namespace {

static_assert(static_cast<int>(cudaDriverEntryPointSymbolNotFound) == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND &&
              static_cast<int>(cudaDriverEntryPointVersionNotSufficent) == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
static_assert(static_cast<int>(cudaEnableLegacyStream) == CU_GET_PROC_ADDRESS_LEGACY_STREAM &&
              static_cast<int>(cudaEnablePerThreadDefaultStream) == CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM);

// cudaEnableDefault means the default stream the program was built for: the _ptsz entry
// point is what a program built with --default-stream per-thread calls.
cudaError_t entry_point(const char* symbol, void** fn, int cuda_version, unsigned long long flags,
                        cudaDriverEntryPointQueryResult* status, bool per_thread_default) {
  return local_call([&](Runtime&) {
    if (symbol == nullptr || fn == nullptr) return cudaErrorInvalidValue;
    if (flags == cudaEnableDefault && per_thread_default) flags = CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM;
    return to_cuda_error(cuGetProcAddress(symbol, fn, cuda_version, flags,
                                          reinterpret_cast<CUdriverProcAddressQueryResult*>(status)));
  });
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT cudaError_t cudaGetDriverEntryPoint(const char* symbol, void** funcPtr, unsigned long long flags,
                                                cudaDriverEntryPointQueryResult* driverStatus) {
  trace_api("cudaGetDriverEntryPoint %s", symbol != nullptr ? symbol : "(null)");
  return entry_point(symbol, funcPtr, kRuntimeVersion, flags, driverStatus, false);
}

VGPU_EXPORT cudaError_t cudaGetDriverEntryPoint_ptsz(const char* symbol, void** funcPtr, unsigned long long flags,
                                                     cudaDriverEntryPointQueryResult* driverStatus) {
  trace_api("cudaGetDriverEntryPoint_ptsz %s", symbol != nullptr ? symbol : "(null)");
  return entry_point(symbol, funcPtr, kRuntimeVersion, flags, driverStatus, true);
}

VGPU_EXPORT cudaError_t cudaGetDriverEntryPointByVersion(const char* symbol, void** funcPtr, unsigned int cudaVersion,
                                                         unsigned long long flags,
                                                         cudaDriverEntryPointQueryResult* driverStatus) {
  trace_api("cudaGetDriverEntryPointByVersion %s %u", symbol != nullptr ? symbol : "(null)", cudaVersion);
  return entry_point(symbol, funcPtr, static_cast<int>(cudaVersion), flags, driverStatus, false);
}

VGPU_EXPORT cudaError_t cudaGetDriverEntryPointByVersion_ptsz(const char* symbol, void** funcPtr,
                                                              unsigned int cudaVersion, unsigned long long flags,
                                                              cudaDriverEntryPointQueryResult* driverStatus) {
  trace_api("cudaGetDriverEntryPointByVersion_ptsz %s %u", symbol != nullptr ? symbol : "(null)", cudaVersion);
  return entry_point(symbol, funcPtr, static_cast<int>(cudaVersion), flags, driverStatus, true);
}
