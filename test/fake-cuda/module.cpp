// fake-cuda (test double, never ships): modules from the fake image format, functions, their
// parameter layout and attributes, globals and occupancy.
#include "internal.h"

#include <cctype>
#include <string_view>

#include "image.h"

using namespace vgpu::fake;

namespace {

// The kernel's name without Itanium mangling ("_Z15fake_vector_addPKfS0_Pfi" ->
// "fake_vector_add"), so C++ kernels pick up the built-in behaviours too.
std::string_view base_name(std::string_view name) {
  if (name.size() < 3 || name.substr(0, 2) != "_Z") return name;
  std::size_t i = 2;
  std::size_t len = 0;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) {
    len = len * 10 + static_cast<std::size_t>(name[i] - '0');
    if (len > name.size()) return name;
    ++i;
  }
  if (i == 2 || len > name.size() - i) return name;
  return name.substr(i, len);
}

struct BuiltinSpec {
  std::string_view name;
  Builtin kind;
  std::vector<std::size_t> sizes;
};

const std::vector<BuiltinSpec>& builtins() {
  static const std::vector<BuiltinSpec> specs = {
      {"fake_vector_add", Builtin::vector_add, {8, 8, 8, 4}},
      {"fake_fill_u32", Builtin::fill_u32, {8, 4, 8}},
      {"fake_fault", Builtin::fault, {}},
      {"fake_sleep_ms", Builtin::sleep_ms, {4}},
  };
  return specs;
}

// Resolves the built-in behaviour; false when a built-in name is declared with the wrong
// parameter sizes (the image is then invalid, which catches mistakes in tests early).
bool resolve_builtin(const ImageKernel& k, Builtin& out) {
  out = Builtin::none;
  std::string_view base = base_name(k.name);
  for (const auto& spec : builtins()) {
    if (spec.name != base) continue;
    if (spec.sizes.size() != k.params.size()) return false;
    for (std::size_t i = 0; i < spec.sizes.size(); ++i) {
      if (spec.sizes[i] != k.params[i].size) return false;
    }
    out = spec.kind;
  }
  return true;
}

Function* find_function(Context& ctx, CUfunction f) {
  auto it = ctx.functions.find(f);
  return it == ctx.functions.end() ? nullptr : &it->second;
}

Module* find_module(Context& ctx, CUmodule m) {
  auto it = ctx.modules.find(m);
  return it == ctx.modules.end() ? nullptr : &it->second;
}

}  // namespace

