#include "vgpud/worker/worker_main.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "vgpud/worker/session.h"
#include "vgpud/executor/cuda_driver.h"
#include "vgpud/log/log.h"
#include "vgpud/worker/tenant_state.h"
#include "vgpud/worker/worker_spec.h"

namespace vgpud {

namespace {

// Exit codes the daemon reports (anything else is a crash).
constexpr int kExitSetupFailed = 3;

// SIGTERM (the daemon stopping) arrives through a signalfd; SIGINT is ignored, the daemon
// alone answers a terminal's Ctrl-C. Done before any thread exists so that every thread,
// the driver's included, inherits the mask.
UniqueFd take_over_signals() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  return UniqueFd(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
}

// Device pointers go to the guest process, which keeps them out of its own address space
// (guest/cudart/address_reservation.h) so that it can tell host from device pointers. The
// driver takes its address ranges where mmap puts them: at the top of the address space,
// exactly where a guest process has its libraries and mappings. Filling the free top of this
// process's address space first (PROT_NONE, no memory behind it) moves the driver's ranges
// below kDeviceAddressCeiling, away from where Linux maps a guest's memory.
void keep_device_addresses_low() {
  constexpr uintptr_t kDeviceAddressCeiling = 0x7c0000000000;
  constexpr size_t kChunk = size_t{1} << 36;  // 64 GiB of address space per reservation
  for (int i = 0; i < 256; ++i) {
    void* p = mmap(nullptr, kChunk, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return;
    if (reinterpret_cast<uintptr_t>(p) < kDeviceAddressCeiling) {
      munmap(p, kChunk);
      return;
    }
  }
}

}  // namespace

int run_channel_worker(int argc, char** argv) {
  // A worker never outlives the daemon: if vgpud is killed, its guests' GPU state goes too.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return kExitSetupFailed;  // the daemon died before the line above

  auto spec = parse_worker_arguments(argc, argv);
  if (!spec) {
    std::fprintf(stderr, "vgpud: %s\n", spec.error().c_str());
    return kExitSetupFailed;
  }
  spdlog::level::level_enum level = spdlog::level::info;
  log::parse_level(spec->log_level, &level);
  log::init(level);
  const std::string name = spec->name();

  UniqueFd signal_fd = take_over_signals();
  UniqueFd done_fd(eventfd(0, EFD_CLOEXEC));
  if (!signal_fd.valid() || !done_fd.valid()) {
    log::main().error("vm={} channel worker: cannot create event descriptors: {}", name,
                      std::strerror(errno));
    return kExitSetupFailed;
  }

  keep_device_addresses_low();
  auto driver = load_cuda_driver(spec->driver_path);
  if (!driver) {
    log::executor().error("vm={} {}", name, driver.error().message);
    return kExitSetupFailed;
  }
  std::vector<CUdevice> devices;
  for (int ordinal : spec->device_ordinals) {
    CUdevice dev = 0;
    if ((*driver)->cuDeviceGet(&dev, ordinal) != CUDA_SUCCESS) {
      log::executor().error("vm={} GPU {} is no longer present", name, ordinal);
      return kExitSetupFailed;
    }
    devices.push_back(dev);
  }
  auto region = ChannelRegion::attach(UniqueFd(kWorkerRegionFd), spec->sizes, spec->region_offset);
  auto tenant = SharedTenantState::attach(UniqueFd(kWorkerTenantStateFd));
  if (!region || !tenant) {
    log::main().error("vm={} channel worker: {}", name, !region ? region.error() : tenant.error());
    return kExitSetupFailed;
  }

  AcceptedChannel channel;
  channel.socket = UniqueFd(kWorkerGuestSocketFd);
  channel.doorbell = UniqueFd(kWorkerDoorbellFd);
  channel.notify = UniqueFd(kWorkerNotifyFd);
  channel.region = std::move(region).value();
  channel.pid = spec->guest_pid;

  ExecutorSetup setup;
  setup.name = name;
  setup.driver = *driver;
  setup.devices = std::move(devices);
  setup.counters = &(*tenant)->get().counters;
  setup.tenant_device_bytes = &(*tenant)->get().device_bytes;
  setup.device_memory_limit = spec->device_memory_limit;

  std::string why;
  {
    const int done = done_fd.get();
    Session session(std::move(channel), std::move(setup), std::chrono::microseconds(spec->spin_us),
                    [done] {
                      const uint64_t one = 1;
                      [[maybe_unused]] ssize_t n = write(done, &one, sizeof one);
                    });
    session.start();
    pollfd fds[2] = {{signal_fd.get(), POLLIN, 0}, {done_fd.get(), POLLIN, 0}};
    while (poll(fds, 2, -1) < 0 && errno == EINTR) {
    }
    why = (fds[1].revents & POLLIN) ? session.exit_reason() : "vgpud is stopping";
    // Leaving the scope stops the mediator, lets the executor finish what it took and
    // destroys the channel's contexts.
  }
  // The tenant's device memory this channel held was given back by the executor.
  log::transport().info("vm={} disconnected ({}); its GPU resources are released", name, why);
  return 0;
}

}  // namespace vgpud
