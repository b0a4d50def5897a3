#include "guest/transport/slot_claim.h"

#include <pthread.h>
#include <signal.h>
#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <exception>

namespace vgpu::guest {

using proto::SlotState;

namespace {

constexpr uint32_t raw(SlotState s) { return static_cast<uint32_t>(s); }

// vgpud answers a claim after starting a worker: poll often enough to notice quickly, rarely
// enough to stay off the CPU.
constexpr std::chrono::microseconds kClaimPoll{500};

ConnectFailure refused(std::string message) {
  return ConnectFailure{ConnectError::Refused, std::move(message)};
}

// The nonce only has to differ between processes claiming the same slot; getrandom cannot
// fail for 8 bytes once the pool is up, and the fallback is good enough for that purpose.
uint64_t random_nonce() {
  uint64_t n = 0;
  if (getrandom(&n, sizeof n, GRND_NONBLOCK) != sizeof n)
    n = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
        (static_cast<uint64_t>(getpid()) << 32);
  return n != 0 ? n : 1;
}

std::string seconds(std::chrono::milliseconds ms) {
  return ms.count() % 1000 == 0 ? std::to_string(ms.count() / 1000) + " s"
                                : std::to_string(ms.count()) + " ms";
}

}  // namespace

struct SlotClaim::Lease {
  std::mutex mutex;
  std::condition_variable wake;
  bool stop = false;
  std::thread thread;

  void run(std::atomic<uint64_t>* lease, std::chrono::milliseconds interval) {
    std::unique_lock lock(mutex);
    while (!stop) {
      lease->fetch_add(1, std::memory_order_release);
      wake.wait_for(lock, interval, [this] { return stop; });
    }
  }
  void join() {
    {
      std::lock_guard lock(mutex);
      stop = true;
    }
    wake.notify_all();
    thread.join();
  }
};

SlotClaim::SlotClaim(proto::VmHeader* header, uint32_t index, Doorbell doorbell,
                     std::chrono::milliseconds lease_interval)
    : header_(header), slot_(&header->slots[index]), index_(index), doorbell_(doorbell),
      lease_interval_(lease_interval), owner_pid_(getpid()) {}

Result<std::unique_ptr<SlotClaim>, ConnectFailure> SlotClaim::claim(proto::VmHeader* header,
                                                                   uint32_t slot_count,
                                                                   Doorbell doorbell,
                                                                   const ClaimOptions& options) {
  // Processes of the VM race for slots; the compare-and-swap makes exactly one win each.
  uint32_t index = slot_count;
  for (uint32_t i = 0; i < slot_count; ++i) {
    uint32_t expected = raw(SlotState::Free);
    if (header->slots[i].state.compare_exchange_strong(expected, raw(SlotState::Claimed),
                                                       std::memory_order_acq_rel)) {
      index = i;
      break;
    }
  }
  if (index == slot_count)
    return Err{refused("all " + std::to_string(slot_count) +
                       " vgpu channel slots of this VM are in use: end another CUDA process, "
                       "or raise the VM's slot count in vgpud's configuration")};

  std::unique_ptr<SlotClaim> c(new SlotClaim(header, index, doorbell, options.lease_interval));
  // Only written after the claim won, so a loser of the race never overwrites them.
  c->nonce_ = random_nonce();
  std::atomic_ref(c->slot_->guest_pid).store(static_cast<uint32_t>(getpid()),
                                             std::memory_order_relaxed);
  // Sequentially consistent (a full barrier on x86): pid and nonce are visible before vgpud
  // hears the doorbell below.
  std::atomic_ref(c->slot_->claim_nonce).store(c->nonce_, std::memory_order_seq_cst);
  // The lease runs from the claim on: a slow start of the worker must not look like a death.
  // (On failure the destructor hands the Claimed slot back.)
  if (!c->start_lease_thread())
    return Err{ConnectFailure{ConnectError::SystemError,
                              "cannot start the vgpu lease thread (out of threads?)"}};
  c->ring(proto::kVmControlVector);
  if (auto st = c->wait_ready(options.ready_timeout); !st) return Err{st.error()};
  return c;
}

Status<ConnectFailure> SlotClaim::wait_ready(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (header_->host_state.load(std::memory_order_acquire) == 0)
      return Err{refused("vgpud stopped serving this VM's vgpu-stub while connecting")};
    uint32_t state = slot_->state.load(std::memory_order_acquire);
    if (state == raw(SlotState::Ready)) {
      epoch_ = slot_->epoch.load(std::memory_order_acquire);
      if (std::atomic_ref(slot_->claim_nonce).load(std::memory_order_relaxed) != nonce_) {
        owned_ = false;  // reclaimed and claimed by another process: not ours to touch
        return Err{refused("vgpud gave this process's channel slot to another process")};
      }
      return {};
    }
    if (state == raw(SlotState::Refused)) {
      owned_ = false;
      slot_->state.compare_exchange_strong(state, raw(SlotState::Free),
                                           std::memory_order_acq_rel);
      return Err{refused(
          "vgpud refused this process a channel (the tenant's limits or a failed worker; "
          "vgpud's log on the host says which)")};
    }
    if (state != raw(SlotState::Claimed)) {
      owned_ = false;  // vgpud reclaimed it (Free) or someone scribbled on it
      return Err{refused("vgpud dropped this process's claim on a channel slot")};
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return Err{refused("vgpud did not answer within " + seconds(timeout) +
                         ": check that vgpud runs on the host and serves this VM")};
    std::this_thread::sleep_for(kClaimPoll);
  }
}

bool SlotClaim::start_lease_thread() {
  // The thread must never run the application's signal handlers: block everything while it
  // is created so it inherits a full mask.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  bool started = true;
  try {
    auto lease = std::make_unique<Lease>();
    lease->thread = std::thread(&Lease::run, lease.get(), &slot_->lease, lease_interval_);
    lease_ = std::move(lease);
  } catch (const std::exception&) {  // system_error, bad_alloc: no exceptions out of the shim
    started = false;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return started;
}

bool SlotClaim::still_ours(uint32_t state) const {
  if (std::atomic_ref(slot_->claim_nonce).load(std::memory_order_relaxed) != nonce_) return false;
  if (state == raw(SlotState::Claimed)) return true;
  return state == raw(SlotState::Ready) &&
         slot_->epoch.load(std::memory_order_acquire) == epoch_;
}

bool SlotClaim::alive() const {
  return header_->host_state.load(std::memory_order_acquire) != 0 &&
         slot_->state.load(std::memory_order_acquire) == raw(SlotState::Ready) &&
         slot_->epoch.load(std::memory_order_acquire) == epoch_;
}

SlotClaim::~SlotClaim() { release(); }

void SlotClaim::release() {
  if (getpid() != owner_pid_) {
    // A forked child: the slot belongs to the parent, which still uses it, and the lease
    // thread only ever existed there. Leak the handle, touch nothing.
    (void)lease_.release();
    return;
  }
  if (lease_ != nullptr) {
    lease_->join();
    lease_.reset();
  }
  if (!owned_) return;
  owned_ = false;
  // The compare-and-swap keeps us from closing a slot vgpud already reclaimed and handed to
  // another process (its nonce and epoch differ, or its state moved on).
  uint32_t state = slot_->state.load(std::memory_order_acquire);
  if (still_ours(state) &&
      slot_->state.compare_exchange_strong(state, raw(SlotState::Closing),
                                           std::memory_order_acq_rel))
    ring(proto::kVmControlVector);
}

}  // namespace vgpu::guest
