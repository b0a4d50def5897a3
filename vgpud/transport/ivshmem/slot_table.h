// The slot table of one VM (docs/protocol.md §7) as a pure state machine: what vgpud decides
// about each slot, given what the guest wrote and the time. VmEndpoint (vm_endpoint.h) reads
// the guest's slot words once per scan (read_slots), hands the snapshots to SlotTable::scan
// and carries out the actions it returns: starting workers, closing lifelines, writing guest
// states, counting and logging. The table does no I/O and reads no clock, so every rule here is
// unit tested and fuzzed (test/fuzz/fuzz_slot_table.cpp) without a VM, a worker or a wait.
//
// The guest's word is a request, never the table's state: the table keeps its own phase for
// each slot and acts only on the transitions it expects from that phase. The words are
// proto::SlotState (vm_layout.h); a scan decides, per slot:
//
//   phase     guest word                 decision
//   Free      Claimed                    Start -> Starting while the tenant has room; else
//                                        CountRejected, Refuse (the guest gives up, sets Free)
//   Free      Free                       nothing (an odd word seen before is forgotten)
//   Free      anything else              left for lease_timeout, then SetGuestState Free
//   Starting  not looked at              started() -> Serving, start_failed() -> Free
//   Serving   Closing                    End (Closed) -> Draining
//   Serving   Ready, lease moved         nothing; the lease is counted again from now
//   Serving   Ready, lease stood still   past lease_timeout: End (LeaseExpired) -> Draining
//   Serving   anything else              CountRejected, End (GuestOverwrote) -> Draining
//   Draining  not looked at              worker_exited() -> Free
//
// Outside scans, disconnect() (QEMU went away) moves every Serving slot to Draining.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "vgpu/protocol/vm_layout.h"
#include "vgpud/protocol_alias.h"

namespace vgpud::ivshmem {

// What the guest wrote into one SlotControl, read once (read_slot, vm_endpoint.h). `state` is
// the raw word: a guest may write anything there, not only a proto::SlotState, and the table
// treats every word it does not expect in a phase alike (above). Kept raw so that a recorded
// trace (below) replays exactly what the guest wrote.
struct SlotSnapshot {
  uint32_t state;
  uint64_t lease;
  uint32_t guest_pid;  // for logs only
};

enum class EndReason {
  Closed,          // the guest set Closing
  GuestOverwrote,  // the guest wrote a state other than Ready or Closing into a served slot
  LeaseExpired,    // the lease stood still for lease_timeout: the process is gone
};
const char* end_reason_text(EndReason reason);

// What VmEndpoint does after a scan, in the order returned (the order today's log shows).
namespace action {
// Lay out slot's channel and start its worker; answer with started() or start_failed().
struct Start { uint32_t slot; uint32_t guest_pid; };
// The tenant has no room (scan's `room`): tell the guest Refused (and log). Preceded by
// CountRejected.
struct Refuse { uint32_t slot; uint32_t guest_pid; };
// Stop serving the slot: close the worker's lifeline; the worker drains and exits, and
// worker_exited() then frees the slot.
struct End { uint32_t slot; EndReason reason; };
// Write the slot's guest-visible state (only Free today: an odd state the guest left behind).
struct SetGuestState { uint32_t slot; proto::SlotState state; };
// Count one rejected request (HopCounters::rejected).
struct CountRejected { uint32_t slot; };
}  // namespace action
using SlotAction =
    std::variant<action::Start, action::Refuse, action::End, action::SetGuestState, action::CountRejected>;

class SlotTable {
 public:
  using Clock = std::chrono::steady_clock;
  // Starting: a Start was handed out and neither started() nor start_failed() came back yet.
  enum class Phase { Free, Starting, Serving, Draining };

  SlotTable(uint32_t slot_count, std::chrono::milliseconds lease_timeout);

