#include "vgpud/executor/driver_trace.h"

#include "vgpud/log/log.h"

namespace vgpud {

CUresult DriverTrace::operator()(const char* function, CUresult r, const std::string& detail) const {
  if (r != CUDA_SUCCESS) HopCounters::bump(counters_->driver_errors);
  if (logging())
    log::executor().debug("vm={} seq={} {} → {}{}{}", channel_, seq_, function, cu_.error_name(r),
                 detail.empty() ? "" : " ", detail);
  return r;
}

bool DriverTrace::logging() { return log::executor().should_log(spdlog::level::debug); }

}  // namespace vgpud
