#include "guest/cudart/registry.h"

#include <cstring>
#include <span>

#include <cuda.h>

#include "guest/cudart/param_pack.h"
#include "guest/cudart/status_map.h"
#include "vgpu/protocol/limits.h"

namespace vgpu::cudart {
namespace {

// A lookup vgpud answered with "not found" means the registered name is not in the image.
cudaError_t lookup_error(int32_t status, cudaError_t not_found) {
  return status == CUDA_ERROR_NOT_FOUND ? not_found : to_cuda_error(status);
}

bool name_fits(const std::string& name) { return !name.empty() && name.size() <= limits::kMaxSymbolName; }

}  // namespace

Registry& registry() {
  static Registry* const instance = new Registry();  // never destroyed: see state.h
  return *instance;
}

ModuleRecord* Registry::add_module(const void* fat_cubin) {
  std::lock_guard lock(mu_);
  ModuleRecord& m = modules_.emplace_back();
  m.image = find_module_image(fat_cubin);
  return &m;
}

void Registry::add_function(ModuleRecord* module, const void* host_fun, const char* device_name) {
  std::lock_guard lock(mu_);
  FunctionRecord& f = functions_.emplace_back(FunctionRecord{module, device_name, {}});
  by_host_fun_[host_fun] = &f;
}

void Registry::add_variable(ModuleRecord* module, const void* host_var, const char* device_name, uint64_t size) {
  std::lock_guard lock(mu_);
  VariableRecord& v = variables_.emplace_back(VariableRecord{module, device_name, size, {}});
  by_host_var_[host_var] = &v;
}

std::vector<uint32_t> Registry::remove_module(ModuleRecord* module) {
  std::lock_guard lock(mu_);
  std::erase_if(by_host_fun_, [module](const auto& e) { return e.second->module == module; });
  std::erase_if(by_host_var_, [module](const auto& e) { return e.second->module == module; });
  std::vector<uint32_t> loaded;
  for (uint32_t d = 0; d < limits::kMaxDevices; ++d) {
    LoadedModule& m = module->loaded[d];
    if (m.generation == generation_[d]) loaded.push_back(m.id);
    m = LoadedModule{};
  }
  return loaded;
}

bool Registry::knows_function(const void* host_fun) {
  std::lock_guard lock(mu_);
  return by_host_fun_.contains(host_fun);
}

const char* Registry::function_name(const void* host_fun) {
  std::lock_guard lock(mu_);
  auto it = by_host_fun_.find(host_fun);
  return it == by_host_fun_.end() ? nullptr : it->second->name.c_str();
}

void Registry::invalidate(uint32_t device) {
  std::lock_guard lock(mu_);
  if (device < limits::kMaxDevices) ++generation_[device];
}

cudaError_t Registry::load_locked(guest::Channel& channel, ModuleRecord* module, uint32_t device,
                                  uint64_t generation, uint32_t* id) {
  {
    std::lock_guard lock(mu_);
    if (module->loaded[device].generation == generation) {
      *id = module->loaded[device].id;
      return cudaSuccess;
    }
  }
  // The image was fixed at registration; reading it needs no lock.
  if (!module->image) return cudaErrorInvalidKernelImage;
  uint32_t loaded = 0;
  int32_t status = channel.load_module(module->image->data, module->image->size, &loaded);
  if (status != 0) return to_cuda_error(status);
  std::lock_guard lock(mu_);
  module->loaded[device] = LoadedModule{loaded, generation};
  *id = loaded;
  return cudaSuccess;
}

cudaError_t Registry::kernel(guest::Channel& channel, const void* host_fun, const KernelInfo** out) {
  // The channel sends every request of this thread to this device's context.
  const uint32_t device = guest::Channel::thread_device();
  if (device >= limits::kMaxDevices) return cudaErrorInvalidDevice;
  FunctionRecord* f = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = by_host_fun_.find(host_fun);
    if (it == by_host_fun_.end()) return cudaErrorInvalidDeviceFunction;
    f = it->second;
    if (f->resolved[device].generation == generation_[device]) {
      *out = f->resolved[device].value;
      return cudaSuccess;
    }
  }

