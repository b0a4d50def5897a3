// What nvcc's constructors registered (modules, kernels, __device__ variables), and what
// vgpud made of them once used. Registration happens before main and costs nothing; a module
// travels to vgpud on the first launch or symbol access that needs it, each kernel's
// parameter layout is fetched once, and later launches are answered from here.
//
// The registry lives as long as the process (see state.h for why) and is independent of the
// channel: registration must work when vgpud is unreachable.
#pragma once
#include <driver_types.h>

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "guest/client/channel.h"
#include "guest/cudart/fatbin.h"
#include "guest/cudart/launch_check.h"
#include "vgpu/protocol/messages.h"

namespace vgpu::cudart {

struct ModuleRecord {
  std::optional<ModuleImage> image;  // nullopt: nothing loadable was registered
  // vgpud's module id, valid while loaded_generation is the registry's generation.
  uint32_t id = 0;
  uint64_t loaded_generation = 0;
};

// A kernel as vgpud resolved it. Immutable once published, but for the dynamic shared memory
// limit, which cudaFuncSetAttribute changes: a cache of vgpud's value, safe to update from any
// thread. A cudaDeviceReset publishes a fresh KernelInfo, whose limit is unknown again, as the
// reset returns the driver's to its default.
struct KernelInfo {
  uint32_t function = 0;
  uint32_t param_buffer_size = 0;
  std::vector<proto::KernelParamInfo> params;
  mutable SharedLimitCache max_dynamic_shared;
};

struct SymbolInfo {
  uint64_t device_ptr = 0;
  uint64_t size = 0;
};

class Registry {
 public:
  ModuleRecord* add_module(const void* fat_cubin);
  void add_function(ModuleRecord* module, const void* host_fun, const char* device_name);
  void add_variable(ModuleRecord* module, const void* host_var, const char* device_name, uint64_t size);
  // Forgets a module's kernels and variables (its library is being unloaded). Returns vgpud's
  // module id when the module is loaded, for the caller to unload.
  std::optional<uint32_t> remove_module(ModuleRecord* module);

  bool knows_function(const void* host_fun);
  // The kernel's device name (mangled), or nullptr.
  const char* function_name(const void* host_fun);

  // The kernel behind a host stub; the first use loads its module and asks vgpud.
  // cudaErrorInvalidDeviceFunction for a pointer nothing registered.
  cudaError_t kernel(guest::Channel& channel, const void* host_fun, const KernelInfo** out);
  // A __device__/__constant__ variable's device address and size; the first use loads its
  // module and asks vgpud. cudaErrorInvalidSymbol for a pointer nothing registered.
  cudaError_t symbol(guest::Channel& channel, const void* host_var, SymbolInfo* out);

  // cudaDeviceReset unloaded every module: load and resolve again on next use.
  void invalidate();

 private:
  struct FunctionRecord {
    ModuleRecord* module;
    std::string name;
    const KernelInfo* kernel = nullptr;
    uint64_t generation = 0;
  };
  struct VariableRecord {
    ModuleRecord* module;
    std::string name;
    uint64_t registered_size;
    SymbolInfo resolved;
    uint64_t generation = 0;
  };

  // With load_mu_ held. Returns vgpud's id for the module, loading it if needed.
  cudaError_t load_locked(guest::Channel& channel, ModuleRecord* module, uint64_t generation, uint32_t* id);

  std::mutex mu_;       // everything below
  std::mutex load_mu_;  // serializes loads and lookups, which wait for vgpud without mu_ held
  uint64_t generation_ = 1;
  // Records are never freed, so pointers to them stay valid without holding mu_.
  std::deque<ModuleRecord> modules_;
  std::deque<FunctionRecord> functions_;
  std::deque<VariableRecord> variables_;
  std::deque<KernelInfo> kernels_;
  std::unordered_map<const void*, FunctionRecord*> by_host_fun_;
  std::unordered_map<const void*, VariableRecord*> by_host_var_;
};

Registry& registry();

}  // namespace vgpu::cudart
