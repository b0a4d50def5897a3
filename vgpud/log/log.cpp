#include "vgpud/log/log.h"

#include <array>
#include <memory>

#include <spdlog/sinks/stdout_sinks.h>

namespace vgpud::log {
namespace {

// All loggers share one sink so that lines from different threads never interleave mid-line
// (the _mt sink holds a mutex around each write).
struct Loggers {
  std::shared_ptr<spdlog::sinks::stderr_sink_mt> sink = make_sink();
  spdlog::logger main = make("vgpud/main");
  spdlog::logger transport = make("vgpud/transport");
  spdlog::logger mediator = make("vgpud/mediator");
  spdlog::logger executor = make("vgpud/executor");
  spdlog::logger config = make("vgpud/config");

  static std::shared_ptr<spdlog::sinks::stderr_sink_mt> make_sink() {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    // The sink formats (a logger's set_pattern would only forward to its sinks).
    sink->set_pattern("%L [%n] %v");
    return sink;
  }

  spdlog::logger make(const char* name) {
    spdlog::logger logger(name, sink);
    logger.set_level(spdlog::level::info);
    // Warnings and errors usually precede an exit or a crash; make sure they reach the journal.
    logger.flush_on(spdlog::level::warn);
    return logger;
  }

  std::array<spdlog::logger*, 5> all() { return {&main, &transport, &mediator, &executor, &config}; }
};

// A function-local static: built on first use from any thread (the compiler guards it), so
// loggers are usable before init() and from static initializers of other files. Not registered
// in spdlog's global registry, which would make a second daemon instance in one test process
// collide on names.
Loggers& loggers() {
  static Loggers instance;
  return instance;
}

}  // namespace

void init(spdlog::level::level_enum level) { set_level(level); }

void set_level(spdlog::level::level_enum level) {
  for (spdlog::logger* logger : loggers().all()) logger->set_level(level);
}

bool parse_level(std::string_view name, spdlog::level::level_enum* level) {
  struct Named {
    std::string_view name;
    spdlog::level::level_enum level;
  };
  // spdlog's own from_str also knows "critical", "err" and "warning" and maps anything unknown to
  // off; the config file documents exactly these six names, so match them explicitly.
  static constexpr std::array<Named, 6> kLevels{{
      {"trace", spdlog::level::trace},
      {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},
      {"error", spdlog::level::err},
      {"off", spdlog::level::off},
  }};
  for (const Named& candidate : kLevels) {
    if (candidate.name == name) {
      *level = candidate.level;
      return true;
    }
  }
  return false;
}

spdlog::logger& main() { return loggers().main; }
spdlog::logger& transport() { return loggers().transport; }
spdlog::logger& mediator() { return loggers().mediator; }
spdlog::logger& executor() { return loggers().executor; }
spdlog::logger& config() { return loggers().config; }

}  // namespace vgpud::log
