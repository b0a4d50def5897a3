// The daemon: tenants, their endpoints and sessions, and the control loop that accepts
// connections, reaps finished sessions, answers signals and talks to systemd.
//
// Narrow seams: connect (an endpoint becomes readable -> on_connect), doorbell (inside each
// session's mediator), disconnect (a session finishes -> reap).
#pragma once
#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vgpu/result.h"
#include "vgpud/config/config.h"
#include "vgpud/core/session.h"
#include "vgpud/executor/cuda_driver.h"
#include "vgpud/metrics/hop_counters.h"
#include "vgpud/systemd/notifier.h"
#include "vgpud/transport/local_endpoint.h"
#include "vgpud/transport/unique_fd.h"

namespace vgpud {

struct Tenant {
  config::TenantConfig config;
  std::vector<CUdevice> devices;
  std::unique_ptr<LocalEndpoint> endpoint;
  HopCounters counters;
  std::atomic<uint64_t> device_bytes{0};
  std::list<std::unique_ptr<Session>> sessions;  // touched by the control loop only
};

class Daemon {
 public:
  // Resolves each tenant's GPUs and opens its endpoint. The error is one sentence.
  static vgpu::Result<std::unique_ptr<Daemon>, std::string> create(const config::DaemonConfig& config,
                                                                   const CudaDriver* driver);
  ~Daemon();

  // Serves until SIGTERM or SIGINT (blocked and taken through a signalfd), then drains.
  // Returns the process exit code.
  int run();

 private:
  explicit Daemon(const config::DaemonConfig& config, const CudaDriver* driver);

  void on_connect(Tenant& tenant);
  void reap_finished();
  void shut_down();
  std::string status_line() const;
  size_t session_count() const;

  config::DaemonConfig config_;
  const CudaDriver* driver_;
  std::vector<std::unique_ptr<Tenant>> tenants_;
  SystemdNotifier systemd_;
  UniqueFd reap_fd_;    // sessions write here when they end by themselves
  UniqueFd signal_fd_;
};

// Maps "0" or "GPU-<uuid>" to a driver device; the error says which GPU is missing.
vgpu::Result<CUdevice, std::string> resolve_gpu(const CudaDriver& driver, const std::string& gpu);

}  // namespace vgpud
