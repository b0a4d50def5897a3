// Per-tenant counters, one per hop of a call, so one can read off where calls stop:
// doorbells -> received -> (rejected | dispatched) -> executed (driver_errors) -> answered.
#pragma once
#include <atomic>
#include <cstdint>

namespace vgpud {

struct HopCounters {
  std::atomic<uint64_t> channels_opened{0};
  std::atomic<uint64_t> channels_closed{0};
  std::atomic<uint64_t> doorbells{0};      // wake-ups from the guest
  std::atomic<uint64_t> received{0};       // messages copied out of a submit ring
  std::atomic<uint64_t> rejected{0};       // messages that failed parsing or a limit
  std::atomic<uint64_t> dispatched{0};     // handed to an executor
  std::atomic<uint64_t> executed{0};       // run against the driver
  std::atomic<uint64_t> driver_errors{0};  // ... which returned an error
  std::atomic<uint64_t> answered{0};       // replies posted to a reply ring

  static void bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }
};

}  // namespace vgpud
