// Per-tenant counters, one per hop of a call, so one can read off where calls stop:
// doorbells -> received -> (rejected | dispatched) -> executed (driver_errors) -> answered.
//
// Grouped by the thread that writes them, each group on its own cache line: a channel's
// mediator and executor bump theirs on every message, and sharing one line would make every
// bump a cache-line transfer between the two cores.
#pragma once
#include <atomic>
#include <cstdint>

namespace vgpud {

struct HopCounters {
  // The daemon.
  alignas(64) std::atomic<uint64_t> channels_opened{0};
  std::atomic<uint64_t> channels_closed{0};
  // Mediators.
  alignas(64) std::atomic<uint64_t> doorbells{0};  // wake-ups from the guest
  std::atomic<uint64_t> received{0};               // messages copied out of a submit ring
  std::atomic<uint64_t> dispatched{0};             // handed to an executor
  // Rare, from any of them: messages that failed parsing or a limit.
  alignas(64) std::atomic<uint64_t> rejected{0};
  // Executors.
  alignas(64) std::atomic<uint64_t> executed{0};   // run against the driver
  std::atomic<uint64_t> driver_errors{0};          // ... which returned an error
  std::atomic<uint64_t> answered{0};               // replies posted to a reply ring

  static void bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }
};

}  // namespace vgpud
