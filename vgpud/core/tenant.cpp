#include "vgpud/core/tenant.h"

#include <algorithm>
#include <type_traits>

namespace vgpud {

size_t room(const Tenant& t) {
  const size_t limit = t.config.limits.max_processes;
  return t.workers.size() < limit ? limit - t.workers.size() : 0;
}

std::optional<uint32_t> free_share_slot(const Tenant& t) {
  std::vector<bool> taken(std::extent_v<decltype(TenantSharedState::shares)>, false);
  for (const auto& [pid, w] : t.workers) taken[w.slot] = true;
  const auto free_slot = std::find(taken.begin(), taken.end(), false);
  if (free_slot == taken.end()) return std::nullopt;
  return static_cast<uint32_t>(free_slot - taken.begin());
}

}  // namespace vgpud
