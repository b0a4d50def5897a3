// What nvcc's constructors registered (fat binaries, kernels, __device__ variables), and what
// the driver made of them once used. Registration happens before main and costs nothing; a fat
// binary becomes a CUlibrary on the first launch or symbol access that needs it, as in NVIDIA's
// runtime, and the driver loads it on each device when a kernel or variable is first wanted
// there. A kernel is its library's CUkernel, valid on every device; a variable's address is
// per device and is cached here until that device is reset.
//
// The registry lives as long as the process (see state.h for why) and does not need the
// driver to register: registration must work when vgpud is unreachable.
#pragma once
#include <cuda.h>
#include <driver_types.h>

#include <array>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

#include "vgpu/protocol/limits.h"

namespace vgpu::cudart {

struct ModuleRecord {
  const void* fat_cubin = nullptr;  // nvcc's wrapper, as registered
  CUlibrary library = nullptr;      // once loaded
};

struct SymbolInfo {
  CUdeviceptr device_ptr = 0;
  size_t size = 0;
};

class Registry {
 public:
  ModuleRecord* add_module(const void* fat_cubin);
  void add_function(ModuleRecord* module, const void* host_fun, const char* device_name);
  void add_variable(ModuleRecord* module, const void* host_var, const char* device_name);
  // A __managed__ variable: host code reads it through *host_pointer, which init_managed sets.
  void add_managed_variable(ModuleRecord* module, void** host_pointer, const char* device_name);
  // Forgets a module's kernels and variables (its library is being unloaded). Returns its
  // CUlibrary, if it was loaded, for the caller to unload.
  CUlibrary remove_module(ModuleRecord* module);

  bool knows_function(const void* host_fun);
  // The kernel's device name (mangled), or nullptr.
  const char* function_name(const void* host_fun);

  // The kernel behind a host stub; the first use loads its module's library.
  // cudaErrorInvalidDeviceFunction for a pointer nothing registered.
  cudaError_t kernel(const void* host_fun, CUkernel* out);
  // The host stub whose kernel is `kernel` (a graph's kernel node read back), or nullptr.
  const void* host_function(CUkernel kernel);
  // A __device__/__constant__ variable's address and size on `device` (the calling thread's
  // current one); the first use there asks the driver. cudaErrorInvalidSymbol for a pointer
  // nothing registered.
  cudaError_t symbol(const void* host_var, int device, SymbolInfo* out);

  // __cudaInitModule, before host code first touches one of the module's __managed__
  // variables: points each at its address (the driver shim mirrors it: managed_variables.h),
  // which from then on names the variable as a symbol too.
  cudaError_t init_managed(ModuleRecord* module);

  // cudaDeviceReset: the device's variable addresses are gone with its context.
  void invalidate(int device);

 private:
  struct FunctionRecord {
    ModuleRecord* module;
    std::string name;
    CUkernel kernel = nullptr;  // once resolved
  };
  struct VariableRecord {
    ModuleRecord* module;
    std::string name;
    // Per device: the address, valid while `generation` is the device's current one.
    std::array<SymbolInfo, limits::kMaxDevices> resolved{};
    std::array<uint64_t, limits::kMaxDevices> generation{};
  };

  struct ManagedRecord {
    ModuleRecord* module;
    void** host_pointer;
    std::string name;
  };

  // With mu_ held: the module's library, loading it on first use.
  cudaError_t library_locked(ModuleRecord* module, CUlibrary* out);

  // One lock: lookups are rare after the first (kernels are cached by the caller's CUkernel,
  // variables per device), and the driver answers them without waiting for vgpud except on
  // a first use.
  std::mutex mu_;
  // Per device; starts at 1 so that a zeroed generation is never current.
  std::array<uint64_t, limits::kMaxDevices> generation_ = [] {
    std::array<uint64_t, limits::kMaxDevices> g{};
    g.fill(1);
    return g;
  }();
  // Records are never freed, so pointers to them stay valid.
  std::deque<ModuleRecord> modules_;
  std::deque<FunctionRecord> functions_;
  std::deque<VariableRecord> variables_;
  std::deque<ManagedRecord> managed_;
  std::unordered_map<const void*, FunctionRecord*> by_host_fun_;
  std::unordered_map<const void*, VariableRecord*> by_host_var_;
};

Registry& registry();

// The kernel behind a host stub, as a CUfunction handle: the driver takes a CUkernel where a
// CUfunction goes, and uses it on the current device.
inline cudaError_t kernel_function(const void* host_fun, CUfunction* out) {
  CUkernel kernel = nullptr;
  if (cudaError_t e = registry().kernel(host_fun, &kernel); e != cudaSuccess) return e;
  *out = reinterpret_cast<CUfunction>(kernel);
  return cudaSuccess;
}

}  // namespace vgpu::cudart
