#include "vgpud/log/channel_log.h"

namespace vgpud::log {

namespace {

// Written once, before the channel's threads exist (thread creation orders it before their
// reads), so it needs no lock.
std::string& peer() {
  static std::string description = "peer unknown";
  return description;
}

}  // namespace

void set_channel_peer(std::string description) { peer() = std::move(description); }

const std::string& channel_peer() { return peer(); }

LineLimiter& guest_lines() {
  static LineLimiter limiter;  // LineRate's defaults: 20 at once, then 10 a second
  return limiter;
}

void report_dropped_guest_lines(spdlog::logger& logger, const std::string& name) {
  if (const uint64_t dropped = guest_lines().take_dropped(); dropped != 0)
    logger.warn("vm={} {} similar lines dropped since the last one logged (guest-triggered lines are "
                "rate-limited)",
                name, dropped);
}

}  // namespace vgpud::log
