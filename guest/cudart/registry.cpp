#include "guest/cudart/registry.h"

#include "guest/cudart/status_map.h"

namespace vgpu::cudart {

Registry& registry() {
  static Registry* const instance = new Registry();  // never destroyed: see state.h
  return *instance;
}

ModuleRecord* Registry::add_module(const void* fat_cubin) {
  std::lock_guard lock(mu_);
  ModuleRecord& m = modules_.emplace_back();
  m.fat_cubin = fat_cubin;
  return &m;
}

void Registry::add_function(ModuleRecord* module, const void* host_fun, const char* device_name) {
  std::lock_guard lock(mu_);
  FunctionRecord& f = functions_.emplace_back(FunctionRecord{module, device_name});
  by_host_fun_[host_fun] = &f;
}

void Registry::add_variable(ModuleRecord* module, const void* host_var, const char* device_name) {
  std::lock_guard lock(mu_);
  VariableRecord& v = variables_.emplace_back(VariableRecord{module, device_name});
  by_host_var_[host_var] = &v;
}

void Registry::add_managed_variable(ModuleRecord* module, void** host_pointer, const char* device_name) {
  std::lock_guard lock(mu_);
  managed_.push_back(ManagedRecord{module, host_pointer, device_name});
}

cudaError_t Registry::init_managed(ModuleRecord* module) {
  std::lock_guard lock(mu_);
  for (ManagedRecord& v : managed_) {
    if (v.module != module) continue;
    CUlibrary library = nullptr;
    if (cudaError_t e = library_locked(module, &library); e != cudaSuccess) return e;
    CUdeviceptr address = 0;
    if (CUresult r = cuLibraryGetManaged(&address, nullptr, library, v.name.c_str()); r != CUDA_SUCCESS)
      return to_cuda_error(r);
    *v.host_pointer = reinterpret_cast<void*>(static_cast<uintptr_t>(address));
    // Host code names the variable by that address (cudaMemcpyToSymbol(counter, ...)).
    if (!by_host_var_.contains(*v.host_pointer))
      by_host_var_[*v.host_pointer] = &variables_.emplace_back(VariableRecord{module, v.name});
  }
  return cudaSuccess;
}

CUlibrary Registry::remove_module(ModuleRecord* module) {
  std::lock_guard lock(mu_);
  std::erase_if(managed_, [module](const ManagedRecord& v) { return v.module == module; });
  std::erase_if(by_host_fun_, [module](const auto& e) { return e.second->module == module; });
  std::erase_if(by_host_var_, [module](const auto& e) { return e.second->module == module; });
  for (FunctionRecord& f : functions_)
    if (f.module == module) f.kernel = nullptr;  // dies with the library
  CUlibrary library = module->library;
  module->library = nullptr;
  return library;
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

void Registry::invalidate(int device) {
  std::lock_guard lock(mu_);
  if (device >= 0 && static_cast<uint32_t>(device) < limits::kMaxDevices) ++generation_[static_cast<size_t>(device)];
}

cudaError_t Registry::library_locked(ModuleRecord* module, CUlibrary* out) {
  if (module->library == nullptr) {
    // The fat binary is part of the program's image and stays where it is: the driver need
    // not copy it.
    CUlibraryOption option = CU_LIBRARY_BINARY_IS_PRESERVED;
    void* preserved = reinterpret_cast<void*>(uintptr_t{1});
    CUlibrary library = nullptr;
    const CUresult r = cuLibraryLoadData(&library, module->fat_cubin, nullptr, nullptr, 0, &option, &preserved, 1);
    if (r != CUDA_SUCCESS) return to_cuda_error(r);
    module->library = library;
  }
  *out = module->library;
  return cudaSuccess;
}

cudaError_t Registry::kernel(const void* host_fun, CUkernel* out) {
  std::lock_guard lock(mu_);
  auto it = by_host_fun_.find(host_fun);
  if (it == by_host_fun_.end()) return cudaErrorInvalidDeviceFunction;
  FunctionRecord* f = it->second;
  if (f->kernel == nullptr) {
    CUlibrary library = nullptr;
    if (cudaError_t e = library_locked(f->module, &library); e != cudaSuccess) return e;
    const CUresult r = cuLibraryGetKernel(&f->kernel, library, f->name.c_str());
    if (r == CUDA_ERROR_NOT_FOUND) return cudaErrorInvalidDeviceFunction;  // registered, not in the image
    if (r != CUDA_SUCCESS) return to_cuda_error(r);
  }
  *out = f->kernel;
  return cudaSuccess;
}

const void* Registry::host_function(CUkernel kernel) {
  if (kernel == nullptr) return nullptr;
  std::lock_guard lock(mu_);
  for (const auto& [host_fun, record] : by_host_fun_)
    if (record->kernel == kernel) return host_fun;
  return nullptr;
}

cudaError_t Registry::symbol(const void* host_var, int device, SymbolInfo* out) {
  if (device < 0 || static_cast<uint32_t>(device) >= limits::kMaxDevices) return cudaErrorInvalidDevice;
  const auto d = static_cast<size_t>(device);
  std::lock_guard lock(mu_);
  auto it = by_host_var_.find(host_var);
  if (it == by_host_var_.end()) return cudaErrorInvalidSymbol;
  VariableRecord* v = it->second;
  if (v->generation[d] != generation_[d]) {
    CUlibrary library = nullptr;
    if (cudaError_t e = library_locked(v->module, &library); e != cudaSuccess) return e;
    SymbolInfo info;
    const CUresult r = cuLibraryGetGlobal(&info.device_ptr, &info.size, library, v->name.c_str());
    if (r == CUDA_ERROR_NOT_FOUND) return cudaErrorInvalidSymbol;
    if (r != CUDA_SUCCESS) return to_cuda_error(r);
    v->resolved[d] = info;
    v->generation[d] = generation_[d];
  }
  *out = v->resolved[d];
  return cudaSuccess;
}

}  // namespace vgpu::cudart
