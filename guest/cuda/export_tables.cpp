#include "guest/cuda/export_tables.h"

#include <atomic>
#include <cstddef>
#include <cstring>
#include <mutex>

#include "guest/client/log.h"
#include "guest/cuda/api.h"
#include "guest/cuda/context.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/export_slots.h"
#include "guest/cuda/integrity.h"
#include "guest/cuda/tools_tables.h"

namespace vgpu::cuda {
namespace {

// The tables' names, for the log.
constexpr char kCudartInterface[] = "CUDART_INTERFACE";
constexpr char kToolsHooks[] = "TOOLS_RUNTIME_CALLBACK_HOOKS";
constexpr char kToolsTls[] = "TOOLS_TLS";
constexpr char kContextChecks[] = "CONTEXT_CHECKS";
constexpr char kIntegrity[] = "INTEGRITY_CHECK";
constexpr char kCublasLtSetup[] = "1734dc26 (cuBLASLt's)";

// ---- CUDART_INTERFACE

// [2] (CUcontext* out, CUdevice device, int): the device's primary context, neither retained
// nor made current. It must be the handle cuDevicePrimaryCtxRetain returns later, and the
// runtime may make it current before retaining it (context.h keeps one per device for good).
// The third argument (the runtime passes -1) is not used.
CUresult cudart_primary_context(CUcontext* out, CUdevice device, int /*unknown*/) noexcept {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = init_status(); r != CUDA_SUCCESS) return r;
  Context* c = device < 0 ? nullptr : primary_context(static_cast<uint32_t>(device));
  if (c == nullptr) return CUDA_ERROR_INVALID_DEVICE;
  *out = handle_of(c);
  return CUDA_SUCCESS;
}

// [7] (size_t): nothing to do.
CUresult cudart_slot7(size_t) noexcept { return CUDA_SUCCESS; }

// [12]: "load the compilers" (PTX compiler, NVVM), called by runtimes from 13.1 on. The
// compilers run next to vgpud's driver, so there is nothing to load here.
CUresult cudart_load_compilers() noexcept { return CUDA_SUCCESS; }

// [1], [6] and [8] load a module from a fatbin (wrapper) the old way; cudart 13.0 uses the
// library API instead (cuLibraryLoadData), so they stay unimplemented for now.
const void* const* cudart_interface_table() {
  static const auto table = [] {
    auto t = unimplemented_table<kCudartInterface, 13>();
    t[2] = slot(cudart_primary_context);
    t[7] = slot(cudart_slot7);
    t[12] = slot(cudart_load_compilers);
    return t;
  }();
  return table.data();
}

// ---- TOOLS_RUNTIME_CALLBACK_HOOKS

// [2] and [6] hand out driver-owned buffers that the runtime (and tools) fill in. Their sizes
// are those known to work with cudart 13: counted in 32-bit words, with the buffers as large
// in words, so they are big enough whether the runtime reads the size as bytes or as words.
constexpr std::size_t kHooksBufferA = 1024;
constexpr std::size_t kHooksBufferB = 14;
uint32_t g_hooks_buffer_a[kHooksBufferA];
uint32_t g_hooks_buffer_b[kHooksBufferB];

CUresult hand_out(void* buffer, std::size_t size, void** out, std::size_t* size_out) {
  if (out == nullptr || size_out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *out = buffer;
  *size_out = size;
  return CUDA_SUCCESS;
}

// (void** buffer, size_t* size, ...): what follows is unknown and not needed.
CUresult tools_hooks_buffer_a(void** out, std::size_t* size) noexcept {
  return hand_out(g_hooks_buffer_a, kHooksBufferA, out, size);
}
// (void** buffer, size_t* size, 0x400, ...)
CUresult tools_hooks_buffer_b(void** out, std::size_t* size) noexcept {
  return hand_out(g_hooks_buffer_b, kHooksBufferB, out, size);
}

const void* const* tools_hooks_table() {
  static const auto table = [] {
    auto t = unimplemented_table<kToolsHooks, 7>();
    t[2] = slot(tools_hooks_buffer_a);
    t[6] = slot(tools_hooks_buffer_b);
    return t;
  }();
  return table.data();
}

// ---- TOOLS_TLS

// [1] succeeds and does nothing: no tool is attached to report to.
CUresult tools_tls_nothing() noexcept { return CUDA_SUCCESS; }

// [2] (CUcontext* out, uint32_t callback id, ...): the calling thread's current context, null
// when it has none (what NVIDIA's driver writes, probed on driver 580). The runtime calls it on
// entry to an API call it reports to tools (cuBLAS's launches, callback id 0x37) and uses the
// context it is given: left unwritten, *out is whatever was on the runtime's stack, and the
// launch is skipped and the GEMM answers CUBLAS_STATUS_NOT_SUPPORTED, or not, by chance.
CUresult tools_tls_current_context(CUcontext* out) noexcept {
  if (out != nullptr) *out = handle_of(current_context());
  return CUDA_SUCCESS;
}

const void* const* tools_tls_table() {
  static const auto table = [] {
    auto t = unimplemented_table<kToolsTls, 3>();
    t[1] = slot(tools_tls_nothing);
    t[2] = slot(tools_tls_current_context);
    return t;
  }();
  return table.data();
}

// ---- CONTEXT_LOCAL_STORAGE: the runtime's per-context state, kept on the guest.

// A null handle means the calling thread's current context.
CUresult storage_of(CUcontext handle, ContextLocalStorage** out) {
  Context* c = handle == nullptr ? current_context() : context_from_handle(handle);
  if (c == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  *out = &c->storage;
  return CUDA_SUCCESS;
}

// [0] (CUcontext, key, value, destructor(context, key, value))
CUresult cls_put(CUcontext context, void* key, void* value,
                 ContextLocalStorage::Destructor dtor) noexcept {
  ContextLocalStorage* storage = nullptr;
  if (CUresult r = storage_of(context, &storage); r != CUDA_SUCCESS) return r;
  return guarded([&] {
    storage->put(key, value, dtor);
    return CUDA_SUCCESS;
  });
}

// [1] (CUcontext, key): forgets the key; its destructor does not run.
CUresult cls_delete(CUcontext context, void* key) noexcept {
  ContextLocalStorage* storage = nullptr;
  if (CUresult r = storage_of(context, &storage); r != CUDA_SUCCESS) return r;
  return storage->remove(key) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

// [2] (void** value, CUcontext, key). Must fail for a key never put: that failure is how the
// runtime learns it has not set the context up yet.
CUresult cls_get(void** value, CUcontext context, void* key) noexcept {
  if (value == nullptr) return CUDA_ERROR_INVALID_VALUE;
  ContextLocalStorage* storage = nullptr;
  if (CUresult r = storage_of(context, &storage); r != CUDA_SUCCESS) return r;
  return storage->get(key, value) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

// No size word: slot 0 is already a function, and a null ends the table.
const void* const* context_local_storage_table() {
  static const void* const table[] = {slot(cls_put), slot(cls_delete), slot(cls_get), nullptr};
  return table;
}

// ---- CONTEXT_CHECKS

// [2] (CUcontext, uint32_t* out, void** out2): "nothing to report" is a 0 in *out. What out2
// means is not known; it is left as it is, which cudart 13.0 accepts.
CUresult context_check_2(CUcontext, uint32_t* out, void**) noexcept {
  if (out != nullptr) *out = 0;
  return CUDA_SUCCESS;
}

// [3] (the runtime passes 0x13) returns a 32-bit 0.
uint32_t context_check_3(uint32_t) noexcept { return 0; }

const void* const* context_checks_table() {
  static const auto table = [] {
    auto t = unimplemented_table<kContextChecks, 15>();
    t[2] = slot(context_check_2);
    t[3] = slot(context_check_3);
    return t;
  }();
  return table.data();
}

// ---- INTEGRITY_CHECK

const void* const* integrity_table();

// [1] (uint32_t version, uint64_t unix_seconds, uint64_t out[2])
CUresult integrity_check(uint32_t version, uint64_t unix_seconds, uint64_t* out) noexcept {
  const void* const* self = integrity_table();
  // The answer covers the tables exactly as handed out, and this function as slot 1 holds it.
  return answer_integrity_check(version, unix_seconds, out,
                                {cudart_interface_table(), self, self[1]});
}

const void* const* integrity_table() {
  static const void* const table[] = {
      size_word(3),
      slot(integrity_check),
      slot(unimplemented<kIntegrity, 2>),
  };
  return table;
}

// ---- 1734dc26-...: asked for by cuBLASLt before it loads the kernels of a half-precision
// (fp16, bf16) GEMM on sm_90. On the driver it has 16 entries; cuBLASLt calls [4] (two out
// pointers, each given a driver-side object) and then [13] (those two objects, two counts and a
// pointer). Handing out no table makes cuBLASLt crash (it does not check the result); when each
// entry answers CUDA_ERROR_NOT_SUPPORTED, cuBLASLt goes on, and PyTorch's fp16 and bf16 GEMMs
// match native (test/gpu/frameworks). Said at Debug: every such program calls it.
const void* const* cublaslt_setup_table() {
  static const auto table = unimplemented_table<kCublasLtSetup, 17, Callers::DoWithout>();
  return table.data();
}

// ---- lookup

struct Served {
  uint8_t uuid[16];
  const void* const* (*table)();
};

// The UUIDs' bytes in the order the runtime passes them (the hex strings as written, no GUID
// byte swapping).
// clang-format off
constexpr Served kServed[] = {
    {{0x6b, 0xd5, 0xfb, 0x6c, 0x5b, 0xf4, 0xe7, 0x4a, 0x89, 0x87, 0xd9, 0x39, 0x12, 0xfd, 0x9d, 0xf9}, cudart_interface_table},
    {{0xa0, 0x94, 0x79, 0x8c, 0x2e, 0x74, 0x2e, 0x74, 0x93, 0xf2, 0x08, 0x00, 0x20, 0x0c, 0x0a, 0x66}, tools_hooks_table},
    {{0x42, 0xd8, 0x5a, 0x81, 0x23, 0xf6, 0xcb, 0x47, 0x82, 0x98, 0xf6, 0xe7, 0x8a, 0x3a, 0xec, 0xdc}, tools_tls_table},
    {{0xc6, 0x93, 0x33, 0x6e, 0x11, 0x21, 0xdf, 0x11, 0xa8, 0xc3, 0x68, 0xf3, 0x55, 0xd8, 0x95, 0x93}, context_local_storage_table},
    {{0x26, 0x3e, 0x88, 0x60, 0x7c, 0xd2, 0x61, 0x43, 0x92, 0xf6, 0xbb, 0xd5, 0x00, 0x6d, 0xfa, 0x7e}, context_checks_table},
    {{0xd4, 0x08, 0x20, 0x55, 0xbd, 0xe6, 0x70, 0x4b, 0x8d, 0x34, 0xba, 0x12, 0x3c, 0x66, 0xe1, 0xf2}, integrity_table},
    {{0x21, 0x31, 0x8c, 0x60, 0x97, 0x14, 0x32, 0x48, 0x8c, 0xa6, 0x41, 0xff, 0x73, 0x24, 0xc8, 0xf2}, tools_context_table},
    {{0x6e, 0x16, 0x3f, 0xbe, 0xb9, 0x58, 0x44, 0x4d, 0x83, 0x5c, 0xe1, 0x82, 0xaf, 0xf1, 0x99, 0x1e}, tools_module_table},
    {{0x17, 0x34, 0xdc, 0x26, 0x80, 0x0d, 0x47, 0x45, 0x87, 0x26, 0xc0, 0xf1, 0xe7, 0xdd, 0x8b, 0xca}, cublaslt_setup_table},
};
// clang-format on

// Tables that are asked for and done without: NVIDIA's runtime asks for f8cff951-... on every
// start, and the math libraries (cuBLAS, cuFFT, cuRAND, cuSOLVER, cuSPARSE) for da9151d3-...
// as they load; every program of test/gpu matches native with both refused. Their refusal is
// said at Debug, so that an ordinary program's stderr stays as it is natively. Any other
// refusal may be why a program fails, and is said at Warn.
// clang-format off
constexpr uint8_t kDoneWithout[][16] = {
    {0xf8, 0xcf, 0xf9, 0x51, 0x21, 0x46, 0x8b, 0x4e, 0xb9, 0xe2, 0xfb, 0x46, 0x9e, 0x7c, 0x0d, 0xd9},
    {0xda, 0x91, 0x51, 0xd3, 0x3a, 0xe6, 0xcc, 0x41, 0xa5, 0xc0, 0x4f, 0x26, 0xd5, 0x33, 0xe3, 0x28},
};
// clang-format on

// Refused UUIDs, each said once: the runtime asks for one on every start, and CUDA's
// libraries ask for theirs each time they load. A process asks for a handful of distinct
// ones; should more come, those past the array's room are said at Debug, not repeated at Warn.
struct Refused {
  std::mutex mutex;
  unsigned count = 0;
  uint8_t uuids[16][16] = {};
};
constinit Refused g_refused;

enum class Seen { Before, Now, Unremembered };

Seen remember_refused(const uint8_t* uuid) {
  std::lock_guard lock(g_refused.mutex);
  for (unsigned i = 0; i < g_refused.count; ++i) {
    if (std::memcmp(g_refused.uuids[i], uuid, 16) == 0) return Seen::Before;
  }
  if (g_refused.count == sizeof g_refused.uuids / sizeof g_refused.uuids[0])
    return Seen::Unremembered;
  std::memcpy(g_refused.uuids[g_refused.count++], uuid, 16);
  return Seen::Now;
}

void note_refused(const uint8_t* uuid) {
  const Seen seen = remember_refused(uuid);
  if (seen == Seen::Before) return;
  // As the UUIDs are usually written: 8-4-4-4-12 hex digits, bytes in order.
  static constexpr char kDigits[] = "0123456789abcdef";
  char hex[37];
  char* p = hex;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
    *p++ = kDigits[uuid[i] >> 4];
    *p++ = kDigits[uuid[i] & 0xf];
  }
  *p = '\0';
  guest::log(refusal_log_level(uuid, seen == Seen::Now),
             "cuGetExportTable: table %s is not provided by vgpu", hex);
}

}  // namespace

guest::LogLevel refusal_log_level(const uint8_t* uuid, bool first_time) {
  if (!first_time) return guest::LogLevel::Debug;
  for (const auto& known : kDoneWithout)
    if (std::memcmp(known, uuid, sizeof known) == 0) return guest::LogLevel::Debug;
  return guest::LogLevel::Warn;
}

CUresult get_export_table(const void** table, const CUuuid* id) noexcept {
  if (table == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *table = nullptr;
  if (id == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const auto* uuid = reinterpret_cast<const uint8_t*>(id->bytes);
  for (const Served& s : kServed) {
    if (std::memcmp(s.uuid, uuid, sizeof s.uuid) == 0) {
      *table = s.table();
      return CUDA_SUCCESS;
    }
  }
  note_refused(uuid);
  return CUDA_ERROR_INVALID_VALUE;
}

}  // namespace vgpu::cuda
