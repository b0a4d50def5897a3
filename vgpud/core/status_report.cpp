#include "vgpud/core/status_report.h"

#include <atomic>
#include <cstdint>

#include <fmt/format.h>

namespace vgpud {

size_t worker_count(const std::vector<std::unique_ptr<Tenant>>& tenants) {
  size_t n = 0;
  for (const auto& t : tenants) n += t->workers.size();
  return n;
}

std::string status_line(const std::vector<std::unique_ptr<Tenant>>& tenants) {
  std::string s = "serving " + std::to_string(tenants.size()) + " tenant(s), " +
                  std::to_string(worker_count(tenants)) + " process(es):";
  for (const auto& t : tenants) s += " " + t->config.name + "=" + std::to_string(t->workers.size());
  return s;
}

std::string counters_report(const std::vector<std::unique_ptr<Tenant>>& tenants) {
  // The module cache's columns come last: scripts read the others by name, and by position.
  std::string out = fmt::format("{:<16} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11} {:>9} {:>13} {:>9} {:>9} {:>12}"
                                " {:>10} {:>12} {:>13} {:>12}\n",
                                "tenant", "processes", "opened", "closed", "doorbells", "received",
                                "rejected", "dispatched", "executed", "drv_errors", "answered",
                                "device_bytes", "cache_hits", "cache_misses", "cache_inserts", "cache_evicts");
  for (const auto& t : tenants) {
    const TenantSharedState& shared = t->shared->get();
    const HopCounters& c = shared.counters;
    auto v = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    const ModuleCacheCounters& cache = shared.module_cache;
    out += fmt::format("{:<16} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11} {:>9} {:>13} {:>9} {:>9} {:>12}"
                       " {:>10} {:>12} {:>13} {:>12}\n",
                       t->config.name, t->workers.size(), v(c.channels_opened), v(c.channels_closed),
                       v(c.doorbells), v(c.received), v(c.rejected), v(c.dispatched), v(c.executed),
                       v(c.driver_errors), v(c.answered), v(shared.device_bytes), v(cache.hits),
                       v(cache.misses), v(cache.insertions), v(cache.evictions));
  }
  return out;
}

}  // namespace vgpud
