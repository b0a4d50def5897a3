// Tells systemd (Type=notify) when vgpud is ready, what it is doing, when it stops, and that it
// is alive (WatchdogSec=). Outside systemd (NOTIFY_SOCKET unset) every call does nothing, so the
// daemon calls these unconditionally.
#pragma once
#include <chrono>
#include <optional>
#include <string_view>

namespace vgpud {

class SystemdNotifier {
 public:
  // READY=1 with a status line, once every endpoint is listening.
  void ready(std::string_view status);
  // A free-form line shown by `systemctl status`.
  void status(std::string_view status);
  // STOPPING=1 at the start of shutdown, so systemd does not count the exit as a crash.
  void stopping();
  // The interval systemd expects pings within, when the watchdog is on. Ping at half of it.
  std::optional<std::chrono::microseconds> watchdog_interval() const;
  // WATCHDOG=1.
  void watchdog_ping();
};

}  // namespace vgpud
