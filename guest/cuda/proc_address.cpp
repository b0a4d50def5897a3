#include "guest/cuda/proc_address.h"

#include <cudaTypedefs.h>

#include <algorithm>
#include <type_traits>

#include "guest/client/log.h"
#include "guest/cuda/api.h"

// This file defines both exported names, each with its own ABI. Public cuda.h makes
// cuGetProcAddress a macro for cuGetProcAddress_v2 (code built against CUDA 12+ calls the v2
// ABI); under __CUDA_API_VERSION_INTERNAL, as vgpu_cuda_core is built, it declares the v1
// name with CUDA 11.3's signature instead. Either way, here the v1 name is itself:
#undef cuGetProcAddress
VGPU_DRIVER_API CUresult CUDAAPI cuGetProcAddress(const char* symbol, void** pfn, int cudaVersion,
                                                  cuuint64_t flags);
#if defined(cuGetProcAddress_v2)
// Public cuda.h with CUDA_API_PER_THREAD_DEFAULT_STREAM renames the v2 name to an inline
// wrapper: the definition below would not be the export.
#error "cuGetProcAddress_v2 is a macro here: build proc_address.cpp as vgpu_cuda_core is built"
#endif

// The ABIs callers cast the returned pointers to (cudaTypedefs.h): the table hands out
// cuGetProcAddress for version 11030 and cuGetProcAddress_v2 from 12000.
static_assert(std::is_same_v<decltype(&cuGetProcAddress), PFN_cuGetProcAddress_v11030>);
static_assert(std::is_same_v<decltype(&cuGetProcAddress_v2), PFN_cuGetProcAddress_v12000>);

namespace vgpu::cuda {

ProcLookup lookup_proc(std::span<const ProcRow> rows, std::string_view symbol, int cuda_version,
                       uint64_t flags) noexcept {
  const auto first = std::lower_bound(rows.begin(), rows.end(), symbol,
                                      [](const ProcRow& row, std::string_view name) {
                                        return std::string_view(row.base) < name;
                                      });
  auto last = first;
  while (last != rows.end() && std::string_view(last->base) == symbol) ++last;
  if (first == last) return {nullptr, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND};

  // Per-thread rows only for a per-thread request, and only when the function has such a
  // variant at all: one without (cuInit) behaves the same on every stream.
  const bool per_thread =
      (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) != 0 &&
      std::any_of(first, last, [](const ProcRow& row) { return row.variant != kProcPlain; });
  const ProcRow* best = nullptr;
  for (auto row = first; row != last; ++row) {
    // Ascending versions: the last match is the newest ABI the caller knows.
    if ((row->variant != kProcPlain) == per_thread && row->version <= cuda_version) best = &*row;
  }
  if (best == nullptr) return {nullptr, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT};
  return {reinterpret_cast<void*>(best->symbol), CU_GET_PROC_ADDRESS_SUCCESS};
}

CUresult get_proc_address(std::span<const ProcRow> rows, const char* symbol, void** pfn,
                          int cuda_version, uint64_t flags,
                          CUdriverProcAddressQueryResult* symbol_status) noexcept {
  constexpr uint64_t kKnownFlags =
      CU_GET_PROC_ADDRESS_LEGACY_STREAM | CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM;
  if (symbol == nullptr || pfn == nullptr || (flags & ~kKnownFlags) != 0) {
    // A caller that ignores the result must not call through a stale pointer.
    if (pfn != nullptr) *pfn = nullptr;
    return CUDA_ERROR_INVALID_VALUE;
  }
  const ProcLookup found = lookup_proc(rows, symbol, cuda_version, flags);
  *pfn = found.fn;
  if (symbol_status != nullptr) *symbol_status = found.status;
  if (found.status != CU_GET_PROC_ADDRESS_SUCCESS && symbol[0] != '\0') {
    // Normal for a runtime newer or older than the table (and for GL/EGL names a compute
    // program never calls), so only at Debug. The start-up probe "" is not worth a line.
    guest::log(guest::LogLevel::Debug, "cuGetProcAddress: no %s for %s at CUDA %d (flags %llu)",
               found.status == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND ? "entry point" : "ABI",
               symbol, cuda_version, static_cast<unsigned long long>(flags));
  }
  return CUDA_SUCCESS;
}

}  // namespace vgpu::cuda

VGPU_DRIVER_API CUresult CUDAAPI cuGetProcAddress(const char* symbol, void** pfn, int cudaVersion,
                                                  cuuint64_t flags) {
  return vgpu::cuda::get_proc_address(vgpu::cuda::proc_rows(), symbol, pfn, cudaVersion, flags,
                                      nullptr);
}

VGPU_DRIVER_API CUresult CUDAAPI cuGetProcAddress_v2(const char* symbol, void** pfn,
                                                     int cudaVersion, cuuint64_t flags,
                                                     CUdriverProcAddressQueryResult* symbolStatus) {
  return vgpu::cuda::get_proc_address(vgpu::cuda::proc_rows(), symbol, pfn, cudaVersion, flags,
                                      symbolStatus);
}
