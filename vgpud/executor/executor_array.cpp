// Handlers for CUDA arrays and mipmapped arrays (docs/design.md §23). An array takes GPU memory
// that no allocation call names, so it is charged to the tenant's device_memory before the driver
// makes it, as an allocation is, and given back when it is destroyed or its context goes. A
// mipmapped array's levels are arrays of the channel's too, under ids of their own, charged with
// their mipmapped array and gone with it.
#include <fmt/format.h>

#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/reply_payload.h"
#include "vgpud/log/log.h"

namespace vgpud {

namespace {

CUDA_ARRAY3D_DESCRIPTOR descriptor(uint64_t width, uint64_t height, uint64_t depth, uint32_t format,
                                   uint32_t channels, uint32_t flags) {
  CUDA_ARRAY3D_DESCRIPTOR d{};
  d.Width = width;
  d.Height = height;
  d.Depth = depth;
  d.Format = static_cast<CUarray_format>(format);
  d.NumChannels = channels;
  d.Flags = flags;
  return d;
}

std::string describe(const CUDA_ARRAY3D_DESCRIPTOR& d) {
  return fmt::format("{}x{}x{} format=0x{:x} channels={} flags=0x{:x}", d.Width, d.Height, d.Depth,
                     static_cast<unsigned>(d.Format), d.NumChannels, d.Flags);
}

}  // namespace

uint64_t ChannelExecutor::array_bytes(const CUDA_ARRAY3D_DESCRIPTOR& desc, uint32_t levels, uint32_t element) {
  // The driver says what an array takes only of one made for deferred mapping, which holds no
  // memory: such a twin is made, asked and destroyed. Where the driver will not make it (a GPU
  // without deferred mapping, flags it does not take with it), an upper bound is charged.
  CUDA_ARRAY3D_DESCRIPTOR twin = desc;
  twin.Flags |= CUDA_ARRAY3D_DEFERRED_MAPPING;
  const CUdevice device = contexts_.device(contexts_.current());
  CUDA_ARRAY_MEMORY_REQUIREMENTS needs{};
  CUresult r;
  if (levels == 0) {
    CUarray probe = nullptr;
    r = cu_.cuArray3DCreate(&probe, &twin);
    if (r == CUDA_SUCCESS) {
      r = cu_.cuArrayGetMemoryRequirements(&needs, probe, device);
      cu_.cuArrayDestroy(probe);
    }
  } else {
    CUmipmappedArray probe = nullptr;
    r = cu_.cuMipmappedArrayCreate(&probe, &twin, levels);
    if (r == CUDA_SUCCESS) {
      r = cu_.cuMipmappedArrayGetMemoryRequirements(&needs, probe, device);
      cu_.cuMipmappedArrayDestroy(probe);
    }
  }
  // Not a driver error of the guest's when the twin is refused: not counted as one.
  const bool told = r == CUDA_SUCCESS && needs.size != 0;
  const uint64_t bytes = told ? needs.size
                              : array_bytes_bound(desc.Width, desc.Height, desc.Depth, element,
                                                  std::max<uint32_t>(levels, 1), (desc.Flags & CUDA_ARRAY3D_LAYERED) != 0);
  if (DriverTrace::logging())
    log::executor().debug("vm={} seq={} array of {} levels={} takes {} bytes{}", setup_.name, trace_.seq(),
                          describe(desc), levels, bytes, told ? "" : " at most (the driver made no twin)");
  return bytes;
}

int32_t ChannelExecutor::handle(const ArrayCreateCmd& cmd, Reply& reply) {
  if (int32_t st = require_context()) return st;
  const std::optional<uint32_t> element = element_bytes(cmd.format, cmd.channels);
  if (!element) return CUDA_ERROR_INVALID_VALUE;
  if (arrays_.arrays.full()) return limit_exceeded();
  const CUDA_ARRAY3D_DESCRIPTOR desc = descriptor(cmd.width, cmd.height, cmd.depth, cmd.format, cmd.channels, cmd.flags);
  const uint64_t bytes = array_bytes(desc, 0, *element);
  TenantBudget budget = device_budget();
  if (!budget.reserve(bytes)) {
    HopCounters::bump(setup_.counters->rejected);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  CUarray array = nullptr;
  const CUresult r = traced("cuArray3DCreate", cu_.cuArray3DCreate(&array, &desc), [&] { return describe(desc); });
  if (r != CUDA_SUCCESS) {
    budget.release(bytes);
    return r;
  }
  const uint32_t id = arrays_.arrays.insert({array, contexts_.current(), desc, *element, 0, bytes});
  put(reply.payload, proto::ArrayCreateReply{id, 0});
  return 0;
}

int32_t ChannelExecutor::handle(const ArrayDestroyCmd& cmd, Reply&) {
  // A level goes with its mipmapped array only, as the driver's do.
  const ArrayObjects::Array* a = arrays_.arrays.find(cmd.array);
  if (a == nullptr || a->mipmap != 0) return CUDA_ERROR_INVALID_HANDLE;
  const CUresult r = contexts_.in_existing_context_of(
      a->device, [&] { return traced("cuArrayDestroy", cu_.cuArrayDestroy(a->handle)); });
  if (r == CUDA_SUCCESS) {
    device_budget().release(a->bytes);
    arrays_.arrays.erase(cmd.array);
  }
  return r;
}

int32_t ChannelExecutor::handle(const MipmappedArrayCreateCmd& cmd, Reply& reply) {
  if (int32_t st = require_context()) return st;
  const std::optional<uint32_t> element = element_bytes(cmd.format, cmd.channels);
  if (!element) return CUDA_ERROR_INVALID_VALUE;
  if (arrays_.mipmaps.full()) return limit_exceeded();
  const CUDA_ARRAY3D_DESCRIPTOR desc = descriptor(cmd.width, cmd.height, cmd.depth, cmd.format, cmd.channels, cmd.flags);
  const uint64_t bytes = array_bytes(desc, cmd.levels, *element);
  TenantBudget budget = device_budget();
  if (!budget.reserve(bytes)) {
    HopCounters::bump(setup_.counters->rejected);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  CUmipmappedArray mipmap = nullptr;
  const CUresult r = traced("cuMipmappedArrayCreate", cu_.cuMipmappedArrayCreate(&mipmap, &desc, cmd.levels),
                            [&] { return fmt::format("{} levels={}", describe(desc), cmd.levels); });
  if (r != CUDA_SUCCESS) {
    budget.release(bytes);
    return r;
  }
  ArrayObjects::Mipmap m{mipmap, contexts_.current(), std::vector<uint32_t>(cmd.levels, 0), bytes};
  put(reply.payload, proto::MipmappedArrayCreateReply{arrays_.mipmaps.insert(std::move(m)), 0});
  return 0;
}

int32_t ChannelExecutor::handle(const MipmappedArrayGetLevelCmd& cmd, Reply& reply) {
  ArrayObjects::Mipmap* m = arrays_.mipmaps.find(cmd.mipmap);
  if (m == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (cmd.level >= m->levels.size()) return CUDA_ERROR_INVALID_VALUE;
  if (m->levels[cmd.level] == 0) {
    if (arrays_.arrays.full()) return limit_exceeded();
    CUarray level = nullptr;
    CUDA_ARRAY3D_DESCRIPTOR desc{};
    const CUresult r = contexts_.in_existing_context_of(m->device, [&] {
      CUresult got = traced("cuMipmappedArrayGetLevel", cu_.cuMipmappedArrayGetLevel(&level, m->handle, cmd.level));
      if (got == CUDA_SUCCESS) got = traced("cuArray3DGetDescriptor", cu_.cuArray3DGetDescriptor(&desc, level));
      return got;
    });
    if (r != CUDA_SUCCESS) return r;
    const std::optional<uint32_t> element = element_bytes(desc.Format, desc.NumChannels);
    if (!element) return CUDA_ERROR_UNKNOWN;  // the driver describes a level unlike its mipmapped array
    m->levels[cmd.level] = arrays_.arrays.insert({level, m->device, desc, *element, cmd.mipmap, 0});
  }
  const uint32_t id = m->levels[cmd.level];
  const ArrayObjects::Array& a = *arrays_.arrays.find(id);
  put(reply.payload, proto::MipmappedArrayGetLevelReply{id, 0, a.desc.Width, a.desc.Height, a.desc.Depth});
  return 0;
}

int32_t ChannelExecutor::handle(const MipmappedArrayDestroyCmd& cmd, Reply&) {
  const ArrayObjects::Mipmap* m = arrays_.mipmaps.find(cmd.mipmap);
  if (m == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  const CUresult r = contexts_.in_existing_context_of(
      m->device, [&] { return traced("cuMipmappedArrayDestroy", cu_.cuMipmappedArrayDestroy(m->handle)); });
  if (r == CUDA_SUCCESS) {
    device_budget().release(m->bytes);
    arrays_.forget_mipmap(cmd.mipmap);
  }
  return r;
}

void ChannelExecutor::destroy_arrays_on(uint32_t device) {
  // The objects first, then what they were made over. A context's end would free them all, but
  // not their bytes from the tenant's budget, nor their ids here.
  auto in_context = [&](auto&& fn) { contexts_.in_existing_context_of(device, fn); };
  for (uint64_t t : arrays_.textures.on_device(device)) {
    in_context([&] { return cu_.cuTexObjectDestroy(t); });
    arrays_.textures.erase(device, t);
  }
  for (uint64_t s : arrays_.surfaces.on_device(device)) {
    in_context([&] { return cu_.cuSurfObjectDestroy(s); });
    arrays_.surfaces.erase(device, s);
  }
  uint64_t freed = 0;
  std::vector<uint32_t> gone;
  arrays_.arrays.for_each([&](uint32_t id, ArrayObjects::Array& a) {
    if (a.device != device || a.mipmap != 0) return;
    in_context([&] { return cu_.cuArrayDestroy(a.handle); });
    freed += a.bytes;
    gone.push_back(id);
  });
  for (uint32_t id : gone) arrays_.arrays.erase(id);
  gone.clear();
  arrays_.mipmaps.for_each([&](uint32_t id, ArrayObjects::Mipmap& m) {
    if (m.device != device) return;
    in_context([&] { return cu_.cuMipmappedArrayDestroy(m.handle); });
    freed += m.bytes;
    gone.push_back(id);
  });
  for (uint32_t id : gone) arrays_.forget_mipmap(id);
  device_budget().release(freed);
}

}  // namespace vgpud
