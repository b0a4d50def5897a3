// cuGetExportTable's private tables: what NVIDIA's runtime (cudart 12/13, static or shared, and
// the copies inside CUDA's libraries) asks the driver for before its first call can succeed.
// Each table is an array of pointer-sized slots, identified by a UUID; most start with their
// own size in bytes, the rest are C functions the runtime calls. The facts (UUIDs, sizes,
// what each used slot means) are in the issue 13 research notes, section 4.
//
// vgpu serves the six tables the runtime needs, with the real driver's sizes:
//   CUDART_INTERFACE (13 slots)  [2] a device's primary context handle; [7], [12] succeed;
//                                [1], [6], [8] (module loading from a fatbin) not supported yet
//   TOOLS_RUNTIME_CALLBACK_HOOKS (7)  [2], [6] hand out zeroed buffers the runtime fills
//   TOOLS_TLS (3)                [1], [2] succeed (cuBLAS calls [2])
//   CONTEXT_LOCAL_STORAGE (3 functions and a null, no size)  put / delete / get on
//                                Context::storage (context_local_storage.h)
//   CONTEXT_CHECKS (15)          [2], [3] answer "no problem"
//   INTEGRITY_CHECK (3)          [1] the runtime's check that this is NVIDIA's driver (integrity.h)
//   TOOLS_CONTEXT (93), TOOLS_MODULE (99)  what CUDA's libraries ask for (tools_tables.h)
// Every other slot answers CUDA_ERROR_NOT_SUPPORTED and says once which one was called. Other
// UUIDs (the ones CUDA's libraries ask for among them) are refused.
#pragma once
#include <cuda.h>

#include <cstdint>

#include "guest/client/log.h"

namespace vgpu::cuda {

// The table `id` names, valid for the life of the process (the same pointer on every call);
// CUDA_ERROR_INVALID_VALUE with *table = null for a table vgpu does not serve (said once per
// UUID) or a null argument.
CUresult get_export_table(const void** table, const CUuuid* id) noexcept;

// How a refused UUID is said: at Warn the first time, unless it is one the runtime and the
// libraries are known to do without (then, and on every repeat, at Debug).
guest::LogLevel refusal_log_level(const uint8_t* uuid, bool first_time);


}  // namespace vgpu::cuda
