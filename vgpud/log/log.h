// The daemon's loggers: one per hop a call takes (main -> transport -> mediator -> executor),
// plus config. Each line names its hop, e.g.
//   D [vgpud/mediator] vm=demo seq=1 call=MEM_ALLOC dispatched
// Lines go to stderr: under systemd the journal captures them with timestamps, so the pattern
// carries none of its own.
#pragma once
#include <string_view>

#include <spdlog/logger.h>

namespace vgpud::log {

// Sets the level of every logger. The loggers work before init() is called (level info), so
// code that runs early, such as config loading, can log; init() only changes the level.
void init(spdlog::level::level_enum level);
void set_level(spdlog::level::level_enum level);

// Accepts trace|debug|info|warn|error|off (the names the config file and --log-level use).
// Returns false and leaves *level alone for anything else.
bool parse_level(std::string_view name, spdlog::level::level_enum* level);

// Thread-safe; the references stay valid for the life of the process.
spdlog::logger& main();
spdlog::logger& transport();
spdlog::logger& mediator();
spdlog::logger& executor();
spdlog::logger& config();

}  // namespace vgpud::log
