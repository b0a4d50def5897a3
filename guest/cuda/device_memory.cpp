// Device allocations: cuMemAlloc, cuMemAllocPitch, cuMemFree, cuMemGetInfo, cuMemGetAddressRange.
#include "guest/cuda/device_memory.h"

#include <map>
#include <mutex>
#include <vector>

#include "guest/client/log.h"
#include "guest/cuda/api.h"
#include "guest/cuda/capture.h"
#include "guest/cuda/ipc.h"
#include "guest/cuda/graph_memory.h"
#include "guest/cuda/managed_memory.h"
#include "guest/cuda/mem_pools.h"
#include "guest/cuda/virtual_memory.h"
#include "guest/cuda/driver_state.h"
#include "guest/client/address_reservation.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace vgpu::cuda {
namespace {

// Never destroyed: atexit handlers free memory after static destructors would have run.
struct DeviceMemory {
  cuda::AddressMap allocations;
  cuda::AddressMap globals;
  // What the driver also knows of each range, by its start.
  struct Origin {
    Context* owner;
    uint64_t buffer_id;
  };
  std::mutex mutex;
  std::map<uint64_t, Origin> origins;
  uint64_t next_buffer_id = 1;

  void note_origin(uint64_t start, Context* owner) {
    std::lock_guard lock(mutex);
    origins[start] = Origin{owner, next_buffer_id++};
  }
  Origin origin(uint64_t start) {
    std::lock_guard lock(mutex);
    auto it = origins.find(start);
    return it == origins.end() ? Origin{nullptr, 0} : it->second;
  }
  void forget_origin(uint64_t start) {
    std::lock_guard lock(mutex);
    origins.erase(start);
  }
};
DeviceMemory& memory() {
  static auto* m = new DeviceMemory;
  return *m;
}

// What the driver aligns a pitched allocation's rows to on current GPUs.
constexpr size_t kPitchAlignment = 512;

int32_t free_remote(guest::Channel& ch, uint64_t address) {
  const proto::MemFreeRequest request{address};
  return ch.call(proto::CallId::MemFree, {{&request, sizeof request}}, {}).status;
}

// An allocation whose range this process already uses for host memory is kept aside (so vgpud
// cannot return it again), another is asked for, and the ones kept aside are freed at the end.
// vgpud places device memory away from where Linux maps a process, so this is rare; when every
// attempt overlaps, the last one is used unreserved and only unified copies can misread it.
CUresult allocate_outside_guest_memory(guest::Channel& ch, size_t size, uint64_t* out) {
  constexpr int kAttempts = 4;
  std::vector<uint64_t> overlapping;
  CUresult result = CUDA_ERROR_OUT_OF_MEMORY;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const proto::MemAllocRequest request{size};
    proto::MemAllocReply reply{};
    const guest::CallResult r = ch.call(proto::CallId::MemAlloc, {{&request, sizeof request}},
                                        std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
    if (r.status != 0) {
      result = to_cu_result(r.status);
      break;
    }
    if (r.payload_size < sizeof reply || reply.device_ptr == 0) {
      result = CUDA_ERROR_UNKNOWN;
      break;
    }
    if (guest::reserve_device_range(reply.device_ptr, size) || attempt + 1 == kAttempts) {
      if (attempt + 1 == kAttempts)
        guest::log(guest::LogLevel::Warn, "device range 0x%llx+%zu overlaps this process's memory; cuMemcpy "
                   "cannot tell them apart", static_cast<unsigned long long>(reply.device_ptr), size);
      *out = reply.device_ptr;
      result = CUDA_SUCCESS;
      break;
    }
    overlapping.push_back(reply.device_ptr);
  }
  for (uint64_t address : overlapping) (void)free_remote(ch, address);
  return result;
}

CUresult alloc(CUdeviceptr* out, size_t size) {
  if (out == nullptr || size == 0) return CUDA_ERROR_INVALID_VALUE;  // as the driver refuses both
  guest::Channel* ch = nullptr;
  Context* c = nullptr;
  if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
  // An allocation may synchronize: a capture's mode can forbid it (capture.h).
  if (CUresult r = check_unsafe_call_during_capture(); r != CUDA_SUCCESS) return r;
  return allocate_device_memory(c, size, out);
}

CUresult free_memory(CUdeviceptr ptr) {
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  if (ptr == 0) return CUDA_SUCCESS;
  // A stream-ordered allocation leaves its pool first (mem_pools.h).
  bool pool_block = false;
  if (CUresult r = free_pool_block(ptr, &pool_block); pool_block) return r;
  bool managed = false;
  if (CUresult r = free_managed(ptr, &managed); managed) return r;
  // Graph memory left allocated by a graph's launch goes through vgpud's driver (graph_memory.h).
  bool graph = false;
  if (CUresult r = free_graph_memory(ptr, nullptr, &graph); graph) return r;
  return free_device_memory(ptr);
}

}  // namespace

