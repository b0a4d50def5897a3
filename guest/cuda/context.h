// Contexts as a guest program sees them. A CUcontext handed to the program points at one of
// these; vgpud keeps the real context (one per device and channel, made on first use), so a
// guest context is the device it names plus what the driver API promises per context: the
// primary context's retain count and flags, and the runtime's context-local storage.
//
// Primary contexts exist for the life of the process, one per device, and are never freed:
// NVIDIA's runtime holds the handle (from its export table, before retaining it) and may use
// it after the last release. Created contexts (cuCtxCreate) live until cuCtxDestroy.
#pragma once
#include <cuda.h>

#include <atomic>
#include <cstdint>

#include "guest/cuda/context_local_storage.h"

namespace vgpu::cuda {

inline constexpr uint32_t kContextMagic = 0x43545856;  // "VXTC": a handle that is ours

struct Context {
  uint32_t magic = kContextMagic;
  uint32_t device = 0;  // guest device index
  bool primary = false;
  uint64_t id = 0;      // cuCtxGetId's: unique in the process, never reused
  std::atomic<int> retains{0};      // primary: cuDevicePrimaryCtxRetain minus Release
  std::atomic<unsigned> flags{0};   // CU_CTX_* (scheduling, map host, ...)
  // The error that ended the context (a kernel fault): every later call in it returns it, as
  // the driver's do, until it is destroyed or, a primary one, reset. 0 while usable.
  std::atomic<int> sticky{0};
  std::atomic<int> cache_config{CU_FUNC_CACHE_PREFER_NONE};  // cuCtxSetCacheConfig's: a hint, kept
  ContextLocalStorage storage;      // the runtime's per-context slots (export_tables.h)
};

// A fault ends every context on its device, as on the driver (and vgpud has one real context
// per device and process): the device's sticky error, 0 while none. Reset by resetting the
// device's primary context.
int device_sticky(uint32_t device) noexcept;
void set_device_sticky(uint32_t device, int error) noexcept;
void clear_device_sticky(uint32_t device) noexcept;

// Resetting a device's primary context ends vgpud's context of the device, and with it every
// module, function and stream made there. Objects that outlive it (a library's per-device
// module, a kernel's per-device function, a thread's per-thread stream) remember the
// generation they were made in and are made again when it is no longer current. Never 0.
uint64_t device_generation(uint32_t device) noexcept;
void next_device_generation(uint32_t device) noexcept;

// The device's primary context; null for a device the process does not have. Does not
// retain it, and does not reach vgpud beyond the device count.
Context* primary_context(uint32_t device) noexcept;
// The calling thread's current context (top of its stack); null when none.
Context* current_context() noexcept;
// The context a handle names: null for null; null for a pointer that is not one of ours.
Context* context_from_handle(CUcontext handle) noexcept;
inline CUcontext handle_of(Context* c) noexcept { return reinterpret_cast<CUcontext>(c); }

// cuCtxCreate's context on `device` (checked by the caller); cuCtxDestroy's end of it: runs its
// storage's destructors and frees it; false for a primary context or one that is not ours.
Context* create_context(uint32_t device, unsigned flags);
bool destroy_context(Context* context);

// The calling thread's context stack: cuCtxSetCurrent replaces the top (null pops it, as the
// driver does), cuCtxPushCurrent / cuCtxPopCurrent push and pop.
void set_current_context(Context* context) noexcept;
[[nodiscard]] bool push_context(Context* context) noexcept;
Context* pop_context() noexcept;

}  // namespace vgpu::cuda
