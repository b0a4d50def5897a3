// The daemon: tenants, their endpoints and channel workers, and the control loop that accepts
// connections, reaps workers, answers signals and talks to systemd.
//
// Narrow seams: connect (an endpoint's client completes its handshake -> on_handshake starts a
// channel worker), doorbell (inside each worker's mediator), disconnect (a worker exits ->
// reap_workers). The loop never waits on a client: handshakes are polled like everything else,
// each with a deadline (local_endpoint.h).
// The daemon itself never makes a CUDA context: everything that touches the GPU for a guest
// runs in that guest's worker (vgpud/worker), so one guest's fault stays its own.
#pragma once
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "vgpu/common/result.h"
#include "vgpud/config/config.h"
#include "vgpud/core/host_versions.h"
#include "vgpud/core/tenant.h"
#include "vgpud/executor/cuda_driver.h"
#include "vgpud/systemd/notifier.h"
#include "vgpud/transport/listen_socket.h"
#include "vgpud/transport/unique_fd.h"
#include "vgpud/worker/spawn.h"

namespace vgpud {

// Blocks the signals the daemon takes through its signalfd (SIGTERM, SIGINT, SIGCHLD). Call
// first thing in main: threads inherit the mask, the CUDA driver's threads included, and a
// thread without it would let SIGTERM kill the process instead of draining it.
void block_daemon_signals();

class Daemon {
 public:
  // Resolves each tenant's GPUs and opens its endpoint. The error is one sentence.
  static vgpu::Result<std::unique_ptr<Daemon>, std::string> create(const config::DaemonConfig& config,
                                                                   const CudaDriver* driver,
                                                                   std::string log_level);
  ~Daemon();

  // Serves until SIGTERM or SIGINT, then stops every worker in order. Returns the exit code.
  int run();

 private:
  Daemon(const config::DaemonConfig& config, std::string log_level)
      : config_(config), log_level_(std::move(log_level)) {}

  // The tenant's socket is readable: take its waiting clients as pending handshakes.
  void accept_clients(Tenant& tenant);
  // A pending client's socket is readable: on a complete request, admit it and start its worker.
  void on_handshake(Tenant& tenant, int fd);
  // Drops the clients that let their handshake deadline pass.
  void drop_silent_clients();
  // Starts the worker of one channel of `tenant` and records it.
  vgpu::Result<pid_t, std::string> start_worker(Tenant& tenant, int guest_pid, uint64_t region_offset,
                                                WorkerFds fds);
  void reap_workers();
  bool forget_worker(pid_t pid, int wait_status);
  void shut_down();
  // Answers one `vgpud counters` on the control socket (status_report.h).
  void answer_control();

  config::DaemonConfig config_;
  std::string log_level_;  // passed on to workers
  HostVersions host_versions_;  // read once at start, passed on to workers
  std::vector<std::unique_ptr<Tenant>> tenants_;
  SystemdNotifier systemd_;
  UniqueFd signal_fd_;
  ListeningSocket control_;  // invalid when the control socket could not be made
};

}  // namespace vgpud
