// The VM slot table's decisions (vgpud/transport/ivshmem/slot_table.h), driven with made-up guest
// snapshots and a made-up clock: no VM, no worker, no waiting for a lease to run out.
#include "vgpud/transport/ivshmem/slot_table.h"

#include <catch2/catch.hpp>

#include <vector>

using namespace vgpud::ivshmem;
using namespace std::chrono_literals;
using vgpu::proto::SlotState;
using Clock = SlotTable::Clock;

namespace {

constexpr auto kLeaseTimeout = 3000ms;
// Room for every claim: for tests about something other than the tenant's limit.
constexpr size_t kRoom = 16;
const Clock::time_point t0 = Clock::time_point{} + 1h;

SlotSnapshot snap(SlotState state, uint64_t lease = 0, uint32_t guest_pid = 0) {
  return {static_cast<uint32_t>(state), lease, guest_pid};
}

// A guest whose slots are all Free, with one slot set to `s`.
std::vector<SlotSnapshot> guest_with(uint32_t slots, uint32_t index, SlotSnapshot s) {
  std::vector<SlotSnapshot> g(slots, snap(SlotState::Free));
  g[index] = s;
  return g;
}

template <class A>
std::vector<A> only(const std::vector<SlotAction>& actions) {
  std::vector<A> out;
  for (const SlotAction& a : actions)
    if (const A* x = std::get_if<A>(&a)) out.push_back(*x);
  return out;
}

// Slot `index` of a fresh 4-slot table, claimed by pid 4242 with lease 7 and served by worker
// 100 from t0 on.
SlotTable serving_table(uint32_t index) {
  SlotTable table(4, kLeaseTimeout);
  auto actions = table.scan(guest_with(4, index, snap(SlotState::Claimed, 7, 4242)), t0, kRoom);
  REQUIRE(actions.size() == 1);
  table.started(index, 100, t0);
  REQUIRE(table.phase(index) == SlotTable::Phase::Serving);
  return table;
}

}  // namespace

TEST_CASE("a claimed slot is started, and served once its worker runs", "[slot_table]") {
  SlotTable table(4, kLeaseTimeout);
  CHECK(table.scan(std::vector<SlotSnapshot>(4, snap(SlotState::Free)), t0, kRoom).empty());
  auto actions = table.scan(guest_with(4, 2, snap(SlotState::Claimed, 7, 4242)), t0, kRoom);
  REQUIRE(actions.size() == 1);
  const auto* start = std::get_if<action::Start>(&actions[0]);
  REQUIRE(start != nullptr);
  CHECK(start->slot == 2);
  CHECK(start->guest_pid == 4242);
  CHECK(table.phase(2) == SlotTable::Phase::Starting);
  CHECK(table.active() == 1);
  // While the start is out, the slot is the daemon's: the guest's Claimed is not a second claim.
  CHECK(table.scan(guest_with(4, 2, snap(SlotState::Claimed, 7, 4242)), t0, kRoom).empty());

  table.started(2, 100, t0 + 10ms);
  CHECK(table.phase(2) == SlotTable::Phase::Serving);
  CHECK(table.worker(2) == 100);
  CHECK(table.scan(guest_with(4, 2, snap(SlotState::Ready, 7, 4242)), t0 + 20ms, kRoom).empty());
}

TEST_CASE("a slot whose worker cannot start is Free again", "[slot_table]") {
  SlotTable table(2, kLeaseTimeout);
  auto actions = table.scan(guest_with(2, 1, snap(SlotState::Claimed, 0, 9)), t0, kRoom);
  REQUIRE(only<action::Start>(actions).size() == 1);
  table.start_failed(1);
  CHECK(table.phase(1) == SlotTable::Phase::Free);
  CHECK(table.active() == 0);
  // started() for a slot that is not Starting changes nothing.
  table.started(1, 55, t0);
  CHECK(table.phase(1) == SlotTable::Phase::Free);
  CHECK(!table.worker_exited(55));
}

TEST_CASE("claims beyond the tenant's room are refused and counted", "[slot_table]") {
  SlotTable table(4, kLeaseTimeout);
  std::vector<SlotSnapshot> g(4, snap(SlotState::Claimed, 0, 1));
  g[3] = snap(SlotState::Free);
  auto actions = table.scan(g, t0, 2);
  // Slots 0 and 1 take the room; slot 2 sees the two starts handed out before it in the scan.
  REQUIRE(actions.size() == 4);
  CHECK(std::get<action::Start>(actions[0]).slot == 0);
  CHECK(std::get<action::Start>(actions[1]).slot == 1);
  CHECK(std::get<action::CountRejected>(actions[2]).slot == 2);
  CHECK(std::get<action::Refuse>(actions[3]).slot == 2);
  CHECK(table.phase(2) == SlotTable::Phase::Free);
  CHECK(table.active() == 2);

  // Under max_processes 2, both workers (the draining one still holds its GPU state) leave
  // the tenant no room.
  table.started(0, 100, t0);
  table.started(1, 101, t0);
  g = {snap(SlotState::Closing), snap(SlotState::Ready), snap(SlotState::Free), snap(SlotState::Claimed, 0, 2)};
  actions = table.scan(g, t0, 0);
  REQUIRE(only<action::End>(actions).size() == 1);
  REQUIRE(only<action::Refuse>(actions).size() == 1);
  CHECK(only<action::Refuse>(actions)[0].slot == 3);
  CHECK(only<action::Refuse>(actions)[0].guest_pid == 2);
  CHECK(only<action::CountRejected>(actions).size() == 1);

  // Once its worker is gone there is room again.
  REQUIRE(table.worker_exited(100) == 0u);
  actions = table.scan(g, t0, 1);
  REQUIRE(only<action::Start>(actions).size() == 1);
  CHECK(only<action::Start>(actions)[0].slot == 3);
}

