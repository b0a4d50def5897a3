#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "vgpud/log/log.h"

// Not "log": that would clash with ::log from <cmath>.
namespace vlog = vgpud::log;

TEST_CASE("parse_level takes exactly the six documented names", "[log]") {
  spdlog::level::level_enum level = spdlog::level::critical;
  CHECK(vlog::parse_level("trace", &level));
  CHECK(level == spdlog::level::trace);
  CHECK(vlog::parse_level("debug", &level));
  CHECK(level == spdlog::level::debug);
  CHECK(vlog::parse_level("info", &level));
  CHECK(level == spdlog::level::info);
  CHECK(vlog::parse_level("warn", &level));
  CHECK(level == spdlog::level::warn);
  CHECK(vlog::parse_level("error", &level));
  CHECK(level == spdlog::level::err);
  CHECK(vlog::parse_level("off", &level));
  CHECK(level == spdlog::level::off);

  // spdlog's own names and near misses are refused, and leave the level alone.
  for (const char* name : {"critical", "err", "warning", "INFO", "", "info "}) {
    level = spdlog::level::critical;
    CHECK_FALSE(vlog::parse_level(name, &level));
    CHECK(level == spdlog::level::critical);
  }
}

TEST_CASE("each hop has its own named logger", "[log]") {
  CHECK(vlog::main().name() == "vgpud/main");
  CHECK(vlog::transport().name() == "vgpud/transport");
  CHECK(vlog::mediator().name() == "vgpud/mediator");
  CHECK(vlog::executor().name() == "vgpud/executor");
  CHECK(vlog::config().name() == "vgpud/config");
  CHECK(&vlog::main() == &vlog::main());
}

TEST_CASE("set_level changes every logger at once", "[log]") {
  vlog::set_level(spdlog::level::debug);
  for (spdlog::logger* logger : {&vlog::main(), &vlog::transport(), &vlog::mediator(), &vlog::executor(), &vlog::config()}) {
    CHECK(logger->level() == spdlog::level::debug);
    CHECK(logger->should_log(spdlog::level::debug));
    CHECK_FALSE(logger->should_log(spdlog::level::trace));
  }
  vlog::init(spdlog::level::off);
  CHECK_FALSE(vlog::mediator().should_log(spdlog::level::err));
  vlog::set_level(spdlog::level::info);  // back to the default for other tests
  CHECK(vlog::executor().level() == spdlog::level::info);
}

TEST_CASE("lines go to stderr as 'L [hop] message'", "[log]") {
  // Point fd 2 at a file for the duration of one log call.
  char path[] = "/tmp/vgpu-test-log-XXXXXX";
  int file = mkstemp(path);
  REQUIRE(file >= 0);
  std::fflush(stderr);
  int saved = dup(2);
  REQUIRE(saved >= 0);
  REQUIRE(dup2(file, 2) == 2);
  vlog::set_level(spdlog::level::debug);
  vlog::mediator().debug("vm={} seq={} call={} dispatched", "demo", 1, "MEM_ALLOC");
  vlog::executor().trace("below the level: not written");
  vlog::config().warn("careful");
  vlog::set_level(spdlog::level::info);
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(file);

  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  unlink(path);
  CHECK(text.str() == "D [vgpud/mediator] vm=demo seq=1 call=MEM_ALLOC dispatched\nW [vgpud/config] careful\n");
}
