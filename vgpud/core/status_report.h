// What the daemon says about itself: the one-line status it gives systemd (and logs when it is
// ready), and the per-tenant, per-hop table it answers on the control socket (`vgpud counters`).
// Pure functions of the tenants, so the formats, which scripts parse (test/gpu/run-vm.sh reads
// the counters by column name), are pinned by tests.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "vgpud/core/tenant.h"

namespace vgpud {

// Every live channel worker, of every tenant.
size_t worker_count(const std::vector<std::unique_ptr<Tenant>>& tenants);

// "serving 2 tenant(s), 3 process(es): alpha=1 beta=2"
std::string status_line(const std::vector<std::unique_ptr<Tenant>>& tenants);

// A header line, then one line per tenant: its live workers and its hop counters, in columns
// aligned for reading. Every tenant must have its shared state.
std::string counters_report(const std::vector<std::unique_ptr<Tenant>>& tenants);

}  // namespace vgpud
