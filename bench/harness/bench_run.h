// One benchmark run: vgpud and the case children started, every selected case run on each of
// its sides (native, runtime shim, driver shim) in every round, which side goes first rotating
// from round to round; the samples collected.
#pragma once
#include <vector>

#include "bench/harness/options.h"
#include "bench/harness/report.h"

namespace bench {

struct RunOutput {
  RunInfo info;
  std::vector<CaseOutcome> outcomes;
};

// Fails only when the run cannot start (no vgpud, a child that does not come up); a case that
// fails is recorded in its outcome and the run goes on.
vgpu::Result<RunOutput, std::string> run_benchmarks(const Options& options,
                                                    const std::vector<CaseSpec>& cases);

}  // namespace bench
