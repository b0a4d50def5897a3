#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "vgpu/protocol/limits.h"
#include "vgpud/executor/ipc_table.h"

using vgpud::IpcExport;
using vgpud::IpcKind;
using vgpud::IpcTable;
using vgpud::IpcToken;

namespace {

constexpr uint64_t kMiB = 1ull << 20;

IpcExport memory(uint32_t slot, uint64_t size) {
  IpcExport e;
  e.kind = IpcKind::Memory;
  e.exporter_slot = slot;
  e.size = size;
  e.handle[0] = 0xab;
  return e;
}

// A worker's share and the tenant's total, as the tenant state holds them: the exporter took
// `bytes` (TenantBudget::reserve) before it published them.
struct Budget {
  std::atomic<uint64_t> used{0};
  std::atomic<uint64_t> share{0};
  void take(uint64_t bytes) {
    used += bytes;
    share += bytes;
  }
};

}  // namespace

TEST_CASE("a published token finds its entry; a forged, empty or other kind's token finds nothing", "[ipc]") {
  auto table = std::make_unique<IpcTable>();
  Budget b;
  b.take(4 * kMiB);
  const std::optional<IpcToken> token = table->publish(memory(3, 4 * kMiB), &b.share);
  REQUIRE(token);
  CHECK_FALSE(token->empty());
  // The bytes moved from the exporter's share into the entry; the tenant's total is unchanged.
  CHECK(b.share == 0);
  CHECK(b.used == 4 * kMiB);
  CHECK(table->charged_bytes() == 4 * kMiB);

  IpcExport found;
  REQUIRE(table->find(*token, IpcKind::Memory, 5, false, &found) == IpcTable::Found::Yes);
  CHECK(found.size == 4 * kMiB);
  CHECK(found.exporter_slot == 3);
  CHECK(found.handle[0] == 0xab);
  CHECK(table->find(IpcToken{token->lo ^ 1, token->hi}, IpcKind::Memory, 5, false, &found) == IpcTable::Found::No);
  CHECK(table->find(IpcToken{}, IpcKind::Memory, 5, false, &found) == IpcTable::Found::No);
  CHECK(table->find(*token, IpcKind::Event, 5, false, &found) == IpcTable::Found::No);
  CHECK(table->find(*token, IpcKind::Physical, 5, false, &found) == IpcTable::Found::No);

  // Two publications never share a token.
  std::set<std::pair<uint64_t, uint64_t>> seen{{token->lo, token->hi}};
  for (int i = 0; i < 100; ++i) {
    const auto t = table->publish(memory(3, 0), nullptr);
    REQUIRE(t);
    CHECK(seen.insert({t->lo, t->hi}).second);
  }
}

TEST_CASE("published memory counts until its exporter and every importer let go", "[ipc]") {
  auto table = std::make_unique<IpcTable>();
  Budget b;
  b.take(8 * kMiB);
  const IpcToken token = *table->publish(memory(0, 8 * kMiB), &b.share);
  IpcExport e;
  // Two importers, one of them twice.
  REQUIRE(table->find(token, IpcKind::Memory, 1, true, &e) == IpcTable::Found::Yes);
  REQUIRE(table->find(token, IpcKind::Memory, 1, true, &e) == IpcTable::Found::Yes);
  REQUIRE(table->find(token, IpcKind::Memory, 2, true, &e) == IpcTable::Found::Yes);
  // The exporter frees it: nobody opens it any more, but the bytes stay counted.
  table->withdraw(token, 0, &b.used);
  CHECK(table->find(token, IpcKind::Memory, 4, false, &e) == IpcTable::Found::No);
  CHECK(b.used == 8 * kMiB);
  table->release(token, 1, &b.used);
  table->release(token, 2, &b.used);
  CHECK(b.used == 8 * kMiB);  // slot 1 still holds one
  CHECK(table->entries() == 1);
  table->release(token, 1, &b.used);
  CHECK(b.used == 0);
  CHECK(table->entries() == 0);
  // Released again, or withdrawn by a slot that is not its exporter: nothing moves.
  table->release(token, 1, &b.used);
  table->withdraw(token, 0, &b.used);
  CHECK(b.used == 0);
}

