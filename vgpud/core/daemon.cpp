#include "vgpud/core/daemon.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "vgpud/core/gpu_names.h"
#include "vgpud/core/status_report.h"
#include "vgpud/log/channel_log.h"
#include "vgpud/log/log.h"
#include "vgpud/transport/listen_socket.h"
#include "vgpud/worker/spawn.h"

namespace vgpud {

namespace {

// How long stopping waits for workers to finish their calls before killing them.
constexpr auto kWorkerStopGrace = std::chrono::seconds(8);

sigset_t daemon_signals() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGCHLD);
  return mask;
}

}  // namespace

void block_daemon_signals() {
  const sigset_t mask = daemon_signals();
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
}

vgpu::Result<std::unique_ptr<Daemon>, std::string> Daemon::create(
    const config::DaemonConfig& config, const CudaDriver* driver, std::string log_level) {
  std::unique_ptr<Daemon> d(new Daemon(config, std::move(log_level)));
  d->host_versions_ = read_host_versions(config.driver_path);
  for (const config::TenantConfig& tc : config.tenants) {
    auto t = std::make_unique<Tenant>();
    t->config = tc;
    const std::string where = config.source_file + ":" + std::to_string(tc.line);
    for (const std::string& gpu : tc.gpus) {
      auto ordinal = resolve_gpu(*driver, gpu);
      if (!ordinal) return vgpu::Err{"tenant '" + tc.name + "' (" + where + "): " + ordinal.error()};
      t->device_ordinals.push_back(*ordinal);
    }
    const std::string gpus = describe_gpus(*driver, t->device_ordinals);
    auto shared = SharedTenantState::create(tc.name, tc.limits.module_cache_memory);
    if (!shared) return vgpu::Err{"tenant '" + tc.name + "': " + shared.error()};
    t->shared = std::move(shared).value();
    proto::ChannelSizes sizes;
    sizes.upload = tc.limits.staging_memory;
    sizes.download = tc.limits.staging_memory;
    sizes.heap = tc.limits.pinned_memory;
    if (!tc.local.socket_path.empty()) {
      LocalEndpointOptions opts;
      opts.socket_path = tc.local.socket_path;
      opts.group = tc.local.group;
      opts.mode = tc.local.mode;
      opts.tenant = tc.name;
      opts.sizes = sizes;
      auto endpoint = LocalEndpoint::listen(opts);
      if (!endpoint) return vgpu::Err{"tenant '" + tc.name + "' (" + where + "): " + endpoint.error()};
      t->endpoint = std::move(endpoint).value();
      log::transport().info("tenant '{}' listening on {} with {}", tc.name, t->endpoint->path(), gpus);
    }
    if (!tc.vm.socket_path.empty()) {
      ivshmem::VmEndpointOptions opts{.tenant = tc.name, .vm = tc.vm, .sizes = sizes,
                                      .max_processes = tc.limits.max_processes};
      Daemon* daemon = d.get();
      Tenant* tenant = t.get();
      auto vm = ivshmem::VmEndpoint::listen(
          opts, &t->shared->get().counters,
          [daemon, tenant](int guest_pid, uint64_t offset, const WorkerFds& fds) {
            return daemon->start_worker(*tenant, guest_pid, offset, fds);
          },
          [tenant] { return room(*tenant); });
      if (!vm) return vgpu::Err{"tenant '" + tc.name + "' (" + where + "): " + vm.error()};
      t->vm = std::move(vm).value();
      log::transport().info("tenant '{}' serving its VM's vgpu-stub on {} with {}", tc.name, tc.vm.socket_path,
                            gpus);
    }
    d->tenants_.push_back(std::move(t));
  }
  auto control = listen_unix_socket({.path = config.control_socket, .group = "", .mode = 0600,
                                     .owner_hint = "vgpud"});
  if (control)
    d->control_ = std::move(control).value();
  else
    log::main().warn("no control socket ({}); `vgpud counters` will not reach this vgpud",
                     control.error());
  block_daemon_signals();  // already done by main; harmless, and keeps create() self-contained
  const sigset_t mask = daemon_signals();
  d->signal_fd_ = UniqueFd(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!d->signal_fd_.valid())
    return vgpu::Err{std::string("cannot create a signalfd: ") + std::strerror(errno)};
  return d;
}

// control_ then removes the control socket, if it is still the one this vgpud made.
Daemon::~Daemon() { shut_down(); }

