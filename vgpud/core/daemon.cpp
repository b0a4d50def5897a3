#include "vgpud/core/daemon.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vgpud/log/log.h"

namespace vgpud {

namespace {

std::string format_uuid(const CUuuid& u) {
  const auto* b = reinterpret_cast<const unsigned char*>(u.bytes);
  char s[64];
  std::snprintf(s, sizeof s,
                "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                b[14], b[15]);
  return s;
}

}  // namespace

vgpu::Result<CUdevice, std::string> resolve_gpu(const CudaDriver& cu, const std::string& gpu) {
  int count = 0;
  cu.cuDeviceGetCount(&count);
  const bool is_index = !gpu.empty() && std::all_of(gpu.begin(), gpu.end(), ::isdigit);
  if (is_index) {
    const long index = std::strtol(gpu.c_str(), nullptr, 10);
    CUdevice dev;
    if (index >= count || cu.cuDeviceGet(&dev, static_cast<int>(index)) != CUDA_SUCCESS)
      return vgpu::Err{"GPU " + gpu + " does not exist (this host has " + std::to_string(count) +
                       ")"};
    return dev;
  }
  for (int i = 0; i < count; ++i) {
    CUdevice dev;
    CUuuid uuid;
    if (cu.cuDeviceGet(&dev, i) == CUDA_SUCCESS && cu.cuDeviceGetUuid(&uuid, dev) == CUDA_SUCCESS &&
        format_uuid(uuid) == gpu)
      return dev;
  }
  return vgpu::Err{"no GPU with UUID " + gpu + " on this host (nvidia-smi -L lists them)"};
}

Daemon::Daemon(const config::DaemonConfig& config, const CudaDriver* driver)
    : config_(config), driver_(driver) {}

vgpu::Result<std::unique_ptr<Daemon>, std::string> Daemon::create(
    const config::DaemonConfig& config, const CudaDriver* driver) {
  std::unique_ptr<Daemon> d(new Daemon(config, driver));
  for (const config::TenantConfig& tc : config.tenants) {
    auto t = std::make_unique<Tenant>();
    t->config = tc;
    const std::string where = config.source_file + ":" + std::to_string(tc.line);
    for (const std::string& gpu : tc.gpus) {
      auto dev = resolve_gpu(*driver, gpu);
      if (!dev) return vgpu::Err{"tenant '" + tc.name + "' (" + where + "): " + dev.error()};
      t->devices.push_back(*dev);
    }
    LocalEndpointOptions opts;
    opts.socket_path = tc.local.socket_path;
    opts.group = tc.local.group;
    opts.mode = tc.local.mode;
    opts.tenant = tc.name;
    opts.sizes.upload = tc.limits.staging_memory;
    opts.sizes.download = tc.limits.staging_memory;
    opts.sizes.heap = tc.limits.pinned_memory;
    auto endpoint = LocalEndpoint::listen(opts);
    if (!endpoint) return vgpu::Err{"tenant '" + tc.name + "' (" + where + "): " + endpoint.error()};
    t->endpoint = std::move(endpoint).value();
    log::transport().info("tenant '{}' listening on {} ({} GPU(s))", tc.name,
                          t->endpoint->path(), t->devices.size());
    d->tenants_.push_back(std::move(t));
  }
  d->reap_fd_ = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  // Blocked in every thread (threads inherit the mask), so only the signalfd sees them.
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  d->signal_fd_ = UniqueFd(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!d->reap_fd_.valid() || !d->signal_fd_.valid())
    return vgpu::Err{std::string("cannot create event descriptors: ") + std::strerror(errno)};
  return d;
}

Daemon::~Daemon() { shut_down(); }

size_t Daemon::session_count() const {
  size_t n = 0;
  for (const auto& t : tenants_) n += t->sessions.size();
  return n;
}

std::string Daemon::status_line() const {
  std::string s = "serving " + std::to_string(tenants_.size()) + " tenant(s), " +
                  std::to_string(session_count()) + " process(es):";
  for (const auto& t : tenants_)
    s += " " + t->config.name + "=" + std::to_string(t->sessions.size());
  return s;
}

void Daemon::on_connect(Tenant& t) {
  auto admit = [&] {
    return t.sessions.size() >= t.config.limits.max_processes ? proto::HandshakeStatus::TenantFull
                                                              : proto::HandshakeStatus::Ok;
  };
  auto accepted = t.endpoint->accept_one(admit);
  if (!accepted) {
    HopCounters::bump(t.counters.rejected);
    log::transport().warn("tenant '{}': connection dropped: {}", t.config.name, accepted.error());
    return;
  }
  AcceptedChannel ch = std::move(accepted).value();
  ExecutorSetup setup;
  setup.name = t.config.name + "/" + std::to_string(ch.pid);
  setup.driver = driver_;
  setup.devices = t.devices;
  setup.counters = &t.counters;
  setup.tenant_device_bytes = &t.device_bytes;
  setup.device_memory_limit = t.config.limits.device_memory;
  const int reap_fd = reap_fd_.get();
  auto session = std::make_unique<Session>(
      std::move(ch), std::move(setup), std::chrono::microseconds(config_.poll_spin_us), [reap_fd] {
        const uint64_t one = 1;
        [[maybe_unused]] ssize_t n = write(reap_fd, &one, sizeof one);
      });
  log::transport().info("vm={} connected", session->name());
  session->start();
  t.sessions.push_back(std::move(session));
  HopCounters::bump(t.counters.channels_opened);
  systemd_.status(status_line());
}

void Daemon::reap_finished() {
  uint64_t count;
  [[maybe_unused]] ssize_t n = read(reap_fd_.get(), &count, sizeof count);
  bool changed = false;
  for (auto& t : tenants_) {
    for (auto it = t->sessions.begin(); it != t->sessions.end();) {
      if (!(*it)->finished()) {
        ++it;
        continue;
      }
      log::transport().info("vm={} disconnected ({}); its GPU resources are released",
                            (*it)->name(), (*it)->exit_reason());
      it = t->sessions.erase(it);  // joins its threads and destroys its contexts
      HopCounters::bump(t->counters.channels_closed);
      changed = true;
    }
  }
  if (changed) systemd_.status(status_line());
}

void Daemon::shut_down() {
  for (auto& t : tenants_) {
    t->endpoint.reset();  // no new connections; removes the socket file
    // Each session finishes the calls it has taken, then its contexts are destroyed.
    t->sessions.clear();
  }
}

int Daemon::run() {
  systemd_.ready(status_line());
  log::main().info("vgpud ready: {}", status_line());
  const auto watchdog = systemd_.watchdog_interval();
  const int timeout_ms =
      watchdog ? std::max<int>(1, static_cast<int>(watchdog->count() / 2000)) : -1;

  for (;;) {
    std::vector<pollfd> fds;
    fds.push_back({signal_fd_.get(), POLLIN, 0});
    fds.push_back({reap_fd_.get(), POLLIN, 0});
    for (const auto& t : tenants_) fds.push_back({t->endpoint->fd(), POLLIN, 0});
    const int n = poll(fds.data(), fds.size(), timeout_ms);
    if (watchdog) systemd_.watchdog_ping();
    if (n < 0) {
      if (errno == EINTR) continue;
      log::main().error("poll failed: {}", std::strerror(errno));
      return 1;
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info;
      [[maybe_unused]] ssize_t r = read(signal_fd_.get(), &info, sizeof info);
      log::main().info("signal {} received: draining {} process(es) and stopping",
                       info.ssi_signo, session_count());
      systemd_.stopping();
      shut_down();
      log::main().info("vgpud stopped");
      return 0;
    }
    if (fds[1].revents & POLLIN) reap_finished();
    for (size_t i = 0; i < tenants_.size(); ++i)
      if (fds[2 + i].revents & POLLIN) on_connect(*tenants_[i]);
  }
}

}  // namespace vgpud
