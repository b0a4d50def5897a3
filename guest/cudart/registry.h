// What nvcc's constructors registered (modules, kernels, __device__ variables), and what
// vgpud made of them once used. Registration happens before main and costs nothing; a module
// travels to vgpud on the first launch or symbol access that needs it, each kernel's
// parameter layout is fetched once, and later launches are answered from here.
//
// The registry lives as long as the process (see state.h for why) and is independent of the
// channel: registration must work when vgpud is unreachable.
#pragma once
#include <driver_types.h>

#include <array>
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
#include "vgpu/protocol/limits.h"
#include "vgpu/protocol/messages.h"

namespace vgpu::cudart {

// vgpud's id for a module on one device, valid while `generation` is that device's current
// generation in the registry (a cudaDeviceReset of the device moves it on).
struct LoadedModule {
  uint32_t id = 0;
  uint64_t generation = 0;
};

struct ModuleRecord {
  std::optional<ModuleImage> image;  // nullopt: nothing loadable was registered
  // Each device has its own context, so a module is loaded once per device it is used on.
  std::array<LoadedModule, limits::kMaxDevices> loaded{};
};

// A kernel as vgpud resolved it on one device. Immutable once published, but for the dynamic
// shared memory limit, which cudaFuncSetAttribute changes: a cache of vgpud's value, safe to
// update from any thread. A cudaDeviceReset publishes a fresh KernelInfo, whose limit is
// unknown again, as the reset returns the driver's to its default.
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
  Registry() { generation_.fill(1); }

  ModuleRecord* add_module(const void* fat_cubin);
  void add_function(ModuleRecord* module, const void* host_fun, const char* device_name);
  void add_variable(ModuleRecord* module, const void* host_var, const char* device_name, uint64_t size);
  // Forgets a module's kernels and variables (its library is being unloaded). Returns, per
  // device it is loaded on, vgpud's module id, for the caller to unload.
  std::vector<uint32_t> remove_module(ModuleRecord* module);

  bool knows_function(const void* host_fun);
  // The kernel's device name (mangled), or nullptr.
  const char* function_name(const void* host_fun);

  // The kernel behind a host stub on the calling thread's device; the first use there loads
  // its module and asks vgpud. cudaErrorInvalidDeviceFunction for a pointer nothing registered.
  cudaError_t kernel(guest::Channel& channel, const void* host_fun, const KernelInfo** out);
  // A __device__/__constant__ variable's address and size on the calling thread's device; the
  // first use there loads its module and asks vgpud. cudaErrorInvalidSymbol for a pointer
  // nothing registered.
  cudaError_t symbol(guest::Channel& channel, const void* host_var, SymbolInfo* out);

  // cudaDeviceReset unloaded every module of `device`: load and resolve again on next use.
  void invalidate(uint32_t device);

 private:
  // What one device made of a kernel or variable, valid while `generation` is current.
  template <typename T>
  struct PerDevice {
    T value{};
    uint64_t generation = 0;
  };
  struct FunctionRecord {
    ModuleRecord* module;
    std::string name;
    std::array<PerDevice<const KernelInfo*>, limits::kMaxDevices> resolved{};
  };
  struct VariableRecord {
    ModuleRecord* module;
    std::string name;
    uint64_t registered_size;
    std::array<PerDevice<SymbolInfo>, limits::kMaxDevices> resolved{};
  };

  // With load_mu_ held. Returns vgpud's id for the module on `device`, loading it if needed.
  cudaError_t load_locked(guest::Channel& channel, ModuleRecord* module, uint32_t device, uint64_t generation,
                          uint32_t* id);

  std::mutex mu_;       // everything below
  std::mutex load_mu_;  // serializes loads and lookups, which wait for vgpud without mu_ held
  // Per device; starts at 1 so that a zeroed LoadedModule or PerDevice is never current.
  std::array<uint64_t, limits::kMaxDevices> generation_;
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