FAKE_CUDA_API CUresult CUDAAPI cuModuleLoadData(CUmodule* module, const void* image) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (module == nullptr || image == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const char* text = static_cast<const char*>(image);
  if (!image_has_magic(text)) {
    verbose("cuModuleLoadData: not a FAKECUBIN image (a real fat binary cannot run here)");
    return CUDA_ERROR_INVALID_IMAGE;
  }
  std::string error;
  auto parsed = parse_image(std::string_view(text), &error);
  if (!parsed) {
    verbose("cuModuleLoadData: invalid image: %s", error.c_str());
    return CUDA_ERROR_INVALID_IMAGE;
  }
  std::vector<Builtin> kinds;
  for (const auto& k : parsed->kernels) {
    Builtin kind;
    if (!resolve_builtin(k, kind)) {
      verbose("cuModuleLoadData: built-in kernel %s declared with the wrong parameter sizes", k.name.c_str());
      return CUDA_ERROR_INVALID_IMAGE;
    }
    kinds.push_back(kind);
  }

  const auto mod_handle = new_handle<CUmodule>();
  Module mod;
  for (const auto& g : parsed->globals) {
    // Globals come out of the device's memory, as on a real GPU.
    const bool reserved = reserve_device_memory(l->device, g.size);
    void* p = reserved ? device_alloc(g.size) : nullptr;
    if (p == nullptr) {
      if (reserved) release_device_memory(l->device, g.size);
      for (auto& [name, global] : mod.globals) {
        release_device_memory(l->device, global.second);
        drop_region(*l.ctx, global.first);
      }
      return CUDA_ERROR_OUT_OF_MEMORY;
    }
    std::memset(p, 0, g.size);
    const auto base = reinterpret_cast<CUdeviceptr>(p);
    add_region(*l.ctx, base, Region{g.size, mod_handle});
    mod.globals.emplace(g.name, std::make_pair(base, g.size));
  }
  for (std::size_t i = 0; i < parsed->kernels.size(); ++i) {
    const auto& k = parsed->kernels[i];
    Function f;
    f.name = k.name;
    f.module = mod_handle;
    for (const auto& p : k.params) f.params.push_back(ParamLayout{p.offset, p.size});
    f.param_bytes = k.param_bytes;
    f.builtin = kinds[i];
    f.settable[CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES] = kSharedPerBlock;
    f.settable[CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT] = -1;
    const auto fh = new_handle<CUfunction>();
    mod.functions.push_back(fh);
    mod.function_by_name.emplace(k.name, fh);
    l->functions.emplace(fh, std::move(f));
  }
  l->modules.emplace(mod_handle, std::move(mod));
  *module = mod_handle;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuModuleUnload(CUmodule hmod) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (!find_module(*l.ctx, hmod)) return CUDA_ERROR_INVALID_HANDLE;
  release_module(*l.ctx, hmod);
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuModuleGetFunction(CUfunction* hfunc, CUmodule hmod, const char* name) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (hfunc == nullptr || name == nullptr) return CUDA_ERROR_INVALID_VALUE;
  Module* mod = find_module(*l.ctx, hmod);
  if (mod == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  auto it = mod->function_by_name.find(std::string_view(name));
  if (it == mod->function_by_name.end()) return CUDA_ERROR_NOT_FOUND;
  *hfunc = it->second;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuModuleGetGlobal_v2(CUdeviceptr* dptr, size_t* bytes, CUmodule hmod,
                                                    const char* name) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (name == nullptr) return CUDA_ERROR_INVALID_VALUE;
  Module* mod = find_module(*l.ctx, hmod);
  if (mod == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  auto it = mod->globals.find(std::string_view(name));
  if (it == mod->globals.end()) return CUDA_ERROR_NOT_FOUND;
  if (dptr) *dptr = it->second.first;
  if (bytes) *bytes = it->second.second;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuFuncGetParamInfo(CUfunction func, size_t paramIndex, size_t* paramOffset,
                                                  size_t* paramSize) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  Function* f = find_function(*l.ctx, func);
  if (f == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (paramIndex >= f->params.size()) return CUDA_ERROR_INVALID_VALUE;
  if (paramOffset) *paramOffset = f->params[paramIndex].offset;
  if (paramSize) *paramSize = f->params[paramIndex].size;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuFuncGetAttribute(int* pi, CUfunction_attribute attrib, CUfunction hfunc) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  const int a = raw_enum(&attrib);
  if (pi == nullptr || a < 0 || a >= static_cast<int>(CU_FUNC_ATTRIBUTE_MAX)) return CUDA_ERROR_INVALID_VALUE;
  Function* f = find_function(*l.ctx, hfunc);
  if (f == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  switch (a) {
    case CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *pi = kMaxThreadsPerBlock; break;
    case CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES: *pi = 0; break;
    case CU_FUNC_ATTRIBUTE_CONST_SIZE_BYTES: *pi = 0; break;
    case CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES: *pi = 0; break;
    case CU_FUNC_ATTRIBUTE_NUM_REGS: *pi = 32; break;
    case CU_FUNC_ATTRIBUTE_PTX_VERSION: *pi = 90; break;
    case CU_FUNC_ATTRIBUTE_BINARY_VERSION: *pi = 90; break;
    case CU_FUNC_ATTRIBUTE_CACHE_MODE_CA: *pi = 0; break;
    case CU_FUNC_ATTRIBUTE_CLUSTER_SIZE_MUST_BE_SET: *pi = 0; break;
    default: *pi = f->settable[static_cast<std::size_t>(a)]; break;
  }
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuFuncSetAttribute(CUfunction hfunc, CUfunction_attribute attrib, int value) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  const int a = raw_enum(&attrib);
  Function* f = find_function(*l.ctx, hfunc);
  if (f == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  bool ok = false;
  switch (a) {
    case CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES: ok = value >= 0 && value <= kSharedPerBlockOptin; break;
    case CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT: ok = value >= -1 && value <= 100; break;
    case CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_WIDTH:
    case CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_HEIGHT:
    case CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_DEPTH: ok = value >= 0 && value <= 16; break;
    case CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED: ok = value == 0 || value == 1; break;
    case CU_FUNC_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE: ok = value >= 0 && value <= 2; break;
    default: ok = false; break;  // read-only or unknown
  }
  if (!ok) return CUDA_ERROR_INVALID_VALUE;
  f->settable[static_cast<std::size_t>(a)] = value;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int* numBlocks, CUfunction func,
                                                                                    int blockSize,
                                                                                    size_t dynamicSMemSize,
                                                                                    unsigned int flags) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (numBlocks == nullptr || blockSize <= 0 || (flags & ~unsigned{CU_OCCUPANCY_DISABLE_CACHING_OVERRIDE}) != 0) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (find_function(*l.ctx, func) == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (blockSize > kMaxThreadsPerBlock || dynamicSMemSize > static_cast<std::size_t>(kSharedPerBlockOptin)) {
    *numBlocks = 0;  // cannot run at all
    return CUDA_SUCCESS;
  }
  const int by_threads = 2048 / blockSize;
  *numBlocks = by_threads < 32 ? by_threads : 32;
  return CUDA_SUCCESS;
}
