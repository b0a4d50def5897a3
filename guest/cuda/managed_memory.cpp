// Managed memory kept coherent in the guest: see managed_memory.h for the scheme.
#include "guest/cuda/managed_memory.h"

#include <signal.h>
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "guest/client/address_reservation.h"
#include "guest/client/log.h"
#include "guest/cuda/api.h"
#include "guest/cuda/capture.h"
#include "guest/cuda/device_memory.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/managed_variables.h"

namespace vgpu::cuda {
namespace {

enum ChunkState : uint8_t { kDevice, kHostClean, kHostDirty };
constexpr uint64_t kReadAhead = uint64_t{2} << 20;  // what one fault downloads at most

struct Allocation {
  uint64_t start = 0;   // the program's pointer, chunk-aligned
  uint64_t size = 0;    // what it asked for
  uint64_t mapped = 0;  // size rounded up to whole chunks: what the process maps at start
  uint64_t base = 0;    // vgpud's allocation holding [start, start + mapped): what is freed
  uint32_t device = 0;
  std::unique_ptr<std::atomic<uint8_t>[]> chunks;
  bool touched = false;  // some chunk is not kDevice (guarded by State::coherence)
};

// Never destroyed: the fault handler may run during exit.
struct State {
  // One coherence change at a time: a fault, a hand-over, an allocation or a free. Taken before
  // map_mutex; the channel is called with both held, never the other way round.
  std::mutex coherence;
  std::shared_mutex map_mutex;
  std::map<uint64_t, std::unique_ptr<Allocation>> allocations;  // by start
  std::atomic<int> touched_count{0};  // allocations with touched set
  // Allocations in the map: lookups (every copy, memset and pointer query asks) skip the lock
  // while a process has none.
  std::atomic<size_t> count{0};
  std::once_flag handler_installed;
  struct sigaction previous {};
};
State& state() {
  static auto* s = new State;
  return *s;
}

uint64_t round_up(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

// The allocation whose mapping holds `address` (map_mutex held).
Allocation* find_locked(uint64_t address) {
  auto& all = state().allocations;
  auto it = all.upper_bound(address);
  if (it == all.begin()) return nullptr;
  --it;
  Allocation* a = it->second.get();
  return address - a->start < a->mapped ? a : nullptr;
}

bool protect(uint64_t start, uint64_t size, int prot) {
  return mprotect(reinterpret_cast<void*>(start), size, prot) == 0;
}

void mark_touched(Allocation& a) {
  if (!a.touched) {
    a.touched = true;
    state().touched_count.fetch_add(1, std::memory_order_release);
  }
}

// Chunks [first, first + count) of `a` from the GPU into the process (coherence held).
CUresult download(Allocation& a, size_t first, size_t count) {
  guest::Channel* ch = channel();
  if (ch == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
  const uint64_t at = a.start + first * kManagedChunk;
  const uint64_t len = count * kManagedChunk;
  if (!protect(at, len, PROT_READ | PROT_WRITE)) return CUDA_ERROR_OUT_OF_MEMORY;
  const uint32_t previous = guest::Channel::thread_device();
  guest::Channel::set_thread_device(a.device);
  const int32_t status = ch->copy_from_device(reinterpret_cast<void*>(at), at, len, 0);
  guest::Channel::set_thread_device(previous);
  if (status != 0) return to_cu_result(status);
  protect(at, len, PROT_READ);
  for (size_t i = first; i < first + count; ++i) a.chunks[i].store(kHostClean, std::memory_order_relaxed);
  mark_touched(a);
  return CUDA_SUCCESS;
}

// The CPU touched `address`: makes its chunk readable (downloading it) or writable. False when
// the address is no managed memory's (coherence held).
bool resolve_fault(uint64_t address) {
  std::shared_lock map(state().map_mutex);
  Allocation* a = find_locked(address);
  if (a == nullptr) return resolve_variable_fault(address);
  const size_t i = (address - a->start) / kManagedChunk;
  switch (a->chunks[i].load(std::memory_order_relaxed)) {
    case kDevice: {
      size_t count = 1;
      const size_t total = a->mapped / kManagedChunk;
      while (i + count < total && count * kManagedChunk < kReadAhead &&
             a->chunks[i + count].load(std::memory_order_relaxed) == kDevice)
        ++count;
      if (CUresult r = download(*a, i, count); r != CUDA_SUCCESS) {
        // The program cannot go on: the instruction would fault again.
        std::fprintf(stderr, "vgpu: managed memory at 0x%llx could not be read from the GPU (error %d)\n",
                     static_cast<unsigned long long>(address), static_cast<int>(r));
        std::abort();
      }
      return true;
    }
    case kHostClean:
      protect(a->start + i * kManagedChunk, kManagedChunk, PROT_READ | PROT_WRITE);
      a->chunks[i].store(kHostDirty, std::memory_order_relaxed);
      mark_touched(*a);
      return true;
    default:
      return true;  // another thread made it writable first
  }
}

void on_fault(int signal, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  bool ours = false;
  {
    std::lock_guard lock(state().coherence);
    ours = resolve_fault(reinterpret_cast<uint64_t>(info->si_addr));
  }
  errno = saved_errno;
  if (ours) return;
  // Not managed memory: whoever handled SIGSEGV before handles it, or the default action ends
  // the process when the instruction faults again.
  const struct sigaction& previous = state().previous;
  if ((previous.sa_flags & SA_SIGINFO) != 0 && previous.sa_sigaction != nullptr) {
    previous.sa_sigaction(signal, info, context);
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    previous.sa_handler(signal);
  } else {
    ::signal(signal, SIG_DFL);
  }
}

void install_handler() {
  struct sigaction action {};
  action.sa_sigaction = on_fault;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaction(SIGSEGV, &action, &state().previous);
}

// Makes every chunk of `a` the GPU's: what the CPU wrote goes to the GPU first (coherence held).
CUresult hand_over(Allocation& a, guest::Channel& ch) {
  const size_t total = a.mapped / kManagedChunk;
  for (size_t i = 0; i < total;) {
    if (a.chunks[i].load(std::memory_order_relaxed) != kHostDirty) {
      ++i;
      continue;
    }
    size_t end = i + 1;
    while (end < total && a.chunks[end].load(std::memory_order_relaxed) == kHostDirty) ++end;
    const uint64_t at = a.start + i * kManagedChunk;
    guest::Channel::set_thread_device(a.device);
    if (int32_t st = ch.copy_to_device(at, reinterpret_cast<const void*>(at), (end - i) * kManagedChunk, 0, true))
      return to_cu_result(st);
    i = end;
  }
  protect(a.start, a.mapped, PROT_NONE);
  for (size_t i = 0; i < total; ++i) a.chunks[i].store(kDevice, std::memory_order_relaxed);
  a.touched = false;
  state().touched_count.fetch_sub(1, std::memory_order_release);
  return CUDA_SUCCESS;
}

// Takes `a` out of the tables and gives its addresses back to the reservation (both locks held).
void unmap_locked(Allocation& a) {
  mmap(reinterpret_cast<void*>(a.start), a.mapped, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
       -1, 0);
  if (a.touched) state().touched_count.fetch_sub(1, std::memory_order_release);
}

}  // namespace

std::mutex& managed_coherence_lock() { return state().coherence; }
void install_managed_fault_handler() { std::call_once(state().handler_installed, install_handler); }

CUresult allocate_managed(Context* owner, size_t size, CUdeviceptr* out) {
  install_managed_fault_handler();
  const uint64_t mapped = round_up(size, kManagedChunk);
  // A chunk more than asked for, so that the program's pointer can start on a chunk of its own:
  // small allocations share the GPU's pages, and the process maps whole pages.
  CUdeviceptr base = 0;
  if (CUresult r = allocate_device_memory(owner, mapped + kManagedChunk, &base); r != CUDA_SUCCESS) return r;
  const uint64_t start = round_up(base, kManagedChunk);
  // The process must not already use these pages (allocate_device_memory reserved them unless
  // every attempt overlapped the program's memory).
  if (!guest::reserve_device_range(start, mapped)) {
    (void)free_device_memory(base);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  // Fresh memory reads as zeros from both sides, as the driver's managed memory does.
  guest::Channel* ch = channel();
  const proto::MemsetRequest zero{start, mapped, 0, 0, 0};
  if (CUresult r = to_cu_result(ch->post(proto::CallId::Memset, {{&zero, sizeof zero}})); r != CUDA_SUCCESS) {
    (void)free_device_memory(base);
    return r;
  }
  void* p = mmap(reinterpret_cast<void*>(start), mapped, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (p == MAP_FAILED) {
    (void)free_device_memory(base);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  auto a = std::make_unique<Allocation>();
  a->start = start;
  a->size = size;
  a->mapped = mapped;
  a->base = base;
  a->device = owner->device;
  a->chunks = std::make_unique<std::atomic<uint8_t>[]>(mapped / kManagedChunk);
  for (size_t i = 0; i < mapped / kManagedChunk; ++i) a->chunks[i].store(kHostClean, std::memory_order_relaxed);
  {
    std::lock_guard coherence(state().coherence);
    std::unique_lock map(state().map_mutex);
    mark_touched(*a);
    state().allocations[start] = std::move(a);
    state().count.store(state().allocations.size(), std::memory_order_release);
  }
  *out = start;
  return CUDA_SUCCESS;
}

CUresult free_managed(CUdeviceptr ptr, bool* was_managed) {
  uint64_t base = 0;
  {
    std::lock_guard coherence(state().coherence);
    std::unique_lock map(state().map_mutex);
    auto it = state().allocations.find(ptr);
    *was_managed = it != state().allocations.end();
    if (!*was_managed) return CUDA_ERROR_INVALID_VALUE;
    base = it->second->base;
    unmap_locked(*it->second);
    state().allocations.erase(it);
    state().count.store(state().allocations.size(), std::memory_order_release);
  }
  return free_device_memory(base);
}

std::optional<ManagedRange> find_managed(uint64_t address) {
  if (state().count.load(std::memory_order_acquire) != 0) {
    std::shared_lock map(state().map_mutex);
    if (const Allocation* a = find_locked(address); a != nullptr)
      return address - a->start < a->size ? std::optional(ManagedRange{a->start, a->size, a->device}) : std::nullopt;
  }
  return find_managed_variable(address);
}

CUresult before_gpu_work() {
  if (state().touched_count.load(std::memory_order_acquire) == 0 && !variables_touched()) return CUDA_SUCCESS;
  guest::Channel* ch = channel();
  if (ch == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
  const uint32_t device = guest::Channel::thread_device();
  CUresult result = CUDA_SUCCESS;
  {
    std::lock_guard coherence(state().coherence);
    std::shared_lock map(state().map_mutex);
    for (auto& [start, a] : state().allocations) {
      if (!a->touched) continue;
      if (result = hand_over(*a, *ch); result != CUDA_SUCCESS) break;
    }
    if (result == CUDA_SUCCESS && variables_touched()) result = hand_over_variables(*ch);
  }
  guest::Channel::set_thread_device(device);
  return result;
}

CUresult before_gpu_work_on(uint64_t stream) {
  if (state().touched_count.load(std::memory_order_acquire) == 0 && !variables_touched()) return CUDA_SUCCESS;
  if (uint64_t capture = 0; capture_of_stream(stream, &capture) == CUDA_SUCCESS && capture != 0) return CUDA_SUCCESS;
  return before_gpu_work();
}

CUresult prefetch_to_host(uint64_t ptr, uint64_t size) {
  std::lock_guard coherence(state().coherence);
  std::shared_lock map(state().map_mutex);
  for (uint64_t at = ptr; at < ptr + size;) {
    Allocation* a = find_locked(at);
    if (a == nullptr)  // a __managed__ variable is read at the CPU's first touch
      return find_managed_variable(at) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
    const size_t first = (at - a->start) / kManagedChunk;
    const size_t last = std::min<uint64_t>((ptr + size - a->start + kManagedChunk - 1) / kManagedChunk,
                                           a->mapped / kManagedChunk);
    for (size_t i = first; i < last;) {
      if (a->chunks[i].load(std::memory_order_relaxed) != kDevice) {
        ++i;
        continue;
      }
      size_t end = i + 1;
      while (end < last && a->chunks[end].load(std::memory_order_relaxed) == kDevice) ++end;
      if (CUresult r = download(*a, i, end - i); r != CUDA_SUCCESS) return r;
      i = end;
    }
    at = a->start + a->mapped;
  }
  return CUDA_SUCCESS;
}

void forget_managed(uint32_t device) {
  forget_managed_variables(device);
  std::lock_guard coherence(state().coherence);
  std::unique_lock map(state().map_mutex);
  std::erase_if(state().allocations, [&](auto& entry) {
    if (entry.second->device != device) return false;
    unmap_locked(*entry.second);
    return true;
  });
  state().count.store(state().allocations.size(), std::memory_order_release);
}

}  // namespace vgpu::cuda
