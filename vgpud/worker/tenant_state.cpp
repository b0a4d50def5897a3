#include "vgpud/worker/tenant_state.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "vgpu/common/errno_text.h"

namespace vgpud {

using vgpu::errno_text;

namespace {

void* map_state(int fd) {
  void* p = mmap(nullptr, sizeof(TenantSharedState), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return p == MAP_FAILED ? nullptr : p;
}

}  // namespace

vgpu::Result<std::unique_ptr<SharedTenantState>, std::string> SharedTenantState::create(
    const std::string& tenant) {
  UniqueFd fd(memfd_create(("vgpu-tenant-" + tenant).c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) return vgpu::Err{errno_text("memfd_create")};
  if (ftruncate(fd.get(), sizeof(TenantSharedState)) != 0) return vgpu::Err{errno_text("ftruncate")};
  if (fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    return vgpu::Err{errno_text("sealing the tenant state")};
  void* p = map_state(fd.get());
  if (p == nullptr) return vgpu::Err{errno_text("mmap")};
  auto* state = new (p) TenantSharedState();
  return std::unique_ptr<SharedTenantState>(new SharedTenantState(std::move(fd), state));
}

vgpu::Result<std::unique_ptr<SharedTenantState>, std::string> SharedTenantState::attach(UniqueFd fd) {
  struct stat st{};
  if (fstat(fd.get(), &st) != 0) return vgpu::Err{errno_text("fstat of the tenant state")};
  if (static_cast<size_t>(st.st_size) < sizeof(TenantSharedState))
    return vgpu::Err{std::string("the tenant state is too small")};
  void* p = map_state(fd.get());
  if (p == nullptr) return vgpu::Err{errno_text("mmap")};
  // The daemon constructed the object; this process only uses it.
  auto* state = std::launder(static_cast<TenantSharedState*>(p));
  return std::unique_ptr<SharedTenantState>(new SharedTenantState(std::move(fd), state));
}

SharedTenantState::~SharedTenantState() { munmap(state_, sizeof(TenantSharedState)); }

}  // namespace vgpud
