// The pools' administration: a device's default and current pool, pools made and destroyed,
// their attributes, trimming, and what a device reset ends (docs/design.md §21; the rules are in
// mem_pools.h). The stream-ordered path (allocations, frees, reuse) is mem_pools.cpp.
#include <vector>

#include "guest/cuda/device_memory.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/mem_pool_state.h"
#include "guest/cuda/mem_pools.h"

namespace vgpu::cuda {
using namespace pool_state;

CUmemoryPool default_mem_pool(uint32_t device) {
  Pools& all = pools();
  Lock lock(all.mutex);
  return handle_of(default_pool_locked(all, device));
}

CUmemoryPool current_mem_pool(uint32_t device) {
  Pools& all = pools();
  Lock lock(all.mutex);
  return handle_of(current_pool_locked(all, device));
}

CUresult set_current_mem_pool(uint32_t device, CUmemoryPool handle) {
  Pools& all = pools();
  Lock lock(all.mutex);
  default_pool_locked(all, device);
  Pool* p = live_pool(all, handle);
  if (p == nullptr || p->device != device) return CUDA_ERROR_INVALID_VALUE;
  all.current[device] = p;
  return CUDA_SUCCESS;
}

CUresult create_mem_pool(uint32_t device, size_t max_size, CUmemoryPool* out) {
  auto* p = new Pool;
  p->device = device;
  p->max_size = max_size;
  Pools& all = pools();
  Lock lock(all.mutex);
  all.live.insert(p);
  *out = handle_of(p);
  return CUDA_SUCCESS;
}

CUresult destroy_mem_pool(CUmemoryPool handle) {
  Pools& all = pools();
  Lock lock(all.mutex);
  Pool* p = live_pool(all, handle);
  if (p == nullptr || p->is_default) return CUDA_ERROR_INVALID_VALUE;
  p->kind = HandleKind::Dead;
  if (all.current[p->device] == p) all.current[p->device] = all.defaults[p->device];
  std::vector<Released> cached;
  while (p != nullptr && !p->cached.empty()) cached.push_back(take_locked(all, p, p->cached.begin()->second, true));
  if (p != nullptr && p->blocks.empty()) {
    all.live.erase(p);
    delete p;
  }
  lock.unlock();
  return release(all, cached);
}

bool mem_pool_device(CUmemoryPool handle, uint32_t* device) {
  Pools& all = pools();
  Lock lock(all.mutex);
  Pool* p = live_pool(all, handle);
  if (p != nullptr) *device = p->device;
  return p != nullptr;
}

CUresult trim_mem_pool(CUmemoryPool handle, size_t keep) {
  if (CUresult r = init_status(); r != CUDA_SUCCESS) return r;
  Pools& all = pools();
  Lock lock(all.mutex);
  Pool* p = live_pool(all, handle);
  if (p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  // As the driver: at least `keep` bytes stay reserved. Largest blocks first.
  std::vector<CUdeviceptr> largest_first;
  for (auto it = p->cached.rbegin(); it != p->cached.rend(); ++it) largest_first.push_back(it->second);
  std::vector<Released> trimmed;
  for (CUdeviceptr ptr : largest_first)
    if (p->reserved > keep && p->reserved - p->blocks.at(ptr).size >= keep)
      trimmed.push_back(take_locked(all, p, ptr, true));
  lock.unlock();
  return release(all, trimmed);
}

CUresult set_mem_pool_attribute(CUmemoryPool handle, CUmemPool_attribute attribute, const void* value) {
  if (value == nullptr) return CUDA_ERROR_INVALID_VALUE;
  Pools& all = pools();
  Lock lock(all.mutex);
  Pool* p = live_pool(all, handle);
  if (p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const auto flag = [&] { return *static_cast<const int*>(value) != 0; };
  switch (attribute) {
    case CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES: p->follow_event_dependencies = flag(); break;
    case CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC: p->allow_opportunistic = flag(); break;
    case CU_MEMPOOL_ATTR_REUSE_ALLOW_INTERNAL_DEPENDENCIES: p->allow_internal_dependencies = flag(); break;
    case CU_MEMPOOL_ATTR_RELEASE_THRESHOLD: p->release_threshold = *static_cast<const cuuint64_t*>(value); break;
    // A high watermark can only be reset (to what is held now), with 0.
    case CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH:
      if (*static_cast<const cuuint64_t*>(value) != 0) return CUDA_ERROR_INVALID_VALUE;
      p->reserved_high = p->reserved;
      break;
    case CU_MEMPOOL_ATTR_USED_MEM_HIGH:
      if (*static_cast<const cuuint64_t*>(value) != 0) return CUDA_ERROR_INVALID_VALUE;
      p->used_high = p->used;
      break;
    default:
      return CUDA_ERROR_INVALID_VALUE;  // the current amounts are read-only
  }
  return CUDA_SUCCESS;
}

CUresult get_mem_pool_attribute(CUmemoryPool handle, CUmemPool_attribute attribute, void* value) {
  if (value == nullptr) return CUDA_ERROR_INVALID_VALUE;
  Pools& all = pools();
  Lock lock(all.mutex);
  const Pool* p = live_pool(all, handle);
  if (p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  auto* flag = static_cast<int*>(value);
  auto* bytes = static_cast<cuuint64_t*>(value);
  switch (attribute) {
    case CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES: *flag = p->follow_event_dependencies; break;
    case CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC: *flag = p->allow_opportunistic; break;
    case CU_MEMPOOL_ATTR_REUSE_ALLOW_INTERNAL_DEPENDENCIES: *flag = p->allow_internal_dependencies; break;
    case CU_MEMPOOL_ATTR_RELEASE_THRESHOLD: *bytes = p->release_threshold; break;
    case CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT: *bytes = p->reserved; break;
    case CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH: *bytes = p->reserved_high; break;
    case CU_MEMPOOL_ATTR_USED_MEM_CURRENT: *bytes = p->used; break;
    case CU_MEMPOOL_ATTR_USED_MEM_HIGH: *bytes = p->used_high; break;
    default: return CUDA_ERROR_INVALID_VALUE;
  }
  return CUDA_SUCCESS;
}

void forget_mem_pools(uint32_t device) {
  if (device >= limits::kMaxDevices) return;
  Pools& all = pools();
  Lock lock(all.mutex);
  std::vector<Pool*> ended;
  for (Pool* p : all.live) {
    if (p->device != device) {
      // Blocks freed on the device's streams: that work ended with the reset.
      for (auto& [ptr, b] : p->blocks)
        if (!b.in_use && b.event.device == device) b.idle = true;
      continue;
    }
    for (const auto& [ptr, b] : p->blocks) {
      all.owners.erase(ptr);
      spare(all, b.event);  // an event of another device lives on
    }
    p->blocks.clear();
    p->cached.clear();
    p->used = p->reserved = p->cached_bytes = 0;
    if (p->kind == HandleKind::Dead) ended.push_back(p);
  }
  for (Pool* p : ended) {
    all.live.erase(p);
    delete p;
  }
  // Events made on the device are gone (FreeEvent::valid() tells, by the device's generation).
  all.spare_events[device].clear();
}

}  // namespace vgpu::cuda
