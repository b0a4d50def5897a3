// What a function or kernel handle knows about itself: its module or library, its name,
// whether it is loaded. Answered from the handle, no round trip.
#include "guest/cuda/api.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/handles.h"

using namespace vgpu::cuda;

VGPU_DRIVER_API CUresult cuFuncGetModule(CUmodule* module, CUfunction f) {
  if (module == nullptr) return CUDA_ERROR_INVALID_VALUE;
  FunctionObject* fn = object_of<FunctionObject>(f, HandleKind::Function);
  if (fn == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  *module = reinterpret_cast<CUmodule>(fn->module);
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuFuncGetName(const char** name, CUfunction f) {
  if (name == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (FunctionObject* fn = object_of<FunctionObject>(f, HandleKind::Function)) {
    *name = fn->name.c_str();
    return CUDA_SUCCESS;
  }
  if (KernelObject* k = object_of<KernelObject>(f, HandleKind::Kernel)) {
    *name = k->name.c_str();
    return CUDA_SUCCESS;
  }
  return CUDA_ERROR_INVALID_HANDLE;
}

VGPU_DRIVER_API CUresult cuKernelGetName(const char** name, CUkernel k) {
  if (name == nullptr) return CUDA_ERROR_INVALID_VALUE;
  KernelObject* kernel = object_of<KernelObject>(k, HandleKind::Kernel);
  if (kernel == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  *name = kernel->name.c_str();
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuKernelGetLibrary(CUlibrary* library, CUkernel k) {
  if (library == nullptr) return CUDA_ERROR_INVALID_VALUE;
  KernelObject* kernel = object_of<KernelObject>(k, HandleKind::Kernel);
  if (kernel == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  *library = reinterpret_cast<CUlibrary>(kernel->library);
  return CUDA_SUCCESS;
}

// vgpud loads a module's code when the module is loaded: every function is loaded.
VGPU_DRIVER_API CUresult cuFuncIsLoaded(CUfunctionLoadingState* state, CUfunction f) {
  if (state == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (object_of<FunctionObject>(f, HandleKind::Function) == nullptr &&
      object_of<KernelObject>(f, HandleKind::Kernel) == nullptr)
    return CUDA_ERROR_INVALID_HANDLE;
  *state = CU_FUNCTION_LOADING_STATE_LOADED;
  return CUDA_SUCCESS;
}
VGPU_DRIVER_API CUresult cuFuncLoad(CUfunction f) {
  if (object_of<FunctionObject>(f, HandleKind::Function) == nullptr &&
      object_of<KernelObject>(f, HandleKind::Kernel) == nullptr)
    return CUDA_ERROR_INVALID_HANDLE;
  return CUDA_SUCCESS;
}

// Bank size is fixed on every GPU vgpu serves; accepted and ignored, as by the driver.
VGPU_DRIVER_API CUresult cuFuncSetSharedMemConfig(CUfunction f, CUsharedconfig config) {
  if (config < CU_SHARED_MEM_CONFIG_DEFAULT_BANK_SIZE || config > CU_SHARED_MEM_CONFIG_EIGHT_BYTE_BANK_SIZE)
    return CUDA_ERROR_INVALID_VALUE;
  if (object_of<FunctionObject>(f, HandleKind::Function) == nullptr &&
      object_of<KernelObject>(f, HandleKind::Kernel) == nullptr)
    return CUDA_ERROR_INVALID_HANDLE;
  return CUDA_SUCCESS;
}
