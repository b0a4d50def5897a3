#include "vgpud/worker/worker_main.h"

#include "vgpud/executor/device_output.h"
#include "vgpud/worker/jit_cache.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iterator>
#include <mutex>
#include <optional>
#include <thread>

#include "vgpud/worker/session.h"
#include "vgpud/executor/cuda_driver.h"
#include "vgpud/log/channel_log.h"
#include "vgpud/log/log.h"
#include "vgpud/worker/tenant_state.h"
#include "vgpud/worker/worker_spec.h"

namespace vgpud {

namespace {

// Exit codes the daemon reports (anything else is a crash).
constexpr int kExitSetupFailed = 3;

// How long the channel's teardown may take once its guest is gone (or the channel broke)
// before the worker exits without it; see TeardownDeadline.
constexpr std::chrono::seconds kTeardownBound{2};

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
// (guest/client/address_reservation.h) so that it can tell host from device pointers. The
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

// Ends the process if the channel's teardown outlasts `bound`. Teardown waits for the
// executor, which may be inside a driver call that does not return soon (a kernel that runs
// for minutes or forever, a hung GPU): meanwhile a dead guest would keep its contexts, its
// memory and its tenant slot. Exiting is enough, since the kernel driver destroys the contexts
// of a process that ends; on_expiry does what the driver cannot (the tenant's shared counts).
class TeardownDeadline {
 public:
  TeardownDeadline(std::chrono::milliseconds bound, std::function<void()> on_expiry)
      : thread_([this, bound, on_expiry = std::move(on_expiry)] {
          std::unique_lock lock(mutex_);
          if (!done_changed_.wait_for(lock, bound, [this] { return done_; })) on_expiry();
        }) {}
  // The teardown finished in time.
  ~TeardownDeadline() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    done_changed_.notify_one();
    thread_.join();
  }
  TeardownDeadline(const TeardownDeadline&) = delete;
  TeardownDeadline& operator=(const TeardownDeadline&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable done_changed_;
  bool done_ = false;
  std::thread thread_;  // last: it uses the members above
};

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
  // Log lines that quote the pid a guest claims (HELLO) show the kernel's beside it.
  log::set_channel_peer(spec->peer());

  UniqueFd signal_fd = take_over_signals();
  UniqueFd done_fd(eventfd(0, EFD_CLOEXEC));
  if (!signal_fd.valid() || !done_fd.valid()) {
    log::main().error("vm={} channel worker: cannot create event descriptors: {}", name,
                      std::strerror(errno));
    return kExitSetupFailed;
  }

  keep_device_addresses_low();
  // Before the driver is loaded: what kernels print reaches this process's stdout, and is the
  // guest's (device_output.h). Without the pipe it goes to vgpud's own output, as before.
  std::unique_ptr<DeviceOutput> device_output = DeviceOutput::capture_stdout();
  if (!device_output)
    log::main().warn("vm={} channel worker: kernels' printf output stays here ({})", name, std::strerror(errno));
  if (const std::optional<std::string> why = use_tenant_jit_cache(spec->tenant))
    log::main().warn("vm={} {}", name, *why);
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
  auto tenant = SharedTenantState::attach(UniqueFd(kWorkerTenantStateFd), spec->module_cache_memory);
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
  TenantSharedState& shared = (*tenant)->get();
  if (spec->share_slot >= std::size(shared.shares)) {
    log::main().error("vm={} channel worker: share slot {} out of range", name, spec->share_slot);
    return kExitSetupFailed;
  }
  WorkerShare& share = shared.shares[spec->share_slot];
  setup.counters = &shared.counters;
  setup.device_memory = BudgetRef{&shared.device_bytes, &share.device_bytes, spec->device_memory_limit};
  setup.image_memory = BudgetRef{&shared.image_bytes, &share.image_bytes, spec->image_memory_limit};
  setup.module_cache = (*tenant)->module_cache();
  setup.module_cache_counters = &shared.module_cache;
  setup.driver_path = spec->driver_path;  // NVML, which measures modules, is looked for beside it
  setup.driver_release = spec->driver_release;
  setup.nvml_version = spec->nvml_version;
  setup.device_output = device_output.get();  // outlives the Session below
  setup.ipc = &shared.ipc;  // what the tenant's processes share with each other (design.md §25)
  setup.worker_slot = spec->share_slot;
  setup.processes = &shared.processes;  // who the tenant's processes are (TENANT_STATUS)
  setup.shares = shared.shares;

  std::string why;
  {
    // Declared before the Session, so that it outlives (and so times) the Session's teardown.
    std::optional<TeardownDeadline> deadline;
    const int done = done_fd.get();
    Session session(std::move(channel), std::move(setup), std::chrono::microseconds(spec->spin_us),
                    [done] {
                      const uint64_t one = 1;
                      [[maybe_unused]] ssize_t n = write(done, &one, sizeof one);
                    });
    session.start();
    // This thread watches the guest's socket (or lifeline) itself, whatever the executor's
    // thread is busy with: a guest that dies must end its channel in any case.
    pollfd fds[3] = {{signal_fd.get(), POLLIN, 0},
                     {done_fd.get(), POLLIN, 0},
                     {kWorkerGuestSocketFd, POLLRDHUP, 0}};
    while (poll(fds, 3, -1) < 0 && errno == EINTR) {
    }
    if (fds[1].revents & POLLIN)
      why = session.exit_reason();
    else if (fds[2].revents != 0)
      why = "guest process disconnected";
    else
      why = "vgpud is stopping";
    if (!(fds[0].revents & POLLIN)) {
      // Nobody waits for the channel's results any more: drop them, and bound the rest. (When
      // vgpud stops, the worker finishes what it took instead, within the daemon's grace.)
      session.abandon();
      deadline.emplace(kTeardownBound, [&] {
        log::transport().warn(
            "vm={} disconnected ({}); the driver has not returned for {} s (a kernel still "
            "running?): exiting without it, which releases its GPU resources",
            name, why, kTeardownBound.count());
        // What this channel held of the tenant's budgets leaves them when the daemon reaps
        // this process (TenantSharedState::reclaim).
        _exit(0);
      });
    }
    // Leaving the scope lets the executor finish (or drop) the call it runs, takes no more and
    // destroys the channel's contexts.
  }
  log::report_dropped_guest_lines(log::transport(), name);  // the count no later line will carry
  log::transport().info("vm={} disconnected ({}); its GPU resources are released", name, why);
  return 0;
}

}  // namespace vgpud
