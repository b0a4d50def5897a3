// What a run measured, summarized: the table printed at the end (Markdown, pasted as is into
// bench/RESULTS.md) and the machine-readable JSON file.
#pragma once
#include <string>
#include <vector>

#include "bench/harness/cases.h"

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
};

struct CaseOutcome {
  CaseSpec spec;
  Side native;
  Side remoted;
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
};

// The Markdown table, one row per case, with a line under it for each error.
std::string format_table(const std::vector<CaseOutcome>& outcomes);
// The same as JSON: run info, then per case both sides' summaries and raw samples.
std::string format_json(const RunInfo& info, const std::vector<CaseOutcome>& outcomes);

}  // namespace bench
