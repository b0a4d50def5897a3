#include "vgpud/worker/tenant_state.h"

#include <new>
#include <utility>

namespace vgpud {

vgpu::Result<std::unique_ptr<SharedTenantState>, std::string> SharedTenantState::create(
    const std::string& tenant) {
  auto memory = SharedMemory::create("vgpu-tenant-" + tenant, sizeof(TenantSharedState));
  if (!memory) return vgpu::Err{memory.error()};
  auto* state = new (memory->base()) TenantSharedState();
  return std::unique_ptr<SharedTenantState>(new SharedTenantState(std::move(memory).value(), state));
}

vgpu::Result<std::unique_ptr<SharedTenantState>, std::string> SharedTenantState::attach(UniqueFd fd) {
  auto memory = SharedMemory::map(std::move(fd), sizeof(TenantSharedState));
  if (!memory) return vgpu::Err{"the tenant state: " + memory.error()};
  // The daemon constructed the object; this process only uses it.
  auto* state = std::launder(reinterpret_cast<TenantSharedState*>(memory->base()));
  return std::unique_ptr<SharedTenantState>(new SharedTenantState(std::move(memory).value(), state));
}

}  // namespace vgpud
