// How the executor logs each driver call it makes for a guest ("seq=7 cuMemAlloc → CUDA_SUCCESS
// ptr=0x..." at debug level) and counts the ones that fail. Shared by the executor and its
// context set, so that every call is traced the same way with the request it serves.
#pragma once
#include <cstdint>
#include <string>

#include "vgpud/executor/cuda_driver.h"
#include "vgpud/metrics/hop_counters.h"

namespace vgpud {

class DriverTrace {
 public:
  DriverTrace(std::string channel, const CudaDriver& cu, HopCounters* counters)
      : channel_(std::move(channel)), cu_(cu), counters_(counters) {}

  // The request being executed, named in every line until the next one.
  void set_seq(uint64_t seq) { seq_ = seq; }
  uint64_t seq() const { return seq_; }
  const std::string& channel() const { return channel_; }

  // Logs `function`'s result r (and detail) and counts it when it failed; returns r.
  CUresult operator()(const char* function, CUresult r, const std::string& detail = {}) const;
  // Whether calls are logged at all: a detail worth formatting only then (ChannelExecutor::traced).
  static bool logging();

 private:
  std::string channel_;  // "tenant/pid"
  const CudaDriver& cu_;
  HopCounters* counters_;
  uint64_t seq_ = 0;
};

}  // namespace vgpud