  // One look at the guest's slots (guest[i] is slot i; slots beyond guest.size() are not
  // looked at). Starting and Draining slots are not looked at either: they wait for the
  // daemon, not the guest.
  //
  // `room`: how many more processes the tenant takes now, as the daemon counts them for all
  // its endpoints (max_processes less every live worker of the tenant, this table's included).
  // The table does not count its own slots against a limit: a tenant with a socket as well as
  // a VM has one limit for both. Each Start this scan hands out takes one of `room`; claims
  // beyond it are refused.
  std::vector<SlotAction> scan(std::span<const SlotSnapshot> guest, Clock::time_point now, size_t room);

  // The worker of a Starting slot runs: the slot is Serving, its lease counted from now (the
  // start may take a while; the guest is not charged for it).
  void started(uint32_t slot, pid_t worker, Clock::time_point now);
  // The worker of a Starting slot could not be started: the slot is Free again. VmEndpoint tells
  // the guest Refused and counts it, as for a full tenant.
  void start_failed(uint32_t slot);
  // QEMU went away: every Serving slot is ended (returned; close their lifelines) and drains.
  std::vector<uint32_t> disconnect();
  // A worker ended: its slot (returned) is Free; VmEndpoint bumps its epoch and sets it Free for
  // the guest. nullopt when the pid is not one of this table's workers.
  std::optional<uint32_t> worker_exited(pid_t pid);

  // Slots that are not Free (each holds, or is about to hold, one of the tenant's workers).
  size_t active() const;
  uint32_t size() const { return static_cast<uint32_t>(slots_.size()); }
  Phase phase(uint32_t slot) const { return slots_[slot].phase; }
  pid_t worker(uint32_t slot) const { return slots_[slot].worker; }

 private:
  struct Slot {
    Phase phase = Phase::Free;
    pid_t worker = -1;
    uint64_t lease = 0;  // the last lease seen, and when it was first seen
    Clock::time_point lease_seen{};
    std::optional<Clock::time_point> odd_since;  // the guest left a state we did not expect
  };

  std::vector<Slot> slots_;
  std::chrono::milliseconds lease_timeout_;
};

// fuzz_slot_table's input, which VmEndpoint also records from real VMs (corpus_recorder.h) so that
// real traffic seeds the fuzzer. All words little-endian:
//   header  u32 slot_count, u32 max_processes (the tenant's), u32 lease_timeout_ms
//   scan    u32 step_ms       time since the previous scan
//           u32 flags         bit 0: QEMU disconnected and reconnected before this scan;
//                             bits 16-31: the tenant's live processes outside this table (its
//                             local channels, a previous QEMU's draining slots), so that the
//                             scan's room is max_processes less those and the table's own
//           u32 exited        bit i: slot i's worker exited before this scan
//           u32 start_failed  bit i: starting slot i's worker fails in this scan
//           slot_count × (u32 state, u64 lease, u32 guest_pid)
// then more scans, to the end of the input.
namespace trace {
inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kScanHeaderSize = 16;
inline constexpr size_t kSnapshotSize = 16;
inline constexpr uint32_t kReconnected = 1;
inline constexpr uint32_t kOthersShift = 16;
inline constexpr uint32_t kOthersMax = 0xffff;

struct Header {
  uint32_t slot_count;
  uint32_t max_processes;
  uint32_t lease_timeout_ms;
};
struct ScanEvents {
  uint32_t step_ms = 0;
  uint32_t flags = 0;
  uint32_t exited = 0;
  uint32_t start_failed = 0;
};

void append_header(std::vector<uint8_t>& out, const Header& h);
void append_scan(std::vector<uint8_t>& out, const ScanEvents& e, std::span<const SlotSnapshot> guest);
// The reading side: nullopt when fewer bytes are left than the header (or a scan) needs.
std::optional<Header> read_header(std::span<const uint8_t>& in);
std::optional<ScanEvents> read_scan(std::span<const uint8_t>& in, std::span<SlotSnapshot> guest);
}  // namespace trace

}  // namespace vgpud::ivshmem