TEST_CASE("the tenant's processes elsewhere count: no room refuses a claim on an empty table",
          "[slot_table]") {
  // A tenant whose local socket holds all its max_processes: the VM's first claim is refused,
  // and granted once the daemon's count leaves room.
  SlotTable table(1, kLeaseTimeout);
  const std::vector<SlotSnapshot> g{snap(SlotState::Claimed)};
  auto actions = table.scan(g, t0, 0);
  CHECK(only<action::Refuse>(actions).size() == 1);
  CHECK(only<action::Start>(actions).empty());
  CHECK(table.active() == 0);
  actions = table.scan(g, t0, 1);
  CHECK(only<action::Start>(actions).size() == 1);
}

TEST_CASE("a closing slot is ended and drains", "[slot_table]") {
  SlotTable table = serving_table(1);
  auto actions = table.scan(guest_with(4, 1, snap(SlotState::Closing, 7)), t0 + 100ms, kRoom);
  REQUIRE(actions.size() == 1);
  CHECK(std::get<action::End>(actions[0]).slot == 1);
  CHECK(std::get<action::End>(actions[0]).reason == EndReason::Closed);
  CHECK(table.phase(1) == SlotTable::Phase::Draining);
  CHECK(table.active() == 1);
}

TEST_CASE("a guest that overwrites a served slot's state loses it, and is counted", "[slot_table]") {
  for (uint32_t state : {0u, 1u, 4u, 77u, 0xffffffffu}) {
    SlotTable table = serving_table(0);
    auto actions = table.scan(guest_with(4, 0, SlotSnapshot{state, 7, 4242}), t0 + 100ms, kRoom);
    REQUIRE(actions.size() == 2);
    CHECK(std::get<action::CountRejected>(actions[0]).slot == 0);
    CHECK(std::get<action::End>(actions[1]).reason == EndReason::GuestOverwrote);
    CHECK(table.phase(0) == SlotTable::Phase::Draining);
  }
}

TEST_CASE("a lease that moves keeps the slot; one that stands still past the timeout ends it", "[slot_table]") {
  SlotTable table = serving_table(3);
  // Bumped every 200 ms for a minute: long past the timeout, never ended.
  uint64_t lease = 7;
  Clock::time_point now = t0;
  for (int i = 0; i < 300; ++i) {
    now += 200ms;
    CHECK(table.scan(guest_with(4, 3, snap(SlotState::Ready, ++lease)), now, kRoom).empty());
  }
  // Then it stops: the timeout counts from the last change, and must be exceeded.
  CHECK(table.scan(guest_with(4, 3, snap(SlotState::Ready, lease)), now + kLeaseTimeout, kRoom).empty());
  auto actions = table.scan(guest_with(4, 3, snap(SlotState::Ready, lease)), now + kLeaseTimeout + 1ms, kRoom);
  REQUIRE(actions.size() == 1);
  CHECK(std::get<action::End>(actions[0]).slot == 3);
  CHECK(std::get<action::End>(actions[0]).reason == EndReason::LeaseExpired);
  CHECK(table.phase(3) == SlotTable::Phase::Draining);
}

TEST_CASE("the lease counts from the worker's start, at the lease the claim had", "[slot_table]") {
  SlotTable table(1, kLeaseTimeout);
  REQUIRE(table.scan(std::vector<SlotSnapshot>{snap(SlotState::Claimed, 5)}, t0, kRoom).size() == 1);
  table.started(0, 100, t0 + 1s);  // the start took a second
  const std::vector<SlotSnapshot> still{snap(SlotState::Ready, 5)};
  CHECK(table.scan(still, t0 + 1s + kLeaseTimeout, kRoom).empty());
  CHECK(only<action::End>(table.scan(still, t0 + 1s + kLeaseTimeout + 1ms, kRoom)).size() == 1);
}

