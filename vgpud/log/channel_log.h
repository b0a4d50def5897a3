// Logging on behalf of the one guest channel this process serves.
//
// A channel worker (vgpud/worker/worker_main.cpp) serves exactly one guest channel, so what is
// kept per process here is kept per channel; its mediator and executor threads share it.
//
// Lines a guest can trigger as often as it likes (a rejected message, a refused module, a
// HELLO) go through guest_line()/guest_warn(): at most a burst of 20, then 10 a second; the
// rest are dropped and counted, and the next line let through ends with
// "(N similar lines dropped)". The counters still count every event. Any guest-chosen string
// among the arguments must go through guest_text() (guest_text.h).
#pragma once
#include <optional>
#include <string>
#include <utility>

#include <spdlog/logger.h>

#include "vgpud/log/guest_text.h"
#include "vgpud/log/rate_limit.h"

namespace vgpud::log {

// Who is at the other end of the channel by the kernel's word, for lines that quote what the
// guest claims about itself: "peer pid 4567" (SO_PEERCRED of a local client), or for a VM slot
// that no host process stands behind it. Set once by the worker before its threads start;
// "peer unknown" until then.
void set_channel_peer(std::string description);
const std::string& channel_peer();

// This channel's limiter of guest-triggered lines.
LineLimiter& guest_lines();

// A line through `limiter`: the daemon keeps one per tenant for what clients can trigger
// before they have a channel (a handshake refused, a VM slot refused).
template <typename... Args>
void limited_line(LineLimiter& limiter, spdlog::logger& logger, spdlog::level::level_enum level,
                  fmt::format_string<Args...> format, Args&&... args) {
  if (!logger.should_log(level)) return;  // a line nobody would see costs no token
  const std::optional<uint64_t> dropped = limiter.admit();
  if (!dropped) return;
  const std::string line = fmt::format(format, std::forward<Args>(args)...);
  if (*dropped == 0)
    logger.log(level, "{}", line);
  else
    logger.log(level, "{} ({} similar lines dropped)", line, *dropped);
}

template <typename... Args>
void guest_line(spdlog::logger& logger, spdlog::level::level_enum level,
                fmt::format_string<Args...> format, Args&&... args) {
  limited_line(guest_lines(), logger, level, format, std::forward<Args>(args)...);
}

// The one to use for a warning a guest can trigger.
template <typename... Args>
void guest_warn(spdlog::logger& logger, fmt::format_string<Args...> format, Args&&... args) {
  guest_line(logger, spdlog::level::warn, format, std::forward<Args>(args)...);
}

// For the channel's end, when no later line would carry the count: logs how many guest-
// triggered lines were dropped since the last one let through, if any. `name` is "tenant/pid".
void report_dropped_guest_lines(spdlog::logger& logger, const std::string& name);

}  // namespace vgpud::log