CUresult allocate_device_memory(Context* owner, size_t size, CUdeviceptr* out) {
  guest::Channel* ch = channel();
  if (ch == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
  guest::Channel::set_thread_device(owner->device);
  uint64_t address = 0;
  if (CUresult r = allocate_outside_guest_memory(*ch, size, &address); r != CUDA_SUCCESS) return r;
  memory().allocations.insert(address, size, owner->device);
  memory().note_origin(address, owner);
  *out = address;
  return CUDA_SUCCESS;
}

CUresult free_device_memory(CUdeviceptr ptr) {
  guest::Channel* ch = channel();
  if (ch == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
  auto range = memory().allocations.find(ptr);
  if (!range || range->start != ptr) return CUDA_ERROR_INVALID_VALUE;
  guest::Channel::set_thread_device(range->device);
  if (CUresult r = to_cu_result(free_remote(*ch, ptr)); r != CUDA_SUCCESS) return r;
  memory().allocations.erase(ptr);
  memory().forget_origin(ptr);
  return CUDA_SUCCESS;
}

std::optional<DeviceRange> find_device_range(CUdeviceptr address) noexcept {
  try {
    DeviceMemory& m = memory();
    // Managed memory lies inside an allocation of its own (managed_memory.h): its range is the
    // program's, not the allocation's.
    if (auto managed = find_managed(address)) {
      auto r = m.allocations.find(address);
      const DeviceMemory::Origin o = r ? m.origin(r->start) : DeviceMemory::Origin{nullptr, 0};
      return DeviceRange{{managed->start, managed->size, managed->device}, true, o.owner, o.buffer_id, true};
    }
    if (auto r = m.allocations.find(address)) {
      const DeviceMemory::Origin o = m.origin(r->start);
      return DeviceRange{*r, true, o.owner, o.buffer_id};
    }
    if (auto r = m.globals.find(address)) {
      const DeviceMemory::Origin o = m.origin(r->start);
      return DeviceRange{*r, false, o.owner, o.buffer_id};
    }
    // A cuMemMap mapping: memory of no context, as the driver's are.
    if (auto r = find_mapping(address)) return DeviceRange{*r, true, nullptr, 0};
    // Another process's allocation, opened here (ipc.h).
    if (auto r = find_ipc_range(address)) return DeviceRange{r->range, true, r->owner, r->buffer_id};
  } catch (...) {
  }
  return std::nullopt;
}

void note_graph_memory(CUdeviceptr start, uint64_t size, uint32_t device, Context* owner) {
  (void)guest::reserve_device_range(start, size);  // may be reserved already: the driver reuses addresses
  memory().allocations.insert(start, size, device);
  memory().note_origin(start, owner);
}

void note_global(CUdeviceptr start, uint64_t size, uint32_t device, Context* owner) {
  memory().globals.insert(start, size, device);
  memory().note_origin(start, owner);
}

void forget_device_memory(uint32_t device) {
  for (const cuda::AddressRange& r : memory().allocations.clear_device(device)) memory().forget_origin(r.start);
  for (const cuda::AddressRange& r : memory().globals.clear_device(device)) memory().forget_origin(r.start);
  forget_virtual_memory(device);
  forget_ipc_memory(device);
  forget_managed(device);
}

}  // namespace vgpu::cuda

VGPU_DRIVER_API CUresult cuMemAlloc_v2(CUdeviceptr* out, size_t size) { return guarded([&] { return alloc(out, size); }); }
VGPU_DRIVER_API CUresult cuMemFree_v2(CUdeviceptr ptr) { return guarded([&] { return free_memory(ptr); }); }

VGPU_DRIVER_API CUresult cuMemAllocPitch_v2(CUdeviceptr* out, size_t* pitch, size_t width, size_t height,
                                            unsigned int element_size) {
  if (pitch == nullptr || width == 0 || height == 0) return CUDA_ERROR_INVALID_VALUE;
  if (element_size != 4 && element_size != 8 && element_size != 16) return CUDA_ERROR_INVALID_VALUE;
  const size_t rounded = (width + kPitchAlignment - 1) / kPitchAlignment * kPitchAlignment;
  if (rounded < width || height > SIZE_MAX / rounded) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    if (CUresult r = alloc(out, rounded * height); r != CUDA_SUCCESS) return r;
    *pitch = rounded;
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuMemGetInfo_v2(size_t* free_bytes, size_t* total) {
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    proto::MemGetInfoReply reply{};
    const guest::CallResult r =
        ch->call(proto::CallId::MemGetInfo, {}, std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
    if (r.status != 0) return to_cu_result(r.status);
    if (free_bytes != nullptr) *free_bytes = reply.free_bytes;
    if (total != nullptr) *total = reply.total_bytes;
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuMemGetAddressRange_v2(CUdeviceptr* base, size_t* size, CUdeviceptr address) {
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    const std::optional<DeviceRange> found = find_device_range(address);
    if (!found) return CUDA_ERROR_NOT_FOUND;
    if (base != nullptr) *base = found->range.start;
    if (size != nullptr) *size = found->range.size;
    return CUDA_SUCCESS;
  });
}
