#include "vgpud/worker/tenant_state.h"

#include <new>
#include <utility>

namespace vgpud {

namespace {

constexpr uint64_t kPage = 4096;
// The module cache starts at the first page after the state.
constexpr uint64_t kModuleCacheOffset = (sizeof(TenantSharedState) + kPage - 1) / kPage * kPage;

// The memfd: the state, then the module cache when the tenant has one. The cache's pages are
// only backed once an image is written to them.
uint64_t memfd_size(uint64_t module_cache_memory) {
  const uint64_t cache_bytes = ModuleCache::region_bytes(module_cache_memory);
  return cache_bytes == 0 ? sizeof(TenantSharedState) : kModuleCacheOffset + cache_bytes;
}

}  // namespace

vgpu::Result<std::unique_ptr<SharedTenantState>, std::string> SharedTenantState::create(
    const std::string& tenant, uint64_t module_cache_memory) {
  auto memory = SharedMemory::create("vgpu-tenant-" + tenant, memfd_size(module_cache_memory));
  if (!memory) return vgpu::Err{memory.error()};
  auto* state = new (memory->base()) TenantSharedState();
  if (ModuleCache::region_bytes(module_cache_memory) != 0)
    ModuleCache::format(memory->base() + kModuleCacheOffset, module_cache_memory);
  return attach_cache(
      std::unique_ptr<SharedTenantState>(new SharedTenantState(std::move(memory).value(), state)),
      module_cache_memory);
}

vgpu::Result<std::unique_ptr<SharedTenantState>, std::string> SharedTenantState::attach(
    UniqueFd fd, uint64_t module_cache_memory) {
  auto memory = SharedMemory::map(std::move(fd), memfd_size(module_cache_memory));
  if (!memory) return vgpu::Err{"the tenant state: " + memory.error()};
  // The daemon constructed the object; this process only uses it.
  auto* state = std::launder(reinterpret_cast<TenantSharedState*>(memory->base()));
  return attach_cache(
      std::unique_ptr<SharedTenantState>(new SharedTenantState(std::move(memory).value(), state)),
      module_cache_memory);
}

vgpu::Result<std::unique_ptr<SharedTenantState>, std::string> SharedTenantState::attach_cache(
    std::unique_ptr<SharedTenantState> shared, uint64_t module_cache_memory) {
  if (ModuleCache::region_bytes(module_cache_memory) == 0) return shared;
  auto cache = ModuleCache::attach(shared->memory_.base() + kModuleCacheOffset, module_cache_memory,
                                   &shared->state_->module_cache);
  if (!cache) return vgpu::Err{"the tenant state: " + cache.error()};
  shared->module_cache_.emplace(std::move(cache).value());
  return shared;
}

}  // namespace vgpud