TEST_CASE("a withdrawal by another slot than the exporter's changes nothing", "[ipc]") {
  auto table = std::make_unique<IpcTable>();
  Budget b;
  b.take(kMiB);
  const IpcToken token = *table->publish(memory(7, kMiB), &b.share);
  table->withdraw(token, 8, &b.used);
  IpcExport e;
  CHECK(table->find(token, IpcKind::Memory, 9, false, &e) == IpcTable::Found::Yes);
  CHECK(b.used == kMiB);
  table->withdraw(token, 7, &b.used);
  CHECK(b.used == 0);
}

TEST_CASE("reclaiming a dead worker withdraws what it published and drops what it held", "[ipc]") {
  auto table = std::make_unique<IpcTable>();
  Budget b;
  table->set_worker_pid(0, 100);
  table->set_worker_pid(1, 101);
  b.take(2 * kMiB);
  b.take(3 * kMiB);
  const IpcToken by0 = *table->publish(memory(0, 2 * kMiB), &b.share);
  const IpcToken by1 = *table->publish(memory(1, 3 * kMiB), &b.share);
  IpcExport e;
  REQUIRE(table->find(by0, IpcKind::Memory, 1, true, &e) == IpcTable::Found::Yes);  // 1 holds 0's
  // Worker 0 dies: its memory stays while worker 1 holds it.
  table->reclaim(0, &b.used);
  CHECK(table->worker_pid(0) == 0);
  CHECK(table->worker_pid(1) == 101);
  CHECK(b.used == 5 * kMiB);
  CHECK(table->find(by0, IpcKind::Memory, 2, false, &e) == IpcTable::Found::No);
  // Worker 1 dies holding it: both entries go, and every byte with them.
  table->reclaim(1, &b.used);
  CHECK(b.used == 0);
  CHECK(table->entries() == 0);
  CHECK(table->find(by1, IpcKind::Memory, 2, false, &e) == IpcTable::Found::No);
}

TEST_CASE("the table and its holds are bounded", "[ipc]") {
  auto table = std::make_unique<IpcTable>();
  std::vector<IpcToken> tokens;
  const uint32_t exporter = vgpud::kIpcWorkerSlots - 1;  // holds by every slot below, and its own
  for (uint32_t i = 0; i < vgpu::limits::kMaxIpcExports; ++i) {
    const auto t = table->publish(memory(exporter, 0), nullptr);
    REQUIRE(t);
    tokens.push_back(*t);
  }
  CHECK_FALSE(table->publish(memory(exporter, 0), nullptr));
  // One hold record per slot and entry: fill them, slot by slot, entry by entry.
  IpcExport e;
  uint32_t held = 0;
  for (uint32_t t = 0; held < vgpu::limits::kMaxIpcHolds; ++t)
    for (uint32_t slot = 0; slot < vgpud::kIpcWorkerSlots && held < vgpu::limits::kMaxIpcHolds; ++slot, ++held)
      REQUIRE(table->find(tokens[t], IpcKind::Memory, slot, true, &e) == IpcTable::Found::Yes);
  const uint32_t next = vgpu::limits::kMaxIpcHolds / vgpud::kIpcWorkerSlots + 1;
  CHECK(table->find(tokens[next], IpcKind::Memory, 0, true, &e) == IpcTable::Found::Full);
  // Opening again what a slot holds needs no record; finding without holding needs none either.
  CHECK(table->find(tokens[0], IpcKind::Memory, 0, true, &e) == IpcTable::Found::Yes);
  CHECK(table->find(tokens[next], IpcKind::Memory, 0, false, &e) == IpcTable::Found::Yes);
  // A holder's death frees its records.
  table->reclaim(0, nullptr);
  CHECK(table->find(tokens[next], IpcKind::Memory, 1, true, &e) == IpcTable::Found::Yes);
}
