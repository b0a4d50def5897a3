// A VM's slot table (vgpud/transport/ivshmem/slot_table.h) driven by a hostile or broken
// guest: any sequence of slot words, clock steps, worker start failures, worker exits and QEMU
// reconnects. The input is the trace format of slot_table.h, which VmEndpoint also records from
// real VMs. Besides ASan and UBSan, the decisions are checked against what must hold whatever
// the guest writes:
//   - a slot is started only from Free, on a Claimed word, and only while the tenant's taken
//     slots and its processes elsewhere (the scan's room) stay below max_processes; every such
//     claim is either started or refused, and refused only when there is no room;
//   - only a Serving slot is ended, always when its word is not Ready, and for its lease
//     exactly when the lease stood still for longer than the lease timeout;
//   - a Free slot's word is reset only after the lease timeout, and only when it is odd;
//   - Starting and Draining slots are left alone; a worker exit frees exactly its own slot;
//   - the slots taken (not Free) never exceed max_processes.
#include <chrono>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "vgpud/transport/ivshmem/slot_table.h"

using namespace vgpud::ivshmem;
using vgpu::proto::SlotState;
using Clock = SlotTable::Clock;
using Phase = SlotTable::Phase;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr uint32_t word(SlotState s) { return static_cast<uint32_t>(s); }

uint32_t action_slot(const SlotAction& a) {
  return std::visit([](const auto& x) { return x.slot; }, a);
}

// What the fuzzer itself knows of each slot, independently of the table.
struct Model {
  pid_t worker = -1;             // while Serving or Draining
  uint64_t lease = 0;            // while Serving: the last lease the table was shown ...
  Clock::time_point changed{};   // ... and when it was first shown
  Clock::time_point clean{};     // last time the slot was known not odd (Free with a Free word)
  uint64_t claim_lease = 0;      // while Starting: the lease of the claim
};

