#include "vgpud/worker/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "vgpud/transport/unique_fd.h"

extern char** environ;

namespace vgpud {

namespace {

// Descriptors above this are free in the daemon for the short-lived copies below.
constexpr int kScratchFdBase = 64;

class SpawnActions {
 public:
  SpawnActions() { ok_ = posix_spawn_file_actions_init(&actions_) == 0; }
  ~SpawnActions() {
    if (ok_) posix_spawn_file_actions_destroy(&actions_);
  }
  posix_spawn_file_actions_t* get() { return &actions_; }
  bool ok() const { return ok_; }

 private:
  posix_spawn_file_actions_t actions_;
  bool ok_ = false;
};

class SpawnAttributes {
 public:
  SpawnAttributes() { ok_ = posix_spawnattr_init(&attr_) == 0; }
  ~SpawnAttributes() {
    if (ok_) posix_spawnattr_destroy(&attr_);
  }
  posix_spawnattr_t* get() { return &attr_; }
  bool ok() const { return ok_; }

 private:
  posix_spawnattr_t attr_;
  bool ok_ = false;
};

}  // namespace

vgpu::Result<pid_t, std::string> spawn_channel_worker(const WorkerSpec& spec, const WorkerFds& fds) {
  const std::pair<int, int> moves[] = {{fds.region, kWorkerRegionFd},
                                       {fds.doorbell, kWorkerDoorbellFd},
                                       {fds.notify, kWorkerNotifyFd},
                                       {fds.guest_socket, kWorkerGuestSocketFd},
                                       {fds.tenant_state, kWorkerTenantStateFd}};
  // Copies first, so that moving one descriptor onto its number cannot overwrite another
  // source; they are close-on-exec, and closed here when this function returns.
  std::vector<UniqueFd> copies;
  SpawnActions actions;
  if (!actions.ok()) return vgpu::Err{std::string("posix_spawn_file_actions_init failed")};
  for (const auto& [from, to] : moves) {
    copies.emplace_back(fcntl(from, F_DUPFD_CLOEXEC, kScratchFdBase));
    if (!copies.back().valid())
      return vgpu::Err{std::string("duplicating a channel descriptor: ") + std::strerror(errno)};
    if (posix_spawn_file_actions_adddup2(actions.get(), copies.back().get(), to) != 0)
      return vgpu::Err{std::string("posix_spawn_file_actions_adddup2 failed")};
  }
  // Nothing else of the daemon (other guests' regions and sockets) may reach the worker, even
  // a descriptor some library opened without close-on-exec.
  if (posix_spawn_file_actions_addclosefrom_np(actions.get(), kWorkerFirstFreeFd) != 0)
    return vgpu::Err{std::string("posix_spawn_file_actions_addclosefrom_np failed")};

  SpawnAttributes attr;
  if (!attr.ok()) return vgpu::Err{std::string("posix_spawnattr_init failed")};
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGTERM, SIGINT, SIGCHLD, SIGPIPE, SIGHUP}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(attr.get(), &none);
  posix_spawnattr_setsigdefault(attr.get(), &defaults);
  posix_spawnattr_setpgroup(attr.get(), 0);
  posix_spawnattr_setflags(attr.get(),
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> args = {"vgpud", kChannelWorkerFlag};
  for (std::string& a : worker_arguments(spec)) args.push_back(std::move(a));
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = -1;
  const int rc = posix_spawn(&pid, "/proc/self/exe", actions.get(), attr.get(), argv.data(), environ);
  if (rc != 0) return vgpu::Err{std::string("starting a channel worker: ") + std::strerror(rc)};
  return pid;
}

}  // namespace vgpud
