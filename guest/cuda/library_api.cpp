// Modules (cuModule*), libraries and kernels (cuLibrary*, cuKernel*), and what a function is
// asked about. An image travels to vgpud once per device it is used on; NVIDIA's runtime loads
// a program's kernels through the library calls, lazily (cuModuleGetLoadingMode).
#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "guest/client/log.h"
#include "guest/cuda/api.h"
#include "guest/cuda/device_memory.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/jit_logs.h"
#include "guest/cuda/launch_check.h"
#include "guest/cuda/links.h"
#include "guest/cuda/managed_variables.h"
#include "guest/cuda/modules.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace {

CUresult load_data(CUmodule* out, const void* image) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  guest::Channel* ch = nullptr;
  Context* c = nullptr;
  if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
  const auto extent = module_image_extent(image);
  if (!extent) return CUDA_ERROR_INVALID_IMAGE;
  ModuleObject* m = nullptr;
  if (CUresult r = load_module(*ch, *extent, c->device, &m); r != CUDA_SUCCESS) return r;
  *out = reinterpret_cast<CUmodule>(m);
  return CUDA_SUCCESS;
}

CUresult unload(ModuleObject* m) {
  guest::Channel* ch = channel();
  if (ch == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
  guest::Channel::set_thread_device(m->device);
  const proto::ModuleUnloadRequest request{m->wire, 0};
  const int32_t status = ch->call(proto::CallId::ModuleUnload, {{&request, sizeof request}}, {}).status;
  m->kind = HandleKind::Dead;  // functions of the module stop resolving on vgpud too
  forget_managed_variables_of(m);
  delete m;
  return to_cu_result(status);
}

// A module global (MODULE_GET_GLOBAL), or with `managed` a __managed__ variable
// (MODULE_GET_MANAGED), which the guest then mirrors at its address (managed_variables.h).
CUresult symbol_of(guest::Channel& ch, ModuleObject& m, CUdeviceptr* dptr, size_t* bytes, const char* name,
                   bool managed) {
  if (name == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const size_t length = strnlen(name, vgpu::limits::kMaxSymbolName + 1);
  if (length == 0 || length > vgpu::limits::kMaxSymbolName) return CUDA_ERROR_INVALID_VALUE;
  guest::Channel::set_thread_device(m.device);
  const proto::ModuleSymbolRequest request{m.wire, static_cast<uint32_t>(length)};
  proto::ModuleGetGlobalReply reply{};
  const guest::CallResult r =
      ch.call(managed ? proto::CallId::ModuleGetManaged : proto::CallId::ModuleGetGlobal,
              {{&request, sizeof request}, {name, request.name_length}},
              std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
  if (r.status != 0) return to_cu_result(r.status);
  note_global(reply.device_ptr, reply.size, m.device, current_context());
  if (managed)
    if (CUresult mr = mirror_managed_variable(&m, reply.device_ptr, reply.size, m.device); mr != CUDA_SUCCESS) return mr;
  if (dptr != nullptr) *dptr = reply.device_ptr;
  if (bytes != nullptr) *bytes = reply.size;
  return CUDA_SUCCESS;
}

CUresult function_attribute(int* value, CUfunction_attribute attribute, CUfunction handle, uint32_t device) {
  if (value == nullptr) return CUDA_ERROR_INVALID_VALUE;
  guest::Channel* ch = channel();
  if (ch == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
  FunctionObject* f = nullptr;
  if (CUresult r = function_on(*ch, handle, device, &f); r != CUDA_SUCCESS) return r;
  std::lock_guard lock(f->attributes_mutex);
  if (f->attributes == nullptr) {
    // One round trip per function: cudaFuncGetAttributes alone asks for 16 attributes.
    guest::Channel::set_thread_device(f->device);
    const proto::FunctionRequest request{f->wire, 0};
    auto reply = std::make_unique<proto::FuncGetAttributesReply>();
    const guest::CallResult r = ch->call(proto::CallId::FuncGetAttributes, {{&request, sizeof request}},
                                         std::span(reinterpret_cast<uint8_t*>(reply.get()), sizeof *reply));
    if (r.status != 0) return to_cu_result(r.status);
    constexpr uint32_t kFixedPart = offsetof(proto::FuncGetAttributesReply, values);
    if (r.payload_size < kFixedPart) return CUDA_ERROR_UNKNOWN;
    // Only values that arrived count, whatever the count claims.
    reply->count = std::min({reply->count, (r.payload_size - kFixedPart) / uint32_t{sizeof(int32_t)},
                             uint32_t{vgpu::limits::kMaxFunctionAttributes}});
    f->attributes = std::move(reply);
    // The launch check's dynamic shared memory limit is in the same reply: spare it the ask.
    f->max_dynamic_shared.learn(shared_limit_from(*f->attributes));
    char values[vgpu::limits::kMaxFunctionAttributes * 12 + 1] = {};  // once per function
    size_t at = 0;
    for (uint32_t i = 0; i < f->attributes->count && at < sizeof values; ++i)
      at += static_cast<size_t>(std::snprintf(values + at, sizeof values - at, " %d", f->attributes->values[i]));
    guest::log(guest::LogLevel::Debug, "function %s attributes:%s", f->name.c_str(), values);
  }
  if (attribute < 0 || static_cast<uint32_t>(attribute) >= f->attributes->count) return CUDA_ERROR_INVALID_VALUE;
  *value = f->attributes->values[attribute];
  return CUDA_SUCCESS;
}

CUresult set_function_attribute(CUfunction handle, CUfunction_attribute attribute, int value, uint32_t device) {
  guest::Channel* ch = channel();
  if (ch == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
  FunctionObject* f = nullptr;
  if (CUresult r = function_on(*ch, handle, device, &f); r != CUDA_SUCCESS) return r;
  guest::Channel::set_thread_device(f->device);
  const proto::FuncSetAttributeRequest request{f->wire, static_cast<int32_t>(attribute), value, 0};
  const CUresult r = to_cu_result(ch->call(proto::CallId::FuncSetAttribute, {{&request, sizeof request}}, {}).status);
  if (r != CUDA_SUCCESS) return r;
  if (attribute == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES) f->max_dynamic_shared.set(value);
  std::lock_guard lock(f->attributes_mutex);
  if (f->attributes != nullptr && attribute >= 0 && static_cast<uint32_t>(attribute) < f->attributes->count)
    f->attributes->values[attribute] = value;
  return r;
}

// The library's module on the calling thread's device, loaded there on first use.
CUresult current_library_module(CUlibrary library, guest::Channel** ch, ModuleObject** out) {
  Context* c = nullptr;
  if (CUresult r = enter_context(ch, &c); r != CUDA_SUCCESS) return r;
  LibraryObject* lib = object_of<LibraryObject>(library, HandleKind::Library);
  if (lib == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  return library_module(**ch, *lib, c->device, out);
}

// cuLibraryGetManaged needs no context: NVIDIA's static runtime asks for its __managed__
// variables before it makes one. Without one, the variable is that of the library's module on
// device 0, the runtime's default device, whose primary context later finds the same module.
CUresult managed_library_module(CUlibrary library, guest::Channel** ch, ModuleObject** out) {
  if (current_context() != nullptr) return current_library_module(library, ch, out);
  *ch = channel();
  if (*ch == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
  LibraryObject* lib = object_of<LibraryObject>(library, HandleKind::Library);
  if (lib == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  guest::Channel::set_thread_device(0);
  return library_module(**ch, *lib, 0, out);
}

uint32_t current_device_or_zero() {
  Context* c = current_context();
  return c == nullptr ? 0 : c->device;
}

}  // namespace

VGPU_DRIVER_API CUresult cuModuleLoadData(CUmodule* module, const void* image) {
  return guarded([&] { return load_data(module, image); });
}
VGPU_DRIVER_API CUresult cuModuleLoadDataEx(CUmodule* module, const void* image, unsigned int count,
                                            CUjit_option* options, void** values) {
  // JIT options tune the host's PTX compilation (optimization level, ...); the image is
  // compiled with the driver's defaults. The logs: empty after a load, and after a PTX text
  // that failed, what the host's JIT said of it.
  return guarded([&] {
    const CUresult r = load_data(module, image);
    std::string error;
    const auto extent = r != CUDA_SUCCESS && image != nullptr ? module_image_extent(image) : std::nullopt;
    if (extent && is_text_image(image) && wants_error_log(count, options, values))
      if (guest::Channel* ch = channel()) error = ptx_error_log(*ch, extent->data, extent->size);
    answer_jit_options(count, options, values, {}, error);
    return r;
  });
}
VGPU_DRIVER_API CUresult cuModuleLoadFatBinary(CUmodule* module, const void* fat_cubin) {
  return guarded([&] { return load_data(module, fat_cubin); });
}
VGPU_DRIVER_API CUresult cuModuleLoad(CUmodule* module, const char* path) {
  if (path == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    std::ifstream file(path, std::ios::binary);
    if (!file) return CUDA_ERROR_FILE_NOT_FOUND;
    std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    bytes.push_back('\0');  // a PTX file has no NUL of its own
    return load_data(module, bytes.data());
  });
}

VGPU_DRIVER_API CUresult cuModuleUnload(CUmodule module) {
  return guarded([&] {
    ModuleObject* m = object_of<ModuleObject>(module, HandleKind::Module);
    if (m == nullptr || m->library != nullptr) return CUDA_ERROR_INVALID_HANDLE;
    return unload(m);
  });
}

VGPU_DRIVER_API CUresult cuModuleGetFunction(CUfunction* out, CUmodule module, const char* name) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = channel();
    if (ch == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
    ModuleObject* m = object_of<ModuleObject>(module, HandleKind::Module);
    if (m == nullptr) return CUDA_ERROR_INVALID_HANDLE;
    FunctionObject* f = nullptr;
    if (CUresult r = get_function(*ch, *m, name, &f); r != CUDA_SUCCESS) return r;
    *out = reinterpret_cast<CUfunction>(f);
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuModuleGetGlobal_v2(CUdeviceptr* dptr, size_t* bytes, CUmodule module, const char* name) {
  return guarded([&] {
    guest::Channel* ch = channel();
    if (ch == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
    ModuleObject* m = object_of<ModuleObject>(module, HandleKind::Module);
    if (m == nullptr) return CUDA_ERROR_INVALID_HANDLE;
    return symbol_of(*ch, *m, dptr, bytes, name, false);
  });
}

VGPU_DRIVER_API CUresult cuModuleGetLoadingMode(CUmoduleLoadingMode* mode) {
  if (mode == nullptr) return CUDA_ERROR_INVALID_VALUE;
  // Lazy: a runtime then loads a program's kernels when first launched, so images the program
  // never uses never travel to vgpud.
  *mode = CU_MODULE_LAZY_LOADING;
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuLibraryLoadData(CUlibrary* library, const void* code, CUjit_option* jit_options,
                                           void** jit_values, unsigned int jit_count, CUlibraryOption* options,
                                           void** values, unsigned int option_count) {
  if (library == nullptr || code == nullptr) return CUDA_ERROR_INVALID_VALUE;
  answer_jit_options(jit_count, jit_options, jit_values, {}, {});  // it loads lazily: nothing to say yet
  return guarded([&] {
    const auto extent = module_image_extent(code);
    if (!extent) return CUDA_ERROR_INVALID_IMAGE;
    bool preserved = false;
    for (unsigned i = 0; i < option_count && options != nullptr && values != nullptr; ++i)
      if (options[i] == CU_LIBRARY_BINARY_IS_PRESERVED && values[i] != nullptr) preserved = true;
    auto lib = std::make_unique<LibraryObject>();
    if (preserved) {
      lib->extent = *extent;
    } else {
      const auto* bytes = static_cast<const uint8_t*>(extent->data);
      lib->copy.assign(bytes, bytes + extent->size);
      lib->extent = ImageExtent{lib->copy.data(), lib->copy.size()};
    }
    *library = reinterpret_cast<CUlibrary>(lib.release());
    return CUDA_SUCCESS;
  });
}

// The file's bytes are read here and kept by the library, so the program cannot promise to keep
// them (CU_LIBRARY_BINARY_IS_PRESERVED is refused, as the driver refuses it for a file).
VGPU_DRIVER_API CUresult cuLibraryLoadFromFile(CUlibrary* library, const char* path, CUjit_option* jit_options,
                                               void** jit_values, unsigned int jit_count, CUlibraryOption* options,
                                               void** /*values*/, unsigned int option_count) {
  if (library == nullptr || path == nullptr) return CUDA_ERROR_INVALID_VALUE;
  for (unsigned i = 0; i < option_count && options != nullptr; ++i)
    if (options[i] == CU_LIBRARY_BINARY_IS_PRESERVED) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    std::ifstream file(path, std::ios::binary);
    if (!file) return CUDA_ERROR_FILE_NOT_FOUND;
    std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    bytes.push_back('\0');  // a PTX file has no NUL of its own
    return cuLibraryLoadData(library, bytes.data(), jit_options, jit_values, jit_count, nullptr, nullptr, 0);
  });
}

VGPU_DRIVER_API CUresult cuLibraryUnload(CUlibrary library) {
  return guarded([&] {
    LibraryObject* lib = object_of<LibraryObject>(library, HandleKind::Library);
    if (lib == nullptr) return CUDA_ERROR_INVALID_HANDLE;
    CUresult result = CUDA_SUCCESS;
    for (ModuleObject* m : lib->modules)
      if (m != nullptr && channel() != nullptr) {
        const CUresult r = unload(m);
        if (result == CUDA_SUCCESS) result = r;
      }
    lib->kind = HandleKind::Dead;
    for (auto& k : lib->kernels) k->kind = HandleKind::Dead;
    delete lib;  // its kernels' handles die with it, as the driver's do
    return result;
  });
}

VGPU_DRIVER_API CUresult cuLibraryGetKernel(CUkernel* out, CUlibrary library, const char* name) {
  if (out == nullptr || name == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    LibraryObject* lib = object_of<LibraryObject>(library, HandleKind::Library);
    if (lib == nullptr) return CUDA_ERROR_INVALID_HANDLE;
    {
      // One handle per name, as the driver answers the same kernel twice.
      std::lock_guard lock(lib->mutex);
      for (auto& known : lib->kernels)
        if (known->name == name) {
          *out = reinterpret_cast<CUkernel>(known.get());
          return CUDA_SUCCESS;
        }
    }
    auto k = std::make_unique<KernelObject>();
    k->library = lib;
    k->name = name;
    // With a context current, the name is checked now, as the driver checks it.
    if (guest::Channel* ch = channel(); ch != nullptr && current_context() != nullptr) {
      FunctionObject* f = nullptr;
      if (CUresult r = function_on(*ch, reinterpret_cast<CUfunction>(k.get()), current_context()->device, &f);
          r != CUDA_SUCCESS)
        return r;
    }
    *out = reinterpret_cast<CUkernel>(k.get());
    std::lock_guard lock(lib->mutex);
    lib->kernels.push_back(std::move(k));
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuLibraryGetModule(CUmodule* out, CUlibrary library) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    ModuleObject* m = nullptr;
    if (CUresult r = current_library_module(library, &ch, &m); r != CUDA_SUCCESS) return r;
    *out = reinterpret_cast<CUmodule>(m);
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuLibraryGetGlobal(CUdeviceptr* dptr, size_t* bytes, CUlibrary library, const char* name) {
  return guarded([&] {
    guest::Channel* ch = nullptr;
    ModuleObject* m = nullptr;
    if (CUresult r = current_library_module(library, &ch, &m); r != CUDA_SUCCESS) return r;
    return symbol_of(*ch, *m, dptr, bytes, name, false);
  });
}

VGPU_DRIVER_API CUresult cuLibraryGetManaged(CUdeviceptr* dptr, size_t* bytes, CUlibrary library, const char* name) {
  return guarded([&] {
    guest::Channel* ch = nullptr;
    ModuleObject* m = nullptr;
    if (CUresult r = managed_library_module(library, &ch, &m); r != CUDA_SUCCESS) return r;
    return symbol_of(*ch, *m, dptr, bytes, name, true);
  });
}

VGPU_DRIVER_API CUresult cuKernelGetFunction(CUfunction* out, CUkernel kernel) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    Context* c = nullptr;
    if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
    if (object_of<KernelObject>(kernel, HandleKind::Kernel) == nullptr) return CUDA_ERROR_INVALID_HANDLE;
    FunctionObject* f = nullptr;
    if (CUresult r = function_on(*ch, reinterpret_cast<CUfunction>(kernel), c->device, &f); r != CUDA_SUCCESS) return r;
    *out = reinterpret_cast<CUfunction>(f);
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuFuncGetAttribute(int* value, CUfunction_attribute attribute, CUfunction f) {
  return guarded([&] { return function_attribute(value, attribute, f, current_device_or_zero()); });
}
VGPU_DRIVER_API CUresult cuKernelGetAttribute(int* value, CUfunction_attribute attribute, CUkernel k, CUdevice dev) {
  return guarded([&] { return function_attribute(value, attribute, reinterpret_cast<CUfunction>(k), static_cast<uint32_t>(dev)); });
}
VGPU_DRIVER_API CUresult cuFuncSetAttribute(CUfunction f, CUfunction_attribute attribute, int value) {
  return guarded([&] { return set_function_attribute(f, attribute, value, current_device_or_zero()); });
}
VGPU_DRIVER_API CUresult cuKernelSetAttribute(CUfunction_attribute attribute, int value, CUkernel k, CUdevice dev) {
  return guarded([&] { return set_function_attribute(reinterpret_cast<CUfunction>(k), attribute, value, static_cast<uint32_t>(dev)); });
}
VGPU_DRIVER_API CUresult cuFuncSetCacheConfig(CUfunction f, CUfunc_cache) {
  // A preference the hardware may ignore; vgpud's driver keeps its default.
  return object_of<FunctionObject>(f, HandleKind::Function) || object_of<KernelObject>(f, HandleKind::Kernel)
             ? CUDA_SUCCESS
             : CUDA_ERROR_INVALID_HANDLE;
}

namespace {
CUresult param_info(CUfunction f, size_t index, size_t* offset, size_t* size) {
  return guarded([&] {
    guest::Channel* ch = channel();
    if (ch == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
    FunctionObject* fn = nullptr;
    if (CUresult r = function_on(*ch, f, current_device_or_zero(), &fn); r != CUDA_SUCCESS) return r;
    if (index >= fn->params.size()) return CUDA_ERROR_INVALID_VALUE;
    if (offset != nullptr) *offset = fn->params[index].offset;
    if (size != nullptr) *size = fn->params[index].size;
    return CUDA_SUCCESS;
  });
}
}  // namespace

VGPU_DRIVER_API CUresult cuFuncGetParamInfo(CUfunction f, size_t index, size_t* offset, size_t* size) {
  return param_info(f, index, offset, size);
}
// NVIDIA's static runtime answers cudaFuncGetParamInfo with this, on the kernel it got from
// cuLibraryGetKernel; the layout is its function's on the current device.
VGPU_DRIVER_API CUresult cuKernelGetParamInfo(CUkernel k, size_t index, size_t* offset, size_t* size) {
  if (object_of<KernelObject>(k, HandleKind::Kernel) == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  return param_info(reinterpret_cast<CUfunction>(k), index, offset, size);
}