void Daemon::answer_control() {
  UniqueFd conn(accept4(control_.fd(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn.valid()) return;
  const std::string report = counters_report(tenants_);
  [[maybe_unused]] ssize_t n = send(conn.get(), report.data(), report.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

void Daemon::accept_clients(Tenant& t) {
  if (auto error = t.endpoint->accept_pending(std::chrono::steady_clock::now()))
    log::transport().error("tenant '{}': cannot accept a connection ({}); trying again shortly",
                           t.config.name, *error);
}

void Daemon::drop_silent_clients() {
  const auto now = std::chrono::steady_clock::now();
  for (const auto& t : tenants_) {
    if (!t->endpoint) continue;
    for (const std::string& why : t->endpoint->drop_expired(now)) {
      HopCounters::bump(t->shared->get().counters.rejected);
      log::limited_line(t->client_lines, log::transport(), spdlog::level::warn,
                        "tenant '{}': connection dropped: {}", t->config.name, why);
    }
  }
}

void Daemon::on_handshake(Tenant& t, int fd) {
  HopCounters& counters = t.shared->get().counters;
  auto admit = [&] { return room(t) > 0 ? proto::HandshakeStatus::Ok : proto::HandshakeStatus::TenantFull; };
  auto outcome = t.endpoint->advance(fd, admit);
  if (!outcome) return;  // the request is not complete yet
  if (!*outcome) {
    HopCounters::bump(counters.rejected);
    log::limited_line(t.client_lines, log::transport(), spdlog::level::warn,
                      "tenant '{}': connection dropped: {}", t.config.name, outcome->error());
    return;
  }
  // The worker gets its own copies of the channel's descriptors; the daemon's go when `ch`
  // does, so the guest's socket closes as soon as its worker is gone.
  AcceptedChannel ch = std::move(*outcome).value();
  WorkerFds fds;
  fds.region = ch.region->memfd();
  fds.doorbell = ch.doorbell.get();
  fds.notify = ch.notify.get();
  fds.guest_socket = ch.socket.get();
  const std::string name = t.config.name + "/" + std::to_string(ch.pid);
  auto pid = start_worker(t, ch.pid, 0, fds);
  if (!pid) {
    HopCounters::bump(counters.rejected);
    log::transport().error("vm={}: {}; the connection is closed", name, pid.error());
    return;
  }
  HopCounters::bump(counters.channels_opened);
  log::transport().info("vm={} connected (channel worker pid {})", name, *pid);
}

vgpu::Result<pid_t, std::string> Daemon::start_worker(Tenant& t, int guest_pid, uint64_t region_offset,
                                                      WorkerFds fds) {
  WorkerSpec spec;
  spec.tenant = t.config.name;
  spec.guest_pid = guest_pid;
  spec.driver_path = config_.driver_path;
  spec.driver_release = host_versions_.driver_release;
  spec.nvml_version = host_versions_.nvml_version;
  spec.device_ordinals = t.device_ordinals;
  spec.device_memory_limit = t.config.limits.device_memory;
  spec.image_memory_limit = t.config.limits.module_image_memory;
  spec.module_cache_memory = t.config.limits.module_cache_memory;
  const auto slot = free_share_slot(t);
  if (!slot) return vgpu::Err{std::string("no free worker slot")};
  spec.share_slot = *slot;
  spec.spin_us = config_.poll_spin_us;
  spec.log_level = log_level_;
  spec.sizes.upload = t.config.limits.staging_memory;
  spec.sizes.download = t.config.limits.staging_memory;
  spec.sizes.heap = t.config.limits.pinned_memory;
  spec.region_offset = region_offset;
  fds.tenant_state = t.shared->fd();
  auto pid = spawn_channel_worker(spec, fds);
  if (!pid) return pid;
  // The tenant's other workers trust a peer on their IPC sockets by this pid (§25); the slot is
  // cleared when this worker is reaped (TenantSharedState::reclaim).
  t.shared->get().ipc.set_worker_pid(spec.share_slot, *pid);
  t.workers.emplace(*pid, Tenant::Worker{spec.name(), spec.share_slot});
  systemd_.status(status_line(tenants_));
  return pid;
}

bool Daemon::forget_worker(pid_t pid, int status) {
  for (auto& t : tenants_) {
    auto it = t->workers.find(pid);
    if (it == t->workers.end()) continue;
    if (WIFSIGNALED(status))
      log::transport().warn(
          "vm={}: its channel worker died ({}); the guest's channel is closed and the driver "
          "released its GPU resources",
          it->second.name, strsignal(WTERMSIG(status)));
    else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
      log::transport().warn("vm={}: its channel worker could not serve it (exit {}); the "
                            "connection is closed",
                            it->second.name, WEXITSTATUS(status));
    if (t->vm == nullptr || !t->vm->worker_exited(pid))
      HopCounters::bump(t->shared->get().counters.channels_closed);
    // Whatever the worker held (it may have died in the middle of a driver call) is free.
    t->shared->get().reclaim(it->second.slot);
    t->workers.erase(it);
    return true;
  }
  return false;
}

void Daemon::reap_workers() {
  bool changed = false;
  int status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) changed |= forget_worker(pid, status);
  if (changed) systemd_.status(status_line(tenants_));
}

void Daemon::shut_down() {
  for (auto& t : tenants_) {
    t->endpoint.reset();  // no new connections; removes the socket file
    t->vm.reset();        // ends every slot and drops QEMU (it sees its ivshmem server go away)
  }
  // Each worker finishes the calls it has taken, destroys its contexts and exits.
  for (auto& t : tenants_)
    for (const auto& [pid, worker] : t->workers) kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + kWorkerStopGrace;
  while (worker_count(tenants_) > 0 && std::chrono::steady_clock::now() < deadline) {
    pollfd fd{signal_fd_.get(), POLLIN, 0};
    poll(&fd, 1, 100);
    signalfd_siginfo info;
    while (read(signal_fd_.get(), &info, sizeof info) > 0) {
    }
    reap_workers();
  }
  for (auto& t : tenants_) {
    for (const auto& [pid, worker] : t->workers) {
      log::main().warn("vm={}: its channel worker did not stop in time; killing it", worker.name);
      kill(pid, SIGKILL);
      int status;
      waitpid(pid, &status, 0);
    }
    t->workers.clear();
  }
}

int Daemon::run() {
  systemd_.ready(status_line(tenants_));
  log::main().info("vgpud ready: {}", status_line(tenants_));
  const auto watchdog = systemd_.watchdog_interval();
  const int watchdog_ms =
      watchdog ? std::max<int>(1, static_cast<int>(watchdog->count() / 2000)) : -1;

  // What each polled descriptor belongs to.
  enum class Source { Signal, Control, Socket, Handshake, Vm };
  struct Owner {
    Source source;
    Tenant* tenant;
  };
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    std::vector<pollfd> fds;
    std::vector<Owner> owners;
    auto watch = [&](int fd, Source source, Tenant* tenant) {
      fds.push_back({fd, POLLIN, 0});
      owners.push_back({source, tenant});
    };
    int timeout_ms = watchdog_ms;
    auto wake_within = [&](int ms) { timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms); };
    watch(signal_fd_.get(), Source::Signal, nullptr);
    if (control_.valid()) watch(control_.fd(), Source::Control, nullptr);
    for (const auto& t : tenants_) {
      if (t->endpoint) {
        if (t->endpoint->accepting(now)) watch(t->endpoint->fd(), Source::Socket, t.get());
        for (int fd : t->endpoint->pending_fds()) watch(fd, Source::Handshake, t.get());
        // Rounded up, so that the deadline has passed when poll returns.
        if (auto next = t->endpoint->next_wakeup())
          wake_within(static_cast<int>(std::max<int64_t>(
              0, std::chrono::ceil<std::chrono::milliseconds>(*next - now).count())));
      }
      if (t->vm) {
        for (int fd : t->vm->poll_fds()) watch(fd, Source::Vm, t.get());
        // Leases are checked on a clock while a VM is connected.
        if (t->vm->connected()) wake_within(static_cast<int>(ivshmem::VmEndpoint::tick_interval().count()));
      }
    }
    const int n = poll(fds.data(), fds.size(), timeout_ms);
    if (watchdog) systemd_.watchdog_ping();
    if (n < 0) {
      if (errno == EINTR) continue;
      log::main().error("poll failed: {}", std::strerror(errno));
      return 1;
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info;
      bool stop = false;
      while (read(signal_fd_.get(), &info, sizeof info) == sizeof info)
        if (info.ssi_signo != SIGCHLD) stop = true;
      reap_workers();  // SIGCHLDs coalesce: waitpid finds every worker that ended
      if (stop) {
        log::main().info("signal received: draining {} process(es) and stopping", worker_count(tenants_));
        systemd_.stopping();
        shut_down();
        log::main().info("vgpud stopped");
        return 0;
      }
    }
    std::vector<Tenant*> to_accept;
    for (size_t i = 1; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      auto [source, tenant] = owners[i];
      switch (source) {
        case Source::Signal: break;
        case Source::Control: answer_control(); break;
        case Source::Vm: tenant->vm->handle(fds[i].fd); break;
        case Source::Handshake: on_handshake(*tenant, fds[i].fd); break;
        case Source::Socket: to_accept.push_back(tenant); break;
      }
    }
    // Accepting last: a new client may get the number of a descriptor closed above, and must
    // not be taken for the entry polled under that number.
    for (Tenant* t : to_accept) accept_clients(*t);
    drop_silent_clients();
    for (const auto& t : tenants_)
      if (t->vm) t->vm->tick();
  }
}

}  // namespace vgpud
