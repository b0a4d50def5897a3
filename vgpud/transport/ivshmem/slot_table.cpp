#include "vgpud/transport/ivshmem/slot_table.h"

#include <algorithm>

namespace vgpud::ivshmem {

const char* end_reason_text(EndReason reason) {
  switch (reason) {
    case EndReason::Closed: return "the process closed its channel";
    case EndReason::GuestOverwrote: return "the guest overwrote the slot's state";
    case EndReason::LeaseExpired: return "its lease expired: the process is gone";
  }
  return "ended";
}

SlotTable::SlotTable(uint32_t slot_count, std::chrono::milliseconds lease_timeout)
    : slots_(slot_count), lease_timeout_(lease_timeout) {}

size_t SlotTable::active() const {
  return static_cast<size_t>(std::count_if(slots_.begin(), slots_.end(),
                                           [](const Slot& s) { return s.phase != Phase::Free; }));
}

std::vector<SlotAction> SlotTable::scan(std::span<const SlotSnapshot> guest, Clock::time_point now,
                                        size_t room) {
  using proto::SlotState;
  std::vector<SlotAction> actions;
  size_t starting = 0;  // Starts handed out in this scan: not yet workers the daemon counts
  const size_t count = std::min(guest.size(), slots_.size());
  for (uint32_t i = 0; i < count; ++i) {
    Slot& slot = slots_[i];
    const SlotSnapshot& g = guest[i];
    switch (slot.phase) {
      case Phase::Free:
        if (g.state == static_cast<uint32_t>(SlotState::Claimed)) {
          if (starting >= room) {
            actions.push_back(action::CountRejected{i});
            actions.push_back(action::Refuse{i, g.guest_pid});
          } else {
            slot.phase = Phase::Starting;
            ++starting;
            // The lease the process had when it claimed: the first bump after this counts as
            // life. (odd_since stays: a slot that is served never looks at it, and one whose
            // start fails picks up where it was.)
            slot.lease = g.lease;
            actions.push_back(action::Start{i, g.guest_pid});
          }
        } else if (g.state != static_cast<uint32_t>(SlotState::Free)) {
          // Refused and never reset (the process died), or a state only vgpud may set:
          // give the guest a lease period to sort it out, then free the slot.
          if (!slot.odd_since) slot.odd_since = now;
          if (now - *slot.odd_since > lease_timeout_) {
            actions.push_back(action::SetGuestState{i, SlotState::Free});
            slot.odd_since.reset();
          }
        } else {
          slot.odd_since.reset();
        }
        break;
      case Phase::Serving:
        if (g.state == static_cast<uint32_t>(SlotState::Closing)) {
          slot.phase = Phase::Draining;
          actions.push_back(action::End{i, EndReason::Closed});
        } else if (g.state != static_cast<uint32_t>(SlotState::Ready)) {
          slot.phase = Phase::Draining;
          actions.push_back(action::CountRejected{i});
          actions.push_back(action::End{i, EndReason::GuestOverwrote});
        } else if (g.lease != slot.lease) {
          slot.lease = g.lease;
          slot.lease_seen = now;
        } else if (now - slot.lease_seen > lease_timeout_) {
          slot.phase = Phase::Draining;
          actions.push_back(action::End{i, EndReason::LeaseExpired});
        }
        break;
      case Phase::Starting:
      case Phase::Draining:
        break;
    }
  }
  return actions;
}

void SlotTable::started(uint32_t slot, pid_t worker, Clock::time_point now) {
  if (slot >= slots_.size() || slots_[slot].phase != Phase::Starting) return;
  Slot& s = slots_[slot];
  s.phase = Phase::Serving;
  s.worker = worker;
  s.lease_seen = now;
}

void SlotTable::start_failed(uint32_t slot) {
  if (slot >= slots_.size() || slots_[slot].phase != Phase::Starting) return;
  slots_[slot].phase = Phase::Free;
}

std::vector<uint32_t> SlotTable::disconnect() {
  std::vector<uint32_t> ended;
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].phase != Phase::Serving) continue;
    slots_[i].phase = Phase::Draining;  // the workers keep their own mapping of their slot
    ended.push_back(i);
  }
  return ended;
}

std::optional<uint32_t> SlotTable::worker_exited(pid_t pid) {
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    Slot& slot = slots_[i];
    // Only slots that have a worker: a Starting slot's pid is not known yet.
    if ((slot.phase != Phase::Serving && slot.phase != Phase::Draining) || slot.worker != pid) continue;
    slot = Slot{};
    return i;
  }
  return std::nullopt;
}

namespace trace {

namespace {

void put32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put64(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
uint32_t get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{p[i]} << (8 * i);
  return v;
}
uint64_t get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

}  // namespace

void append_header(std::vector<uint8_t>& out, const Header& h) {
  put32(out, h.slot_count);
  put32(out, h.max_processes);
  put32(out, h.lease_timeout_ms);
}

void append_scan(std::vector<uint8_t>& out, const ScanEvents& e, std::span<const SlotSnapshot> guest) {
  put32(out, e.step_ms);
  put32(out, e.flags);
  put32(out, e.exited);
  put32(out, e.start_failed);
  for (const SlotSnapshot& s : guest) {
    put32(out, s.state);
    put64(out, s.lease);
    put32(out, s.guest_pid);
  }
}

std::optional<Header> read_header(std::span<const uint8_t>& in) {
  if (in.size() < kHeaderSize) return std::nullopt;
  Header h{get32(in.data()), get32(in.data() + 4), get32(in.data() + 8)};
  in = in.subspan(kHeaderSize);
  return h;
}

std::optional<ScanEvents> read_scan(std::span<const uint8_t>& in, std::span<SlotSnapshot> guest) {
  if (in.size() < kScanHeaderSize || (in.size() - kScanHeaderSize) / kSnapshotSize < guest.size())
    return std::nullopt;
  const uint8_t* p = in.data();
  ScanEvents e{get32(p), get32(p + 4), get32(p + 8), get32(p + 12)};
  p += kScanHeaderSize;
  for (SlotSnapshot& s : guest) {
    s = SlotSnapshot{get32(p), get64(p + 4), get32(p + 12)};
    p += kSnapshotSize;
  }
  in = in.subspan(static_cast<size_t>(p - in.data()));
  return e;
}

}  // namespace trace

}  // namespace vgpud::ivshmem
