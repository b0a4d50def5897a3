// Listing a module's functions and a library's kernels (cuModuleEnumerateFunctions,
// cuLibraryEnumerateKernels): the names come from vgpud's driver, the handles are the ones
// cuModuleGetFunction and cuLibraryGetKernel give for those names.
#include <string>
#include <vector>

#include "guest/cuda/api.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/modules.h"
#include "guest/cuda/tools_tables.h"

using namespace vgpu::cuda;
namespace guest = vgpu::guest;

namespace {

CUresult module_names(CUmodule module, guest::Channel** ch, ModuleObject** m, std::vector<std::string>* names) {
  *ch = channel();
  if (*ch == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
  *m = object_of<ModuleObject>(module, HandleKind::Module);
  if (*m == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  return list_functions(**ch, **m, names);
}

// A library's kernels are listed from its module on the calling thread's device, or device 0
// without a current context (a library belongs to no context).
CUresult library_names(CUlibrary library, std::vector<std::string>* names) {
  guest::Channel* ch = channel();
  if (ch == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
  LibraryObject* lib = object_of<LibraryObject>(library, HandleKind::Library);
  if (lib == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  const Context* c = current_context();
  ModuleObject* m = nullptr;
  if (CUresult r = library_module(*ch, *lib, c != nullptr ? c->device : 0, &m); r != CUDA_SUCCESS) return r;
  return list_functions(*ch, *m, names);
}

}  // namespace

namespace vgpu::cuda {

uint64_t walk_module_functions(CUmodule module, void (*visit)(void*, CUfunction, void*), void* user) noexcept {
  if (visit == nullptr) return 0;
  try {
    guest::Channel* ch = nullptr;
    ModuleObject* m = nullptr;
    std::vector<std::string> names;
    if (module_names(module, &ch, &m, &names) != CUDA_SUCCESS) return 0;
    uint64_t visited = 0;
    for (const std::string& name : names) {
      FunctionObject* f = nullptr;
      if (get_function(*ch, *m, name.c_str(), &f) != CUDA_SUCCESS) continue;
      visit(user, reinterpret_cast<CUfunction>(f), m);
      ++visited;
    }
    return visited;
  } catch (...) {
    return 0;
  }
}

}  // namespace vgpu::cuda

VGPU_DRIVER_API CUresult cuModuleGetFunctionCount(unsigned int* count, CUmodule module) {
  if (count == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    ModuleObject* m = nullptr;
    std::vector<std::string> names;
    if (CUresult r = module_names(module, &ch, &m, &names); r != CUDA_SUCCESS) return r;
    *count = static_cast<unsigned>(names.size());
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuModuleEnumerateFunctions(CUfunction* functions, unsigned int count, CUmodule module) {
  if (functions == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    ModuleObject* m = nullptr;
    std::vector<std::string> names;
    if (CUresult r = module_names(module, &ch, &m, &names); r != CUDA_SUCCESS) return r;
    if (count < names.size()) return CUDA_ERROR_INVALID_VALUE;
    for (size_t i = 0; i < names.size(); ++i) {
      FunctionObject* f = nullptr;
      if (CUresult r = get_function(*ch, *m, names[i].c_str(), &f); r != CUDA_SUCCESS) return r;
      functions[i] = reinterpret_cast<CUfunction>(f);
    }
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuLibraryGetKernelCount(unsigned int* count, CUlibrary library) {
  if (count == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    std::vector<std::string> names;
    if (CUresult r = library_names(library, &names); r != CUDA_SUCCESS) return r;
    *count = static_cast<unsigned>(names.size());
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuLibraryEnumerateKernels(CUkernel* kernels, unsigned int count, CUlibrary library) {
  if (kernels == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    std::vector<std::string> names;
    if (CUresult r = library_names(library, &names); r != CUDA_SUCCESS) return r;
    if (count < names.size()) return CUDA_ERROR_INVALID_VALUE;
    for (size_t i = 0; i < names.size(); ++i)
      if (CUresult r = cuLibraryGetKernel(&kernels[i], library, names[i].c_str()); r != CUDA_SUCCESS) return r;
    return CUDA_SUCCESS;
  });
}
