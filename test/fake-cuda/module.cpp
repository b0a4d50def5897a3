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
      {"fake_printf", Builtin::printf, {4}},
      // cudaGraphSetConditional(handle, value); and a countdown: --*counter (u32, while above
      // 0), then the handle set to whether it is still above 0 (graph_conditional.cpp).
      {"fake_set_conditional", Builtin::set_conditional, {8, 4}},
      {"fake_countdown", Builtin::countdown, {8, 8}},
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
    add_region(*l.ctx, base, Region{g.size, mod_handle, false, g.managed});
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

// Only what vgpud asks: whether a module global is a __managed__ variable.
FAKE_CUDA_API CUresult CUDAAPI cuPointerGetAttribute(void* data, CUpointer_attribute attribute, CUdeviceptr ptr) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (data == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (attribute != CU_POINTER_ATTRIBUTE_IS_MANAGED) return CUDA_ERROR_NOT_SUPPORTED;
  auto it = l.ctx->regions.upper_bound(ptr);
  if (it == l.ctx->regions.begin()) return CUDA_ERROR_INVALID_VALUE;
  --it;
  if (ptr - it->first >= it->second.size) return CUDA_ERROR_INVALID_VALUE;
  *static_cast<unsigned int*>(data) = it->second.managed ? 1 : 0;
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

namespace vgpu::fake {

int blocks_per_sm(int block_size, std::size_t smem) {
  if (block_size <= 0 || block_size > kMaxThreadsPerBlock || smem > static_cast<std::size_t>(kSharedPerBlockOptin))
    return 0;  // cannot run at all
  int blocks = kThreadsPerSm / block_size;
  if (blocks > kBlocksPerSm) blocks = kBlocksPerSm;
  const auto by_smem = static_cast<int>(static_cast<std::size_t>(kSharedPerSm) / (smem + kSharedReservedPerBlock));
  return blocks < by_smem ? blocks : by_smem;
}

CUresult read_launch_attributes(const CUlaunchConfig& config, LaunchAttributes& out) {
  out = LaunchAttributes{};
  if (config.numAttrs > 0 && config.attrs == nullptr) return CUDA_ERROR_INVALID_VALUE;
  for (unsigned i = 0; i < config.numAttrs; ++i) {
    const CUlaunchAttribute& a = config.attrs[i];
    switch (raw_enum(&a.id)) {
      case CU_LAUNCH_ATTRIBUTE_IGNORE:
        break;
      case CU_LAUNCH_ATTRIBUTE_COOPERATIVE:
        out.cooperative = a.value.cooperative != 0;
        break;
      case CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION:
        if (a.value.clusterDim.x == 0 || a.value.clusterDim.y == 0 || a.value.clusterDim.z == 0)
          return CUDA_ERROR_INVALID_VALUE;
        out.cluster = true;
        out.cluster_dim[0] = a.value.clusterDim.x;
        out.cluster_dim[1] = a.value.clusterDim.y;
        out.cluster_dim[2] = a.value.clusterDim.z;
        break;
      case CU_LAUNCH_ATTRIBUTE_PRIORITY:
        out.priority = a.value.priority;
        break;
      case CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION:
        out.programmatic = a.value.programmaticStreamSerializationAllowed != 0;
        break;
      default:
        return CUDA_ERROR_NOT_SUPPORTED;
    }
  }
  return CUDA_SUCCESS;
}

CUresult launch_cluster(const Function& f, const LaunchAttributes& attrs, unsigned dims[3], bool* any) {
  const int required[3] = {f.settable[CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_WIDTH],
                           f.settable[CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_HEIGHT],
                           f.settable[CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_DEPTH]};
  const bool has_required = required[0] != 0 || required[1] != 0 || required[2] != 0;
  *any = attrs.cluster || has_required;
  for (int i = 0; i < 3; ++i) {
    dims[i] = attrs.cluster ? attrs.cluster_dim[i] : has_required ? static_cast<unsigned>(required[i] ? required[i] : 1) : 1;
    if (attrs.cluster && has_required && dims[i] != static_cast<unsigned>(required[i] ? required[i] : 1))
      return CUDA_ERROR_INVALID_CLUSTER_SIZE;
  }
  const std::uint64_t size = std::uint64_t{dims[0]} * dims[1] * dims[2];
  const int max = f.settable[CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED] ? kMaxNonPortableClusterSize
                                                                                   : kMaxPortableClusterSize;
  return size > static_cast<std::uint64_t>(max) ? CUDA_ERROR_INVALID_CLUSTER_SIZE : CUDA_SUCCESS;
}

}  // namespace vgpu::fake

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
  *numBlocks = blocks_per_sm(blockSize, dynamicSMemSize);
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuOccupancyAvailableDynamicSMemPerBlock(size_t* dynamicSmemSize, CUfunction func,
                                                                       int numBlocks, int blockSize) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (dynamicSmemSize == nullptr || numBlocks <= 0 || blockSize <= 0) return CUDA_ERROR_INVALID_VALUE;
  if (find_function(*l.ctx, func) == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  // So many blocks of this size do not fit on an SM whatever their shared memory: none.
  if (numBlocks > blocks_per_sm(blockSize, 0)) {
    *dynamicSmemSize = 0;
    return CUDA_SUCCESS;
  }
  std::size_t per_block = static_cast<std::size_t>(kSharedPerSm / numBlocks);
  per_block = per_block > kSharedReservedPerBlock ? per_block - kSharedReservedPerBlock : 0;
  if (per_block > static_cast<std::size_t>(kSharedPerBlockOptin)) per_block = kSharedPerBlockOptin;
  *dynamicSmemSize = per_block;
  return CUDA_SUCCESS;
}

namespace {

// What both cluster calculators check of the configuration: its blocks per SM (0 when a block
// cannot run), the cluster it asks for.
CUresult cluster_occupancy(Context& ctx, CUfunction func, const CUlaunchConfig* config, int* blocks,
                           unsigned dims[3], bool* any) {
  if (config == nullptr) return CUDA_ERROR_INVALID_VALUE;
  Function* f = find_function(ctx, func);
  if (f == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (!stream_ok(ctx, config->hStream)) return CUDA_ERROR_INVALID_HANDLE;
  if (config->gridDimX == 0 || config->gridDimY == 0 || config->gridDimZ == 0 || config->blockDimX == 0 ||
      config->blockDimY == 0 || config->blockDimZ == 0)
    return CUDA_ERROR_INVALID_VALUE;
  LaunchAttributes attrs;
  if (CUresult r = read_launch_attributes(*config, attrs); r != CUDA_SUCCESS) return r;
  if (CUresult r = launch_cluster(*f, attrs, dims, any); r != CUDA_SUCCESS) return r;
  const std::uint64_t threads = std::uint64_t{config->blockDimX} * config->blockDimY * config->blockDimZ;
  const bool fits = threads <= static_cast<std::uint64_t>(kMaxThreadsPerBlock) &&
                    config->sharedMemBytes <=
                        static_cast<unsigned>(f->settable[CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES]);
  *blocks = fits ? blocks_per_sm(static_cast<int>(threads), config->sharedMemBytes) : 0;
  return CUDA_SUCCESS;
}

}  // namespace

// The largest cluster the configuration could use: the function's required size, else the
// largest it may have (8, or 16 when non-portable sizes are allowed); 0 when a block cannot run.
FAKE_CUDA_API CUresult CUDAAPI cuOccupancyMaxPotentialClusterSize(int* clusterSize, CUfunction func,
                                                                  const CUlaunchConfig* config) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (clusterSize == nullptr) return CUDA_ERROR_INVALID_VALUE;
  int blocks = 0;
  unsigned dims[3];
  bool any = false;
  if (CUresult r = cluster_occupancy(*l.ctx, func, config, &blocks, dims, &any); r != CUDA_SUCCESS) return r;
  const Function& f = l->functions.at(func);
  const bool required = f.settable[CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_WIDTH] != 0 ||
                        f.settable[CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_HEIGHT] != 0 ||
                        f.settable[CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_DEPTH] != 0;
  int size = f.settable[CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED] ? kMaxNonPortableClusterSize
                                                                            : kMaxPortableClusterSize;
  if (required) size = static_cast<int>(dims[0] * dims[1] * dims[2]);
  if (blocks * kSmsPerGpc < size) size = blocks * kSmsPerGpc;
  *clusterSize = size;
  return CUDA_SUCCESS;
}

// Clusters of the configuration's size (or the function's required one; one must be given) that
// can run at once: each GPC of kSmsPerGpc SMs holds blocks-per-SM x kSmsPerGpc blocks.
FAKE_CUDA_API CUresult CUDAAPI cuOccupancyMaxActiveClusters(int* numClusters, CUfunction func,
                                                            const CUlaunchConfig* config) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (numClusters == nullptr) return CUDA_ERROR_INVALID_VALUE;
  int blocks = 0;
  unsigned dims[3];
  bool any = false;
  if (CUresult r = cluster_occupancy(*l.ctx, func, config, &blocks, dims, &any); r != CUDA_SUCCESS) return r;
  if (!any) return CUDA_ERROR_INVALID_CLUSTER_SIZE;
  const int size = static_cast<int>(dims[0] * dims[1] * dims[2]);
  *numClusters = (kSmCount / kSmsPerGpc) * (blocks * kSmsPerGpc / size);
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuModuleGetFunctionCount(unsigned int* count, CUmodule mod) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (count == nullptr) return CUDA_ERROR_INVALID_VALUE;
  Module* m = find_module(*l.ctx, mod);
  if (m == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  *count = static_cast<unsigned>(m->functions.size());
  return CUDA_SUCCESS;
}

// The module's kernels in the order of its image, at most numFunctions of them.
FAKE_CUDA_API CUresult CUDAAPI cuModuleEnumerateFunctions(CUfunction* functions, unsigned int numFunctions,
                                                          CUmodule mod) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (functions == nullptr && numFunctions != 0) return CUDA_ERROR_INVALID_VALUE;
  Module* m = find_module(*l.ctx, mod);
  if (m == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  for (std::size_t i = 0; i < m->functions.size() && i < numFunctions; ++i) functions[i] = m->functions[i];
  return CUDA_SUCCESS;
}

// The name as the image declares it; valid while the function's module is loaded.
FAKE_CUDA_API CUresult CUDAAPI cuFuncGetName(const char** name, CUfunction hfunc) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (name == nullptr) return CUDA_ERROR_INVALID_VALUE;
  Function* f = find_function(*l.ctx, hfunc);
  if (f == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  *name = f->name.c_str();
  return CUDA_SUCCESS;
}