  std::lock_guard load_lock(load_mu_);
  uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    if (f->resolved[device].generation == generation_[device]) {  // another thread got here first
      *out = f->resolved[device].value;
      return cudaSuccess;
    }
    generation = generation_[device];
  }
  if (!name_fits(f->name)) return cudaErrorInvalidDeviceFunction;
  uint32_t module_id = 0;
  if (cudaError_t e = load_locked(channel, f->module, device, generation, &module_id); e != cudaSuccess) return e;

  proto::ModuleSymbolRequest request{module_id, static_cast<uint32_t>(f->name.size())};
  std::vector<uint8_t> reply(sizeof(proto::ModuleGetFunctionReply) +
                             limits::kMaxKernelParams * sizeof(proto::KernelParamInfo));
  guest::CallResult r = channel.call(proto::CallId::ModuleGetFunction,
                                     {{&request, sizeof request}, {f->name.data(), request.name_length}}, reply);
  if (r.status != 0) return lookup_error(r.status, cudaErrorInvalidDeviceFunction);
  if (r.payload_size < sizeof(proto::ModuleGetFunctionReply)) return cudaErrorUnknown;

  proto::ModuleGetFunctionReply head;
  std::memcpy(&head, reply.data(), sizeof head);
  uint32_t arrived = (r.payload_size - sizeof head) / sizeof(proto::KernelParamInfo);
  if (head.param_count > arrived) return cudaErrorUnknown;
  std::vector<proto::KernelParamInfo> params(head.param_count);
  if (head.param_count > 0) {  // an empty vector's data() may be null, which memcpy must not get
    std::memcpy(params.data(), reply.data() + sizeof head, head.param_count * sizeof(proto::KernelParamInfo));
  }
  if (!param_layout_valid(params, head.param_buffer_size)) return cudaErrorUnknown;

  std::lock_guard lock(mu_);
  // Built in place: its limit cache (an atomic) cannot be moved.
  KernelInfo& published = kernels_.emplace_back();
  published.function = head.function;
  published.param_buffer_size = head.param_buffer_size;
  published.params = std::move(params);
  f->resolved[device] = {&published, generation};
  *out = &published;
  return cudaSuccess;
}

cudaError_t Registry::symbol(guest::Channel& channel, const void* host_var, SymbolInfo* out) {
  const uint32_t device = guest::Channel::thread_device();
  if (device >= limits::kMaxDevices) return cudaErrorInvalidDevice;
  VariableRecord* v = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = by_host_var_.find(host_var);
    if (it == by_host_var_.end()) return cudaErrorInvalidSymbol;
    v = it->second;
    if (v->resolved[device].generation == generation_[device]) {
      *out = v->resolved[device].value;
      return cudaSuccess;
    }
  }

  std::lock_guard load_lock(load_mu_);
  uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    if (v->resolved[device].generation == generation_[device]) {
      *out = v->resolved[device].value;
      return cudaSuccess;
    }
    generation = generation_[device];
  }
  if (!name_fits(v->name)) return cudaErrorInvalidSymbol;
  uint32_t module_id = 0;
  if (cudaError_t e = load_locked(channel, v->module, device, generation, &module_id); e != cudaSuccess) return e;

  proto::ModuleSymbolRequest request{module_id, static_cast<uint32_t>(v->name.size())};
  proto::ModuleGetGlobalReply global{};
  guest::CallResult r = channel.call(proto::CallId::ModuleGetGlobal,
                                     {{&request, sizeof request}, {v->name.data(), request.name_length}},
                                     std::span(reinterpret_cast<uint8_t*>(&global), sizeof global));
  if (r.status != 0) return lookup_error(r.status, cudaErrorInvalidSymbol);
  if (r.payload_size < sizeof global) return cudaErrorUnknown;

  std::lock_guard lock(mu_);
  // The device's size is the truth; the registered one (what the host compiler saw) only
  // stands in when the device reports none.
  const SymbolInfo resolved{global.device_ptr, global.size != 0 ? global.size : v->registered_size};
  v->resolved[device] = {resolved, generation};
  *out = resolved;
  return cudaSuccess;
}

}  // namespace vgpu::cudart
