#include "guest/client/parallel_copy.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "vgpu/common/cpu_relax.h"

namespace vgpu::guest {

namespace {

// Below this a copy is not split: waking helpers costs more than it saves.
constexpr size_t kMinParallelBytes = size_t{1} << 20;
// Each part at least this large, and parts start on page boundaries.
constexpr size_t kMinPartBytes = size_t{256} << 10;
constexpr size_t kPartAlignment = 4096;
// A transfer's chunks arrive every few hundred microseconds: helpers poll that long for the
// next one before sleeping, so a chunk does not wait for a wake-up.
constexpr std::chrono::microseconds kHelperPoll{500};

}  // namespace

unsigned default_copy_threads() {
  if (const char* v = std::getenv("VGPU_COPY_THREADS"); v != nullptr)
    return static_cast<unsigned>(std::max(1, std::atoi(v)));
  cpu_set_t set;
  const int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  // Leave a CPU to the rest of the process; more than four threads do not copy faster.
  return static_cast<unsigned>(std::clamp(cpus - 1, 1, 4));
}

ParallelCopier::ParallelCopier(unsigned threads) : threads_(std::max(1u, threads)) {}

ParallelCopier::~ParallelCopier() {
  if (helpers_.empty() || getpid() != owner_) {
    for (std::thread& t : helpers_) t.detach();  // a forked child has no threads to join
    return;
  }
  stop_.store(true, std::memory_order_seq_cst);
  generation_.fetch_add(1, std::memory_order_seq_cst);
  generation_.notify_all();
  for (std::thread& t : helpers_) t.join();
}

void ParallelCopier::start_helpers() {
  owner_ = getpid();
  // The generation a helper starts from is read here, before the first job bumps it: read in
  // the new thread, it could already include that job, which would then never be copied.
  const uint32_t start = generation_.load(std::memory_order_acquire);
  for (unsigned part = 1; part < threads_; ++part)
    helpers_.emplace_back([this, part, start] { helper_main(part, start); });
}

void ParallelCopier::copy_part(const Job& job, unsigned part) const {
  // Equal parts rounded to pages; the last takes the rest.
  const size_t step = (job.size / job.parts + kPartAlignment - 1) / kPartAlignment * kPartAlignment;
  const size_t begin = std::min(job.size, step * part);
  const size_t end = part + 1 == job.parts ? job.size : std::min(job.size, begin + step);
  if (end > begin) std::memcpy(job.dst + begin, job.src + begin, end - begin);
}

void ParallelCopier::copy(void* dst, const void* src, size_t size) {
  if (size == 0) return;  // the pointers may be null then, which memcpy must not see
  const unsigned parts =
      static_cast<unsigned>(std::min<size_t>(threads_, std::max<size_t>(1, size / kMinPartBytes)));
  if (threads_ == 1 || size < kMinParallelBytes || parts < 2 ||
      (!helpers_.empty() && getpid() != owner_)) {
    std::memcpy(dst, src, size);
    return;
  }
  if (helpers_.empty()) start_helpers();

  job_ = Job{static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), size, parts};
  remaining_.store(threads_ - 1, std::memory_order_relaxed);
  // Publishes job_ to the helpers (they read it after seeing the new generation).
  generation_.fetch_add(1, std::memory_order_seq_cst);
  generation_.notify_all();
  copy_part(job_, 0);
  // The helpers are at most one part behind: wait for them here.
  while (remaining_.load(std::memory_order_acquire) != 0) cpu_relax();
}

void ParallelCopier::helper_main(unsigned part, uint32_t seen) {
  for (;;) {
    const auto poll_until = std::chrono::steady_clock::now() + kHelperPoll;
    uint32_t now = generation_.load(std::memory_order_acquire);
    while (now == seen && std::chrono::steady_clock::now() < poll_until) {
      cpu_relax();
      now = generation_.load(std::memory_order_acquire);
    }
    if (now == seen) {
      generation_.wait(seen, std::memory_order_acquire);
      now = generation_.load(std::memory_order_acquire);
    }
    seen = now;
    if (stop_.load(std::memory_order_acquire)) return;
    if (part < job_.parts) copy_part(job_, part);
    remaining_.fetch_sub(1, std::memory_order_release);
  }
}

}  // namespace vgpu::guest
