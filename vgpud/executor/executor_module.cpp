// Handlers for modules, functions and launches (docs/design.md §13): the image arrives in pieces
// through the upload ring, or from the tenant's module cache when the guest's digest names one
// it holds (module_cache.h); the host reports each kernel's parameter layout from
// cuFuncGetParamInfo, and launches carry parameters packed by that layout.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <span>
#include <tuple>
#include <utility>

#include "vgpu/common/corpus_recorder.h"
#include "vgpu/common/sha256.h"
#include "vgpu/protocol/limits.h"
#include "vgpud/executor/call_checks.h"
#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/reply_payload.h"
#include "vgpud/executor/kernel_args.h"
#include "vgpud/executor/module_image.h"
#include "vgpud/log/channel_log.h"
#include "vgpud/log/guest_text.h"
#include "vgpud/log/log.h"

namespace vgpud {

int32_t ChannelExecutor::handle(const BlobAppendCmd& cmd, Reply&) {
  if (!upload_holds(cmd.size, "module chunk")) return static_cast<int32_t>(proto::Status::ChannelBroken);
  if (!image_upload_.append(upload_ring_, cmd.size)) return limit_exceeded();
  return 0;
}

int32_t ChannelExecutor::handle(const ModuleLoadCmd& cmd, Reply& reply) {
  // The image's host memory stays charged until it is freed, on every way out of here.
  UploadedImage uploaded = image_upload_.take();
  if (int32_t st = load_image(uploaded, cmd.size, reply)) return st;
  // Filed under the digest of the bytes vgpud received, whatever the guest may claim later: a
  // tenant's process can only ever be given back an image one of its processes sent. Only
  // images the driver took are kept.
  ModuleCache* cache = setup_.module_cache;
  if (cache != nullptr && cache->could_hold(cmd.size)) {
    const std::span<const uint8_t> received(uploaded.bytes().data(), cmd.size);  // without an added NUL
    cache->insert(vgpu::Sha256::of(received), received);
  }
  return 0;
}

static_assert(vgpu::proto::kStatusNotCached == CUDA_ERROR_NOT_FOUND);

int32_t ChannelExecutor::handle(const ModuleLoadCachedCmd& cmd, Reply& reply) {
  ModuleCache* cache = setup_.module_cache;
  if (cache == nullptr) {
    if (setup_.module_cache_counters != nullptr) ModuleCacheCounters::bump(setup_.module_cache_counters->misses);
    return proto::kStatusNotCached;
  }
  // The copy is held like an upload: charged to limits.module_image_memory before it is
  // allocated (with room for a text image's NUL), and given back when it dies.
  const uint64_t capacity = cmd.size + 1;
  if (!TenantBudget(setup_.image_memory).reserve(capacity)) return limit_exceeded();
  std::vector<uint8_t> bytes;
  bytes.reserve(capacity);  // address space only until the copy touches it
  UploadedImage image(std::move(bytes), setup_.image_memory, capacity);
  vgpu::Sha256Digest digest;
  static_assert(sizeof cmd.digest == std::tuple_size_v<vgpu::Sha256Digest>);
  std::memcpy(digest.data(), cmd.digest, digest.size());
  switch (cache->copy_out(digest, cmd.size, image.bytes())) {
    case ModuleCache::Found::Yes:
      return load_image(image, cmd.size, reply);
    case ModuleCache::Found::No:
      return proto::kStatusNotCached;  // the guest uploads it (docs/protocol.md §5)
    case ModuleCache::Found::OtherSize:
      break;
  }
  // Only a guest that does not hash what it sends gets here.
  HopCounters::bump(setup_.counters->rejected);
  return CUDA_ERROR_INVALID_VALUE;
}

int32_t ChannelExecutor::load_image(UploadedImage& uploaded, uint64_t size, Reply& reply) {
  std::vector<uint8_t>& image = uploaded.bytes();
  if (int32_t st = require_context()) return st;
  if (image.size() != size) return CUDA_ERROR_INVALID_VALUE;
  if (objects_.modules.full()) return limit_exceeded();
  // cuModuleLoadData is given a bare pointer and takes the image's extent from the image
  // itself (a fat binary's header, an ELF's tables, a text's NUL): every size in it must lie
  // inside what the guest uploaded (module_image.h).
  vgpu::corpus::record("module_image", image);
  const auto checked = check_module_image(image);
  if (!checked) {
    HopCounters::bump(setup_.counters->rejected);
    log::guest_warn(log::executor(), "vm={} seq={} module image of {} bytes rejected: {}", setup_.name,
                    trace_.seq(), image.size(), module_image_error_message(checked.error()));
    return CUDA_ERROR_INVALID_IMAGE;
  }
  // A text image (PTX) is read up to its NUL; one is added when the guest sent none, charged
  // to the budget like the image.
  if (*checked == ModuleImageKind::Text && !uploaded.terminate_text()) {
    return limit_exceeded();  // not even its NUL fits the budget
  }
  // What the load makes the GPU hold (code, and `__device__` variables, which can be far
  // larger than the image) is read off the driver's own count for this process, and taken
  // from the tenant's budget like an allocation (host_nvml.h).
  const std::optional<uint64_t> before = held_on_current_device();
  CUmodule module = nullptr;
  const CUresult r = traced("cuModuleLoadData", cu_.cuModuleLoadData(&module, image.data()),
                            fmt::format("bytes={}", size));
  if (r != CUDA_SUCCESS) return r;
  uint64_t footprint = 0;
  if (host_nvml() != nullptr) {
    const std::optional<uint64_t> after = held_on_current_device();
    const bool measured = before.has_value() && after.has_value();
    if (measured && *after > *before) footprint = *after - *before;
    // A load that cannot be measured is refused under a limit, and loaded uncounted without.
    const bool fits = measured ? device_budget().reserve(footprint) : setup_.device_memory.limit == 0;
    if (!fits) {
      traced("cuModuleUnload", cu_.cuModuleUnload(module));
      HopCounters::bump(setup_.counters->rejected);
      log::guest_warn(log::executor(), "vm={} seq={} module refused: {}", setup_.name, trace_.seq(),
                           measured ? fmt::format("it takes {} bytes of GPU memory, beyond limits.device_memory", footprint)
                                    : std::string("the GPU memory it takes could not be read (NVML)"));
      return CUDA_ERROR_OUT_OF_MEMORY;
    }
  }
  const uint32_t id = objects_.modules.insert(Module{module, contexts_.current(), {}, footprint});
  put(reply.payload, proto::ModuleLoadReply{id, 0});
  return 0;
}

const HostNvml* ChannelExecutor::host_nvml() {
  if (!std::exchange(host_nvml_tried_, true)) {
    auto nvml = HostNvml::open(setup_.driver_path, cu_, setup_.devices);
    if (nvml)
      host_nvml_.emplace(std::move(nvml).value());
    else if (setup_.device_memory.limit != 0)
      log::executor().warn("vm={} {}: GPU memory taken by modules is not counted against limits.device_memory",
                           setup_.name, nvml.error());
  }
  return host_nvml_ ? &*host_nvml_ : nullptr;
}

std::optional<uint64_t> ChannelExecutor::held_on_current_device() {
  const HostNvml* nvml = host_nvml();
  if (nvml == nullptr) return std::nullopt;
  return nvml->bytes_on(contexts_.current());
}

int32_t ChannelExecutor::handle(const ModuleUnloadCmd& cmd, Reply&) {
  Module* m = objects_.modules.find(cmd.module);
  if (m == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (int32_t st = require_context()) return st;
  const CUresult r = contexts_.in_context_of(
      m->device, [&] { return traced("cuModuleUnload", cu_.cuModuleUnload(m->handle)); });
  // Its functions and globals die with it; their ids and ranges simply stop resolving.
  device_budget().release(objects_.forget_module(cmd.module));
  return r;
}

int32_t ChannelExecutor::handle(const ModuleGetFunctionCmd& cmd, Reply& reply) {
  Module* m = objects_.modules.find(cmd.module);
  if (m == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (int32_t st = require_context()) return st;
  if (objects_.functions.full()) return limit_exceeded();
  CUfunction fn = nullptr;
  CUresult r = traced("cuModuleGetFunction", cu_.cuModuleGetFunction(&fn, m->handle, cmd.name.c_str()),
                      log::guest_text(cmd.name, 256));
  if (r != CUDA_SUCCESS) return r;

  Function f{fn, m->handle, m->device, {}, 0};
  for (size_t i = 0; i < vgpu::limits::kMaxKernelParams; ++i) {
    size_t offset = 0, size = 0;
    // The driver answers INVALID_VALUE past the last parameter.
    if (cu_.cuFuncGetParamInfo(fn, i, &offset, &size) != CUDA_SUCCESS) break;
    if (offset + size > vgpu::limits::kMaxKernelParamBytes) return CUDA_ERROR_INVALID_VALUE;
    f.params.push_back({static_cast<uint32_t>(offset), static_cast<uint32_t>(size)});
    f.buffer_size = std::max<uint32_t>(f.buffer_size, static_cast<uint32_t>(offset + size));
  }
  const proto::ModuleGetFunctionReply head{0, static_cast<uint32_t>(f.params.size()), f.buffer_size,
                                           0};
  std::vector<proto::KernelParamInfo> params = f.params;
  const uint32_t id = objects_.functions.insert(std::move(f));
  proto::ModuleGetFunctionReply out = head;
  out.function = id;
  put(reply.payload, out);
  for (const auto& p : params) put(reply.payload, p);
  return 0;
}

int32_t ChannelExecutor::module_global(uint32_t id, const std::string& name, bool managed, Reply& reply) {
  Module* m = objects_.modules.find(id);
  if (m == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (int32_t st = require_context()) return st;
  CUdeviceptr ptr = 0;
  size_t size = 0;
  const CUresult r =
      traced("cuModuleGetGlobal", cu_.cuModuleGetGlobal(&ptr, &size, m->handle, name.c_str()), log::guest_text(name, 256));
  if (r != CUDA_SUCCESS) return r;
  if (managed) {
    // cuLibraryGetManaged answers only for __managed__ variables, which the driver placed in
    // managed memory when it loaded the module.
    unsigned int is_managed = 0;
    if (cu_.cuPointerGetAttribute(&is_managed, CU_POINTER_ATTRIBUTE_IS_MANAGED, ptr) != CUDA_SUCCESS || is_managed == 0)
      return CUDA_ERROR_NOT_FOUND;
  }
  if (!objects_.memory.contains(ptr, size)) {
    objects_.memory.add(ptr, size, DeviceMemoryMap::Kind::ModuleGlobal, m->device);
    m->globals.push_back(ptr);
  }
  put(reply.payload, proto::ModuleGetGlobalReply{ptr, size});
  return 0;
}

int32_t ChannelExecutor::handle(const ModuleGetGlobalCmd& cmd, Reply& reply) {
  return module_global(cmd.module, cmd.name, false, reply);
}

int32_t ChannelExecutor::handle(const ModuleGetManagedCmd& cmd, Reply& reply) {
  return module_global(cmd.module, cmd.name, true, reply);
}

int32_t ChannelExecutor::prepare_launch(uint32_t function, uint64_t stream_id, const std::vector<uint8_t>& params,
                                        PreparedLaunch* out) {
  out->function = objects_.functions.find(function);
  if (out->function == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (int32_t st = require_context()) return st;
  if (!objects_.resolve_stream(stream_id, &out->stream)) return CUDA_ERROR_INVALID_HANDLE;
  const Function& f = *out->function;
#ifdef VGPU_CORPUS_RECORDER  // the encoding costs a copy per launch: recorder builds only
  vgpu::corpus::record("launch_params", encode_launch_params(f.params, f.buffer_size, params));
#endif
  // Parameter pointers into the packed buffer, at the offsets the driver reported.
  const auto built = build_kernel_args(f.params, f.buffer_size, params, out->args);
  if (!built) return CUDA_ERROR_INVALID_VALUE;
  out->kernel_params = *built == 0 ? nullptr : out->args;
  return 0;
}

int32_t ChannelExecutor::handle(const LaunchKernelCmd& cmd, Reply&) {
  PreparedLaunch p;
  if (int32_t st = prepare_launch(cmd.function, cmd.stream, cmd.params, &p)) return st;
  return traced("cuLaunchKernel",
                cu_.cuLaunchKernel(p.function->handle, cmd.grid[0], cmd.grid[1], cmd.grid[2], cmd.block[0],
                                   cmd.block[1], cmd.block[2], cmd.shared_mem_bytes, p.stream, p.kernel_params,
                                   nullptr));
}

int32_t ChannelExecutor::handle(const FuncGetAttributesCmd& cmd, Reply& reply) {
  Function* f = objects_.functions.find(cmd.function);
  if (f == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (int32_t st = require_context()) return st;
  proto::FuncGetAttributesReply out{};
  const int count = std::min<int>(CU_FUNC_ATTRIBUTE_MAX, vgpu::limits::kMaxFunctionAttributes);
  out.count = static_cast<uint32_t>(count);
  for (int a = 0; a < count; ++a) {
    int value = 0;
    if (cu_.cuFuncGetAttribute(&value, static_cast<CUfunction_attribute>(a), f->handle) ==
        CUDA_SUCCESS)
      out.values[a] = value;
  }
  put(reply.payload, out);
  return 0;
}

int32_t ChannelExecutor::handle(const FuncSetAttributeCmd& cmd, Reply&) {
  Function* f = objects_.functions.find(cmd.function);
  if (f == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (int32_t st = require_context()) return st;
  return traced("cuFuncSetAttribute",
                cu_.cuFuncSetAttribute(f->handle, static_cast<CUfunction_attribute>(cmd.attribute),
                                       cmd.value));
}

int32_t ChannelExecutor::handle(const OccupancyMaxBlocksCmd& cmd, Reply& reply) {
  Function* f = objects_.functions.find(cmd.function);
  if (f == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (int32_t st = require_context()) return st;
  int blocks = 0;
  const CUresult r =
      traced("cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags",
             cu_.cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(
                 &blocks, f->handle, cmd.block_size, cmd.dynamic_shared_mem, cmd.flags));
  if (r != CUDA_SUCCESS) return r;
  put(reply.payload, proto::OccupancyMaxBlocksReply{blocks, 0});
  return 0;
}

int32_t ChannelExecutor::handle(const OccupancyAvailableSharedMemCmd& cmd, Reply& reply) {
  Function* f = objects_.functions.find(cmd.function);
  if (f == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (int32_t st = require_context()) return st;
  size_t bytes = 0;
  const CUresult r = traced("cuOccupancyAvailableDynamicSMemPerBlock",
                            cu_.cuOccupancyAvailableDynamicSMemPerBlock(&bytes, f->handle, cmd.num_blocks,
                                                                        cmd.block_size));
  if (r != CUDA_SUCCESS) return r;
  put(reply.payload, proto::OccupancyAvailableSharedMemReply{bytes});
  return 0;
}

int32_t ChannelExecutor::handle(const OccupancyMaxActiveClustersCmd& cmd, Reply& reply) {
  Function* f = objects_.functions.find(cmd.function);
  if (f == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (int32_t st = require_context()) return st;
  const LaunchSetup launch(cmd.grid, cmd.block, cmd.shared_mem_bytes, nullptr, cmd.cluster);
  int clusters = 0;
  const CUresult r = traced("cuOccupancyMaxActiveClusters",
                            cu_.cuOccupancyMaxActiveClusters(&clusters, f->handle, &launch.config));
  if (r != CUDA_SUCCESS) return r;
  put(reply.payload, proto::OccupancyValueReply{clusters, 0});
  return 0;
}

int32_t ChannelExecutor::handle(const OccupancyMaxClusterSizeCmd& cmd, Reply& reply) {
  Function* f = objects_.functions.find(cmd.function);
  if (f == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (int32_t st = require_context()) return st;
  const LaunchSetup launch(cmd.grid, cmd.block, cmd.shared_mem_bytes, nullptr, cmd.cluster);
  int size = 0;
  const CUresult r = traced("cuOccupancyMaxPotentialClusterSize",
                            cu_.cuOccupancyMaxPotentialClusterSize(&size, f->handle, &launch.config));
  if (r != CUDA_SUCCESS) return r;
  put(reply.payload, proto::OccupancyValueReply{size, 0});
  return 0;
}

// The module's kernel names, for the guest's cudaGetFuncBySymbol-style lookups: listed only;
// the guest asks MODULE_GET_FUNCTION for the ones it wants, which registers them.
int32_t ChannelExecutor::handle(const ModuleListFunctionsCmd& cmd, Reply& reply) {
  Module* m = objects_.modules.find(cmd.module);
  if (m == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (int32_t st = require_context()) return st;
  proto::ModuleListFunctionsReply head{};
  std::vector<uint8_t> names;
  const CUresult r = contexts_.in_context_of(m->device, [&]() -> CUresult {
    unsigned count = 0;
    CUresult res = traced("cuModuleGetFunctionCount", cu_.cuModuleGetFunctionCount(&count, m->handle));
    if (res != CUDA_SUCCESS) return res;
    head.total = count;
    if (cmd.first >= count) return CUDA_SUCCESS;
    std::vector<CUfunction> functions(count);
    res = traced("cuModuleEnumerateFunctions", cu_.cuModuleEnumerateFunctions(functions.data(), count, m->handle));
    if (res != CUDA_SUCCESS) return res;
    for (uint32_t i = cmd.first; i < count; ++i) {
      const char* name = nullptr;
      res = traced("cuFuncGetName", cu_.cuFuncGetName(&name, functions[i]));
      if (res != CUDA_SUCCESS) return res;
      if (name == nullptr) return CUDA_ERROR_INVALID_VALUE;
      const size_t len = std::strlen(name) + 1;  // with its NUL
      if (len > vgpu::limits::kMaxFunctionListBytes - names.size()) break;
      names.insert(names.end(), name, name + len);
      ++head.returned;
    }
    return CUDA_SUCCESS;
  });
  if (r != CUDA_SUCCESS) return r;
  // A name that does not fit in a reply on its own could never be listed: say so rather than
  // answer none, which would leave the guest asking again from the same index.
  if (head.returned == 0 && cmd.first < head.total) return limit_exceeded();
  head.names_bytes = static_cast<uint32_t>(names.size());
  put(reply.payload, head);
  reply.payload.insert(reply.payload.end(), names.begin(), names.end());
  return 0;
}

// cudaLaunchKernelExC: a launch as LAUNCH_KERNEL (same parameter checks), with the attributes
// the guest asked for.
int32_t ChannelExecutor::handle(const LaunchKernelExCmd& cmd, Reply&) {
  PreparedLaunch p;
  if (int32_t st = prepare_launch(cmd.function, cmd.stream, cmd.params, &p)) return st;
  if ((cmd.flags & ~vgpu::proto::kKnownLaunchFlags) != 0) return CUDA_ERROR_INVALID_VALUE;
  const LaunchSetup launch(cmd.grid, cmd.block, cmd.shared_mem_bytes, p.stream, cmd.cluster, cmd.flags, cmd.priority);
  // No detail string: this is cuBLAS's launch path, and the trace names the call anyway.
  return traced("cuLaunchKernelEx", cu_.cuLaunchKernelEx(&launch.config, p.function->handle, p.kernel_params, nullptr));
}

}  // namespace vgpud
