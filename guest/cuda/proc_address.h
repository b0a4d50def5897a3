// cuGetProcAddress and cuGetProcAddress_v2: how NVIDIA's runtime (and CUDA's libraries, and
// programs using cudaGetDriverEntryPoint) find every other driver entry point. cudart resolves
// its whole table through them at start-up (~440 lookups), keeps calling the pointer it got
// for ("cuGetProcAddress", 12000), and falls back to dlsym of exact names only if the probe
// answers CUDA_ERROR_STUB_LIBRARY, which this library therefore never answers.
//
// A request names the base name ("cuMemAlloc"), the CUDA version the caller was built for
// (selects the ABI: 2000 -> cuMemAlloc, 3020 and later -> cuMemAlloc_v2) and flags:
//   0, CU_GET_PROC_ADDRESS_LEGACY_STREAM (1)
//       the plain function: the row with the largest version <= the requested one. (cuda.h's
//       inline wrapper already turned 0 into 2 for code built for per-thread streams, so at
//       the driver 0 means legacy.)
//   CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM (2)
//       the _ptds/_ptsz function the same way; a base without any per-thread variant
//       (cuInit) answers with its plain function. A base that has one but not at that version
//       (cuMemcpyHtoD at 3020; _ptds starts at 7000) answers "version not sufficient", as the
//       real driver does (ZLUDA's record of its answers), rather than the legacy-stream
//       function the caller did not ask for. Both bits set (3) counts as per-thread.
// Answers, following cuda.h's documentation of cuGetProcAddress (the real driver answered
// the start-up probe "" this way; its code for "version not sufficient" is unverified):
//   found                        CUDA_SUCCESS, *pfn = the function, CU_GET_PROC_ADDRESS_SUCCESS
//   unknown name (also "")       CUDA_SUCCESS, *pfn = NULL, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND
//   no row at or below version   CUDA_SUCCESS, *pfn = NULL, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT
//   symbol or pfn NULL, or a flag bit beyond 1|2
//                                CUDA_ERROR_INVALID_VALUE, *pfn = NULL (when pfn is not NULL),
//                                status unset (the flag check is a guess: cuda.h names no
//                                other flags, and a new one might change the answer)
// symbolStatus is optional. The documented "cudaVersion above the driver's version ->
// CUDA_ERROR_INVALID_VALUE" is not applied: it is unverified, and the driver version vgpu
// reports comes from vgpud, which cudart has not reached yet when it resolves its table.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "guest/cuda/proc_table.h"

namespace vgpu::cuda {

struct ProcLookup {
  void* fn = nullptr;  // null unless status is CU_GET_PROC_ADDRESS_SUCCESS
  CUdriverProcAddressQueryResult status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
};

// The pure lookup over `rows` (sorted: proc_rows_sorted). Flags: only bit 1 (per-thread)
// matters here; the entry points reject unknown bits before calling it.
ProcLookup lookup_proc(std::span<const ProcRow> rows, std::string_view symbol, int cuda_version,
                       uint64_t flags) noexcept;

// Both entry points, over `rows`: argument checks, lookup, and the outputs described above.
// cuGetProcAddress (v1) is this with symbolStatus = NULL.
CUresult get_proc_address(std::span<const ProcRow> rows, const char* symbol, void** pfn,
                          int cuda_version, uint64_t flags,
                          CUdriverProcAddressQueryResult* symbol_status) noexcept;

}  // namespace vgpu::cuda
