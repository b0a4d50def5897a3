// The tenant's process records (TENANT_STATUS's source): what a worker writes is what any
// worker reads; a name is cut and terminated; a cleared or half-written slot reads as absent.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "vgpud/executor/tenant_processes.h"

using vgpud::TenantProcesses;

TEST_CASE("a process record reads back as its worker wrote it", "[tenant][nvml]") {
  auto table = std::make_unique<TenantProcesses>();
  REQUIRE_FALSE(table->read(3).has_value());
  table->attach(3, 4242, "trainer");
  table->set_context_mask(3, 0b101);
  auto p = table->read(3);
  REQUIRE(p.has_value());
  CHECK(p->pid == 4242);
  CHECK(p->context_mask == 0b101);
  CHECK(std::string(p->name) == "trainer");
  CHECK_FALSE(table->read(2).has_value());
  table->clear(3);
  CHECK_FALSE(table->read(3).has_value());
}

TEST_CASE("a guest's name is cut to the record and always terminated", "[tenant][nvml][hostile]") {
  auto table = std::make_unique<TenantProcesses>();
  table->attach(0, 1, std::string(500, 'x'));
  auto p = table->read(0);
  REQUIRE(p.has_value());
  CHECK(std::strlen(p->name) == sizeof p->name - 1);
  // Out-of-range slots are ignored rather than written past the table.
  table->attach(TenantProcesses::kSlots, 1, "nobody");
  table->set_context_mask(TenantProcesses::kSlots + 5, 1);
  CHECK_FALSE(table->read(TenantProcesses::kSlots).has_value());
}

TEST_CASE("a reader never sees half of a record's update", "[tenant][nvml]") {
  auto table = std::make_unique<TenantProcesses>();
  table->attach(1, 100, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 20000; ++i)
      table->attach(1, i % 2 ? 200u : 100u,
                    i % 2 ? "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
                          : "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    done = true;
  });
  int torn = 0;
  while (!done) {
    auto p = table->read(1);
    if (!p) continue;
    const char want = p->pid == 100 ? 'a' : 'b';
    for (size_t i = 0; i < std::strlen(p->name); ++i)
      if (p->name[i] != want) ++torn;
  }
  writer.join();
  CHECK(torn == 0);
}
