// What the daemon says about itself (vgpud/core/status_report.h): systemd's status line, and
// the `vgpud counters` table, whose columns scripts read by name (test/gpu/run-vm.sh).
#include "vgpud/core/status_report.h"

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

using vgpud::Tenant;

namespace {

using Tenants = std::vector<std::unique_ptr<Tenant>>;

Tenant& add_tenant(Tenants& tenants, const std::string& name, int workers) {
  auto t = std::make_unique<Tenant>();
  t->config.name = name;
  auto shared = vgpud::SharedTenantState::create(name);
  REQUIRE(shared);
  t->shared = std::move(shared).value();
  for (int i = 0; i < workers; ++i)
    t->workers.emplace(100 + i, Tenant::Worker{name + "/" + std::to_string(100 + i), static_cast<uint32_t>(i)});
  tenants.push_back(std::move(t));
  return *tenants.back();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

}  // namespace

TEST_CASE("the status line counts tenants and processes, then each tenant's", "[core][status]") {
  Tenants tenants;
  CHECK(vgpud::worker_count(tenants) == 0);
  CHECK(vgpud::status_line(tenants) == "serving 0 tenant(s), 0 process(es):");
  add_tenant(tenants, "alpha", 1);
  add_tenant(tenants, "beta", 2);
  add_tenant(tenants, "idle", 0);
  CHECK(vgpud::worker_count(tenants) == 3);
  CHECK(vgpud::status_line(tenants) == "serving 3 tenant(s), 3 process(es): alpha=1 beta=2 idle=0");
}

TEST_CASE("the counters report has a header of column names and a line per tenant", "[core][status]") {
  Tenants tenants;
  add_tenant(tenants, "alpha", 2);
  Tenant& beta = add_tenant(tenants, "beta", 0);
  vgpud::TenantSharedState& s = beta.shared->get();
  // A distinct value per column, so a column out of place shows.
  s.counters.channels_opened = 1;
  s.counters.channels_closed = 2;
  s.counters.doorbells = 3;
  s.counters.received = 4;
  s.counters.rejected = 5;
  s.counters.dispatched = 6;
  s.counters.executed = 7;
  s.counters.driver_errors = 8;
  s.counters.answered = 9;
  s.device_bytes = 123456789012;
  s.module_cache.hits = 10;
  s.module_cache.misses = 11;
  s.module_cache.insertions = 12;
  s.module_cache.evictions = 13;

  const auto lines = lines_of(vgpud::counters_report(tenants));
  REQUIRE(lines.size() == 3);
  CHECK(words_of(lines[0]) == std::vector<std::string>{"tenant", "processes", "opened", "closed", "doorbells",
                                                       "received", "rejected", "dispatched", "executed",
                                                       "drv_errors", "answered", "device_bytes", "cache_hits",
                                                       "cache_misses", "cache_inserts", "cache_evicts"});
  CHECK(words_of(lines[1]) == std::vector<std::string>{"alpha", "2", "0", "0", "0", "0", "0", "0", "0", "0", "0",
                                                       "0", "0", "0", "0", "0"});
  CHECK(words_of(lines[2]) == std::vector<std::string>{"beta", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
                                                       "123456789012", "10", "11", "12", "13"});
  // Columns line up: names padded to 16, numbers right-aligned, every row as wide.
  CHECK(lines[1].substr(0, 17) == "alpha            ");
  CHECK(lines[2].size() == lines[1].size());
  CHECK(lines[2].find(" 123456789012         10") != std::string::npos);
}

TEST_CASE("the counters report of no tenants is its header alone", "[core][status]") {
  const auto lines = lines_of(vgpud::counters_report({}));
  REQUIRE(lines.size() == 1);
  CHECK(words_of(lines[0]).front() == "tenant");
}
