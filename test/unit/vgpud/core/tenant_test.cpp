// The daemon's two decisions about a tenant (vgpud/core/tenant.h): how many more processes it
// admits, and which share slot a new worker gets.
#include "vgpud/core/tenant.h"

#include <catch2/catch.hpp>

#include <string>

using vgpud::Tenant;

namespace {

// Adds a live worker in `slot` under a made-up pid.
void add_worker(Tenant& t, uint32_t slot) {
  const pid_t pid = 1000 + static_cast<pid_t>(t.workers.size());
  t.workers.emplace(pid, Tenant::Worker{t.config.name + "/" + std::to_string(pid), slot});
}

}  // namespace

TEST_CASE("a tenant has room for max_processes less its live workers", "[core][tenant]") {
  Tenant t;
  t.config.name = "alpha";
  t.config.limits.max_processes = 3;
  CHECK(vgpud::room(t) == 3);
  add_worker(t, 0);
  add_worker(t, 1);
  CHECK(vgpud::room(t) == 1);
  add_worker(t, 2);
  CHECK(vgpud::room(t) == 0);
  // More workers than the limit allows (none is ever started so): no room, not a wrap-around.
  add_worker(t, 3);
  CHECK(vgpud::room(t) == 0);
}

TEST_CASE("a new worker gets the lowest share slot no live worker has", "[core][tenant]") {
  Tenant t;
  t.config.name = "alpha";
  CHECK(vgpud::free_share_slot(t) == 0u);
  add_worker(t, 0);
  add_worker(t, 1);
  add_worker(t, 3);
  CHECK(vgpud::free_share_slot(t) == 2u);  // the hole a reaped worker left
  add_worker(t, 2);
  CHECK(vgpud::free_share_slot(t) == 4u);
}

TEST_CASE("with every share slot taken there is none to give", "[core][tenant]") {
  Tenant t;
  t.config.name = "alpha";
  for (uint32_t slot = 0; slot < vgpud::config::kMaxProcessesPerTenant; ++slot) add_worker(t, slot);
  CHECK_FALSE(vgpud::free_share_slot(t).has_value());
  t.workers.erase(t.workers.begin());  // the worker in slot 0 is reaped
  CHECK(vgpud::free_share_slot(t) == 0u);
}