// Upper bound on the simulated time, far below where nanosecond time_points overflow.
constexpr uint64_t kMaxElapsedMs = uint64_t{1} << 40;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  const auto header = trace::read_header(in);
  if (!header) return 0;
  // 1 … kMaxVmSlots, and a recorded slot_count reads as itself.
  const uint32_t slots = (header->slot_count - 1) % vgpu::proto::kMaxVmSlots + 1;
  const uint32_t max_processes = header->max_processes;
  const auto timeout = std::chrono::milliseconds(header->lease_timeout_ms);

  uint64_t elapsed_ms = 0;
  Clock::time_point now = Clock::time_point{} + std::chrono::hours(1);
  SlotTable table(slots, timeout);
  std::vector<Model> model(slots, Model{.clean = now});
  pid_t next_pid = 1000;
  std::vector<SlotSnapshot> guest(slots);

  auto check_counts = [&] {
    size_t taken = 0;
    for (uint32_t i = 0; i < slots; ++i) {
      const Phase p = table.phase(i);
      taken += p != Phase::Free;
      if (p == Phase::Serving || p == Phase::Draining) check(table.worker(i) == model[i].worker);
    }
    check(taken == table.active());
    check(taken <= max_processes);
  };

  while (true) {
    const auto events = trace::read_scan(in, guest);
    if (!events) break;
    elapsed_ms += events->step_ms;
    if (elapsed_ms > kMaxElapsedMs) break;
    now += std::chrono::milliseconds(events->step_ms);

    if (events->flags & trace::kReconnected) {
      std::vector<uint32_t> serving;
      for (uint32_t i = 0; i < slots; ++i)
        if (table.phase(i) == Phase::Serving) serving.push_back(i);
      check(table.disconnect() == serving);
      for (uint32_t i : serving) check(table.phase(i) == Phase::Draining);
      check(table.disconnect().empty());
      // A reconnected QEMU gets a fresh region and VmEndpoint a fresh table.
      table = SlotTable(slots, timeout);
      model.assign(slots, Model{.clean = now});
    }

    for (uint32_t i = 0; i < slots; ++i) {
      if (!(events->exited >> i & 1)) continue;
      const Phase p = table.phase(i);
      if (p == Phase::Serving || p == Phase::Draining) {
        check(table.worker_exited(model[i].worker) == i);
        check(table.phase(i) == Phase::Free);
        check(!table.worker_exited(model[i].worker));
        model[i] = Model{.clean = now};
      } else {
        // Not a pid this table handed out (those count up from 1000).
        check(!table.worker_exited(static_cast<pid_t>(i) + 1));
        check(table.phase(i) == p);
      }
    }
    check_counts();

    std::vector<Phase> before(slots);
    for (uint32_t i = 0; i < slots; ++i) before[i] = table.phase(i);
    size_t taken = table.active();
    // The daemon's count: the tenant's processes elsewhere, and this table's own.
    const uint64_t others = events->flags >> trace::kOthersShift;
    const uint64_t live = taken + others;
    const size_t room = live < max_processes ? static_cast<size_t>(max_processes - live) : 0;
    const std::vector<SlotAction> actions = table.scan(guest, now, room);

    // Walk the actions in order: each is allowed by the slot's phase and word before the scan.
    std::vector<bool> decided(slots, false);
    std::vector<bool> counted(slots, false);
    uint32_t last_slot = 0;
    for (size_t k = 0; k < actions.size(); ++k) {
      const SlotAction& a = actions[k];
      const uint32_t i = action_slot(a);
      check(i < slots);
      check(i >= last_slot);  // slot order, as VmEndpoint logs them
      last_slot = i;
      const SlotSnapshot& g = guest[i];
      if (std::holds_alternative<action::CountRejected>(a)) {
        check(!counted[i] && !decided[i]);
        counted[i] = true;
        check(k + 1 < actions.size() && action_slot(actions[k + 1]) == i);
        continue;
      }
      check(!decided[i]);
      decided[i] = true;
      if (const auto* start = std::get_if<action::Start>(&a)) {
        check(before[i] == Phase::Free && g.state == word(SlotState::Claimed));
        check(start->guest_pid == g.guest_pid && !counted[i]);
        check(taken + others < max_processes);
        ++taken;
        check(table.phase(i) == Phase::Starting);
        model[i].claim_lease = g.lease;
      } else if (const auto* refuse = std::get_if<action::Refuse>(&a)) {
        check(before[i] == Phase::Free && g.state == word(SlotState::Claimed));
        check(refuse->guest_pid == g.guest_pid && counted[i]);
        check(taken + others >= max_processes);
        check(table.phase(i) == Phase::Free);
      } else if (const auto* end = std::get_if<action::End>(&a)) {
        check(before[i] == Phase::Serving);
        check(table.phase(i) == Phase::Draining);
        switch (end->reason) {
          case EndReason::Closed:
            check(g.state == word(SlotState::Closing) && !counted[i]);
            break;
          case EndReason::GuestOverwrote:
            check(g.state != word(SlotState::Closing) && g.state != word(SlotState::Ready) && counted[i]);
            break;
          case EndReason::LeaseExpired:
            check(g.state == word(SlotState::Ready) && !counted[i]);
            check(g.lease == model[i].lease && now - model[i].changed > timeout);
            break;
        }
      } else if (const auto* set = std::get_if<action::SetGuestState>(&a)) {
        check(before[i] == Phase::Free && table.phase(i) == Phase::Free && !counted[i]);
        check(set->state == SlotState::Free);
        check(g.state != word(SlotState::Free) && g.state != word(SlotState::Claimed));
        check(now - model[i].clean > timeout);
        model[i].clean = now;
      }
    }

    // And what had to happen did.
    for (uint32_t i = 0; i < slots; ++i) {
      const SlotSnapshot& g = guest[i];
      switch (before[i]) {
        case Phase::Free:
          if (g.state == word(SlotState::Claimed)) check(decided[i]);
          if (g.state == word(SlotState::Free)) {
            check(!decided[i]);
            model[i].clean = now;
          }
          if (!decided[i]) check(table.phase(i) == Phase::Free);
          break;
        case Phase::Serving:
          if (g.state != word(SlotState::Ready)) {
            check(decided[i]);
          } else if (g.lease != model[i].lease) {
            check(!decided[i] && table.phase(i) == Phase::Serving);
            model[i].lease = g.lease;
            model[i].changed = now;
          } else {
            check(decided[i] == (now - model[i].changed > timeout));
          }
          break;
        case Phase::Starting:  // never between scans: every start is answered below
        case Phase::Draining:
          check(!decided[i] && !counted[i] && table.phase(i) == before[i]);
          break;
      }
    }
    check_counts();

    // VmEndpoint answers every start before the next scan.
    for (const SlotAction& a : actions) {
      const auto* start = std::get_if<action::Start>(&a);
      if (start == nullptr) continue;
      const uint32_t i = start->slot;
      if (events->start_failed >> i & 1) {
        table.start_failed(i);
        check(table.phase(i) == Phase::Free);
      } else {
        const pid_t pid = next_pid++;
        table.started(i, pid, now);
        check(table.phase(i) == Phase::Serving && table.worker(i) == pid);
        model[i].worker = pid;
        model[i].lease = model[i].claim_lease;
        model[i].changed = now;
      }
      // Answering twice changes nothing.
      const Phase settled = table.phase(i);
      table.start_failed(i);
      table.started(i, 1, now);
      check(table.phase(i) == settled);
    }
    check_counts();
  }
  return 0;
}
