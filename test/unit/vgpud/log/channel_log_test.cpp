// guest_warn() through this process's limiter, into a logger the test reads.
#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include <spdlog/sinks/ostream_sink.h>

#include "vgpud/log/channel_log.h"
#include "vgpud/worker/worker_spec.h"

namespace vlog = vgpud::log;

namespace {

struct CapturedLogger {
  std::ostringstream out;
  spdlog::logger logger{"test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out)};
  CapturedLogger() {
    logger.set_pattern("%l %v");
    logger.set_level(spdlog::level::trace);
  }
};

// N from a line's "N similar lines dropped", if it has one.
std::optional<uint64_t> dropped_count(const std::string& line) {
  const size_t at = line.find(" similar lines dropped");
  if (at == std::string::npos || at == 0) return std::nullopt;
  const size_t start = line.find_last_not_of("0123456789", at - 1) + 1;
  if (start == at) return std::nullopt;
  return std::stoull(line.substr(start, at - start));
}

}  // namespace

TEST_CASE("guest_warn writes each line or counts it, and the counts reach the log",
          "[log][channel_log]") {
  CapturedLogger captured;
  vlog::guest_lines().take_dropped();  // whatever earlier tests left uncounted
  constexpr int kLines = 1000;
  for (int i = 0; i < kLines; ++i) vlog::guest_warn(captured.logger, "seq={} rejected", i);
  vlog::report_dropped_guest_lines(captured.logger, "alpha/42");

  // However fast this ran, every line was either written or counted in a line that was.
  std::istringstream lines(captured.out.str());
  int written = 0;
  uint64_t counted = 0;
  bool report = false;
  for (std::string line; std::getline(lines, line);) {
    INFO(line);
    CHECK(line.rfind("warning ", 0) == 0);
    if (line.rfind("warning vm=alpha/42 ", 0) == 0) {
      report = true;
      REQUIRE(dropped_count(line).has_value());
    } else {
      ++written;
      CHECK(line.find(" rejected") != std::string::npos);
    }
    counted += dropped_count(line).value_or(0);
  }
  CHECK(report);
  CHECK(written < kLines);
  CHECK(written + counted == kLines);
}

TEST_CASE("lines below the logger's level cost nothing and are not counted", "[log][channel_log]") {
  CapturedLogger captured;
  captured.logger.set_level(spdlog::level::err);
  vlog::guest_lines().take_dropped();
  for (int i = 0; i < 1000; ++i) vlog::guest_warn(captured.logger, "seq={} rejected", i);
  CHECK(captured.out.str().empty());
  CHECK(vlog::guest_lines().take_dropped() == 0);
}

TEST_CASE("the channel's peer is what the worker set", "[log][channel_log]") {
  vlog::set_channel_peer("peer pid 4567");
  CHECK(vlog::channel_peer() == "peer pid 4567");
}

TEST_CASE("a worker names its guest by the kernel's pid, or says a VM's has none", "[log][channel_log]") {
  vgpud::WorkerSpec local;
  local.guest_pid = 4567;  // SO_PEERCRED of the client
  local.region_offset = 0;
  CHECK(local.guest_pid_from_kernel());
  CHECK(local.peer() == "peer pid 4567");
  local.guest_pid = 0;  // the kernel did not say
  CHECK(local.peer() == "peer pid unknown");

  vgpud::WorkerSpec slot;
  slot.guest_pid = 4242;  // what the process in the VM wrote into its slot claim
  slot.region_offset = 2 << 20;
  CHECK_FALSE(slot.guest_pid_from_kernel());
  CHECK(slot.peer() == "in the VM: no host peer pid");
}
