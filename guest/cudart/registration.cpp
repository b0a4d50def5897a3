// nvcc's registration hooks. Its generated constructors call these before main, so they only
// record what was registered: nothing here talks to vgpud, and nothing may fail loudly (a
// program that never launches a kernel must run even without a GPU). Modules load lazily on
// first use (registry.h).
#include <atomic>

#include "guest/client/log.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/registry.h"

namespace vgpu::cudart {
namespace {

ModuleRecord* module_of(void** handle) { return reinterpret_cast<ModuleRecord*>(handle); }

void not_supported_once(std::atomic<bool>& said, const char* what) {
  if (!said.exchange(true)) guest::log(guest::LogLevel::Warn, "%s is not supported by vgpu", what);
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT void** __cudaRegisterFatBinary(void* fatCubin) {
  trace_api("__cudaRegisterFatBinary fatbin=%p", fatCubin);
  try {
    return reinterpret_cast<void**>(registry().add_module(fatCubin));
  } catch (...) {
    return nullptr;  // registrations against a null handle are ignored
  }
}

VGPU_EXPORT void __cudaRegisterFatBinaryEnd(void** fatCubinHandle) {
  // Nothing to do: the module loads when first used.
  trace_api("__cudaRegisterFatBinaryEnd handle=%p", static_cast<void*>(fatCubinHandle));
}

VGPU_EXPORT void __cudaUnregisterFatBinary(void** fatCubinHandle) {
  // Runs from atexit handlers and library unloads. At process exit it does nothing: the
  // channel may be mid-teardown, and vgpud drops the process's modules when it goes away.
  if (fatCubinHandle == nullptr || process_exiting()) return;
  trace_api("__cudaUnregisterFatBinary handle=%p", static_cast<void*>(fatCubinHandle));
  try {
    if (CUlibrary library = registry().remove_module(module_of(fatCubinHandle)); library != nullptr)
      (void)cuLibraryUnload(library);
  } catch (...) {
  }
}

VGPU_EXPORT void __cudaRegisterFunction(void** fatCubinHandle, const char* hostFun, char* deviceFun,
                                        const char* deviceName, int, uint3*, uint3*, dim3*, dim3*, int*) {
  const char* name = deviceName != nullptr ? deviceName : deviceFun;
  trace_api("__cudaRegisterFunction host=%p name=%s", static_cast<const void*>(hostFun), name ? name : "(null)");
  if (fatCubinHandle == nullptr || hostFun == nullptr || name == nullptr) return;
  try {
    registry().add_function(module_of(fatCubinHandle), hostFun, name);
  } catch (...) {
  }
}

VGPU_EXPORT void __cudaRegisterVar(void** fatCubinHandle, char* hostVar, char* deviceAddress, const char* deviceName,
                                   int, size_t size, int, int) {
  const char* name = deviceName != nullptr ? deviceName : deviceAddress;
  trace_api("__cudaRegisterVar host=%p name=%s size=%zu", static_cast<void*>(hostVar), name ? name : "(null)", size);
  if (fatCubinHandle == nullptr || hostVar == nullptr || name == nullptr) return;
  try {
    registry().add_variable(module_of(fatCubinHandle), hostVar, name);
  } catch (...) {
  }
}

VGPU_EXPORT void __cudaRegisterManagedVar(void** fatCubinHandle, void** hostVarPtrAddress, char* deviceAddress,
                                          const char* deviceName, int, size_t size, int, int) {
  const char* name = deviceName != nullptr ? deviceName : deviceAddress;
  trace_api("__cudaRegisterManagedVar name=%s size=%zu", name ? name : "(null)", size);
  if (fatCubinHandle == nullptr || hostVarPtrAddress == nullptr || name == nullptr) return;
  try {
    registry().add_managed_variable(module_of(fatCubinHandle), hostVarPtrAddress, name);
  } catch (...) {
  }
}

VGPU_EXPORT void __cudaRegisterTexture(void**, const void*, const void**, const char* deviceName, int, int, int) {
  static std::atomic<bool> said{false};
  trace_api("__cudaRegisterTexture name=%s", deviceName ? deviceName : "(null)");
  not_supported_once(said, "texture references (__cudaRegisterTexture)");
}

VGPU_EXPORT void __cudaRegisterSurface(void**, const void*, const void**, const char* deviceName, int, int) {
  static std::atomic<bool> said{false};
  trace_api("__cudaRegisterSurface name=%s", deviceName ? deviceName : "(null)");
  not_supported_once(said, "surface references (__cudaRegisterSurface)");
}

// Host code calls this (through __nv_init_managed_rt) before it first touches one of the
// module's __managed__ variables: their pointers must be set by then. 1 when they are.
VGPU_EXPORT char __cudaInitModule(void** fatCubinHandle) {
  trace_api("__cudaInitModule handle=%p", static_cast<void*>(fatCubinHandle));
  if (fatCubinHandle == nullptr) return 0;
  const cudaError_t e = context_call([&](Runtime&) { return registry().init_managed(module_of(fatCubinHandle)); });
  if (e != cudaSuccess)
    vgpu::guest::log(vgpu::guest::LogLevel::Warn, "__managed__ variables could not be set up: %s", cudaGetErrorString(e));
  return e == cudaSuccess ? 1 : 0;
}