TEST_CASE("an odd state on a Free slot is reset to Free after the lease timeout", "[slot_table]") {
  for (SlotState odd : {SlotState::Refused, SlotState::Ready, SlotState::Closing}) {
    SlotTable table(2, kLeaseTimeout);
    const auto g = guest_with(2, 1, snap(odd));
    CHECK(table.scan(g, t0, kRoom).empty());
    CHECK(table.scan(g, t0 + kLeaseTimeout, kRoom).empty());
    auto actions = table.scan(g, t0 + kLeaseTimeout + 1ms, kRoom);
    REQUIRE(actions.size() == 1);
    CHECK(std::get<action::SetGuestState>(actions[0]).slot == 1);
    CHECK(std::get<action::SetGuestState>(actions[0]).state == SlotState::Free);
    CHECK(table.phase(1) == SlotTable::Phase::Free);
    // The clock starts again if the guest leaves it odd.
    CHECK(table.scan(g, t0 + kLeaseTimeout + 2ms, kRoom).empty());
  }
  // A guest that sets it back to Free in time stops the clock.
  SlotTable table(1, kLeaseTimeout);
  const std::vector<SlotSnapshot> odd{snap(SlotState::Refused)}, free{snap(SlotState::Free)};
  CHECK(table.scan(odd, t0, kRoom).empty());
  CHECK(table.scan(free, t0 + 2s, kRoom).empty());
  CHECK(table.scan(odd, t0 + 4s, kRoom).empty());
  CHECK(table.scan(odd, t0 + 4s + kLeaseTimeout, kRoom).empty());
  CHECK(table.scan(odd, t0 + 4s + kLeaseTimeout + 1ms, kRoom).size() == 1);
}

TEST_CASE("a worker's exit frees its slot for the next claim", "[slot_table]") {
  SlotTable table = serving_table(2);
  CHECK(!table.worker_exited(999));
  // Its worker can die while it serves (VmEndpoint then tells the guest Free) ...
  CHECK(table.worker_exited(100) == 2u);
  CHECK(table.phase(2) == SlotTable::Phase::Free);
  CHECK(table.active() == 0);
  CHECK(!table.worker_exited(100));
  // ... and a guest that still says Ready there is then an odd state, not a served slot.
  CHECK(table.scan(guest_with(4, 2, snap(SlotState::Ready, 7)), t0 + 10s, kRoom).empty());
  auto actions = table.scan(guest_with(4, 2, snap(SlotState::Claimed, 8, 5)), t0 + 11s, kRoom);
  REQUIRE(actions.size() == 1);
  CHECK(std::get<action::Start>(actions[0]).slot == 2);
}

TEST_CASE("draining slots are not looked at until their worker exits", "[slot_table]") {
  SlotTable table = serving_table(0);
  REQUIRE(table.scan(guest_with(4, 0, snap(SlotState::Closing, 7)), t0, kRoom).size() == 1);
  for (uint32_t state : {0u, 1u, 2u, 3u, 4u, 1234u})
    CHECK(table.scan(guest_with(4, 0, SlotSnapshot{state, 7, 1}), t0 + 1h, kRoom).empty());
  CHECK(table.phase(0) == SlotTable::Phase::Draining);
  CHECK(table.worker_exited(100) == 0u);
  CHECK(table.phase(0) == SlotTable::Phase::Free);
}

TEST_CASE("QEMU going away ends every served slot", "[slot_table]") {
  SlotTable table(4, kLeaseTimeout);
  std::vector<SlotSnapshot> g(4, snap(SlotState::Claimed));
  REQUIRE(table.scan(g, t0, kRoom).size() == 4);
  table.started(0, 100, t0);
  table.started(1, 101, t0);
  table.started(3, 103, t0);
  table.start_failed(2);
  g[1] = snap(SlotState::Closing);
  g[0] = g[3] = snap(SlotState::Ready);
  g[2] = snap(SlotState::Refused);
  REQUIRE(table.scan(g, t0, kRoom).size() == 1);  // slot 1 ends
  CHECK(table.disconnect() == std::vector<uint32_t>{0, 3});
  CHECK(table.phase(0) == SlotTable::Phase::Draining);
  CHECK(table.disconnect().empty());
  CHECK(table.worker_exited(103) == 3u);
}

TEST_CASE("the fuzz trace format reads back what was written", "[slot_table]") {
  std::vector<uint8_t> bytes;
  trace::append_header(bytes, {.slot_count = 2, .max_processes = 5, .lease_timeout_ms = 3000});
  const std::vector<SlotSnapshot> g{snap(SlotState::Claimed, 1, 77), SlotSnapshot{0xdeadbeef, ~0ull, 0}};
  trace::append_scan(bytes, {.step_ms = 100, .flags = 1, .exited = 2, .start_failed = 3}, g);
  REQUIRE(bytes.size() == trace::kHeaderSize + trace::kScanHeaderSize + 2 * trace::kSnapshotSize);

  std::span<const uint8_t> in(bytes);
  const auto header = trace::read_header(in);
  REQUIRE(header);
  CHECK(header->slot_count == 2);
  CHECK(header->max_processes == 5);
  CHECK(header->lease_timeout_ms == 3000);
  std::vector<SlotSnapshot> back(2);
  const auto events = trace::read_scan(in, back);
  REQUIRE(events);
  CHECK(events->step_ms == 100);
  CHECK(events->flags == 1);
  CHECK(events->exited == 2);
  CHECK(events->start_failed == 3);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(back[i].state == g[i].state);
    CHECK(back[i].lease == g[i].lease);
    CHECK(back[i].guest_pid == g[i].guest_pid);
  }
  CHECK(in.empty());
  CHECK(!trace::read_scan(in, back));
}
