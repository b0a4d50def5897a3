// What a run measured, summarized: the table printed at the end (Markdown, pasted as is into
// bench/RESULTS.md) and the machine-readable JSON file.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "bench/harness/cases.h"
#include "bench/harness/sides.h"

namespace bench {

struct Summary {
  double p50 = 0;
  double p99 = 0;  // the worst 1%: the 99th percentile of a time, the 1st of a rate
  double mean = 0;
  size_t count = 0;
};
Summary summarize(std::vector<double> values, Better better);

struct Side {
  std::vector<double> values;
  std::string error;  // the first error; the case is not run again on this side after one
  std::vector<size_t> round_starts;  // where each round's values begin (bench/harness/interval.h)
};

struct CaseOutcome {
  CaseSpec spec;
  std::map<SideId, Side> sides;  // the sides the case ran on; a side not run is absent

  const Side* side(SideId id) const;  // null when not run
  bool failed() const;                // an error, or a side that ran without figures
};

struct RunInfo {
  std::string date;            // UTC, ISO 8601
  std::string host;
  std::string cpu;
  std::string gpu;             // from the native CUDA child's `ready` line
  std::string commit;
  std::string command;
  int rounds = 0;
  double scale = 1;
  std::vector<SideId> sides;       // the sides this run ran, in table order
  std::vector<std::string> notes;  // e.g. why a side was skipped
};

// The Markdown table, one row per case: native p50/p99, then for each shim side any case ran
// its p50, p99 and ratio to native, the target, and one verdict column per shim side. Under it
// a line for each note and each error.
std::string format_table(const std::vector<CaseOutcome>& outcomes,
                         const std::vector<std::string>& notes = {});
// The same as JSON: run info, then per case every side's summary and raw samples.
std::string format_json(const RunInfo& info, const std::vector<CaseOutcome>& outcomes);

}  // namespace bench
