#include "vgpud/systemd/notifier.h"

#include <string>

#include <systemd/sd-daemon.h>

namespace vgpud {
namespace {

// sd_notify takes newline-separated assignments; a newline inside a status would start a new
// assignment (a status mentioning "READY=1" on its own line would declare readiness).
std::string one_line(std::string_view text) {
  std::string line(text);
  for (char& c : line) {
    if (c == '\n' || c == '\r' || c == '\0') c = ' ';
  }
  return line;
}

// Notifications are best effort: a lost one shows as a timeout in systemd's own logs, and the
// daemon has nothing better to do about it, so sd_notify's result is deliberately dropped.
void notify(const std::string& message) { (void)sd_notify(0, message.c_str()); }

}  // namespace

void SystemdNotifier::ready(std::string_view status) { notify("READY=1\nSTATUS=" + one_line(status)); }

void SystemdNotifier::status(std::string_view status) { notify("STATUS=" + one_line(status)); }

void SystemdNotifier::stopping() { notify("STOPPING=1"); }

std::optional<std::chrono::microseconds> SystemdNotifier::watchdog_interval() const {
  uint64_t usec = 0;
  // > 0: enabled for this process (WATCHDOG_USEC set and WATCHDOG_PID, if set, is us).
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec);
}

void SystemdNotifier::watchdog_ping() { notify("WATCHDOG=1"); }

}  // namespace vgpud
