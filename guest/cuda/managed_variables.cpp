// __managed__ variables mirrored in the guest: see managed_variables.h for the scheme.
#include "guest/cuda/managed_variables.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <atomic>
#include <map>
#include <mutex>
#include <shared_mutex>

#include "guest/client/address_reservation.h"
#include "guest/cuda/api.h"
#include "guest/cuda/driver_state.h"

namespace vgpu::cuda {
namespace {

enum PageState : uint8_t { kDevice, kHostClean, kHostDirty };
constexpr uint64_t kReadAhead = uint64_t{2} << 20;  // what one fault downloads at most

struct Variable {
  uint64_t size = 0;
  uint32_t device = 0;
  const void* module = nullptr;
};

// Never destroyed: the fault handler may run during exit. Everything here changes with the
// coherence lock held; map_mutex besides guards `variables` against find_managed_variable,
// which takes it alone.
struct State {
  std::shared_mutex map_mutex;
  std::map<uint64_t, Variable> variables;  // by address
  std::map<uint64_t, PageState> pages;     // every mirrored page, by address
  std::atomic<size_t> count{0};            // variables, for lookups without the lock
  std::atomic<bool> touched{false};        // some page is not kDevice
};
State& state() {
  static auto* s = new State;
  return *s;
}

uint64_t page_size() {
  static const uint64_t size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return size;
}
uint64_t page_of(uint64_t address) { return address & ~(page_size() - 1); }

bool protect(uint64_t start, uint64_t size, int prot) {
  return mprotect(reinterpret_cast<void*>(start), size, prot) == 0;
}

// Calls `move(device, start, length)` for the bytes of each variable inside [from, to).
template <typename Move>
int32_t for_each_variable_part(uint64_t from, uint64_t to, Move&& move) {
  auto& vars = state().variables;
  auto it = vars.upper_bound(from);
  if (it != vars.begin()) --it;
  for (; it != vars.end() && it->first < to; ++it) {
    const uint64_t start = std::max(from, it->first);
    const uint64_t end = std::min(to, it->first + it->second.size);
    if (start >= end) continue;
    if (int32_t st = move(it->second.device, start, end - start)) return st;
  }
  return 0;
}

// Pages [first, first + count * page) from the GPU: their variables' bytes (coherence held).
CUresult download(uint64_t first, uint64_t count) {
  guest::Channel* ch = channel();
  if (ch == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
  const uint64_t length = count * page_size();
  if (!protect(first, length, PROT_READ | PROT_WRITE)) return CUDA_ERROR_OUT_OF_MEMORY;
  const uint32_t previous = guest::Channel::thread_device();
  const int32_t status = for_each_variable_part(first, first + length, [&](uint32_t device, uint64_t at, uint64_t n) {
    guest::Channel::set_thread_device(device);
    return ch->copy_from_device(reinterpret_cast<void*>(at), at, n, 0);
  });
  guest::Channel::set_thread_device(previous);
  if (status != 0) return to_cu_result(status);
  protect(first, length, PROT_READ);
  for (uint64_t p = first; p < first + length; p += page_size()) state().pages[p] = kHostClean;
  state().touched.store(true, std::memory_order_release);
  return CUDA_SUCCESS;
}

// Unmaps the pages of [address, address + size) that no remaining variable needs, giving them
// back to the device-range reservation (both locks held).
void release_pages(uint64_t address, uint64_t size) {
  auto& vars = state().variables;
  for (uint64_t p = page_of(address); p < address + size; p += page_size()) {
    auto next = vars.lower_bound(p);
    const bool used_after = next != vars.end() && next->first < p + page_size();
    const bool used_before = next != vars.begin() && std::prev(next)->first + std::prev(next)->second.size > p;
    if (used_after || used_before) continue;
    mmap(reinterpret_cast<void*>(p), page_size(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
         -1, 0);
    state().pages.erase(p);
  }
}

template <typename Doomed>
void forget_if(Doomed&& doomed) {
  std::lock_guard coherence(managed_coherence_lock());
  std::unique_lock map(state().map_mutex);
  auto& vars = state().variables;
  for (auto it = vars.begin(); it != vars.end();) {
    if (!doomed(it->second)) {
      ++it;
      continue;
    }
    const uint64_t address = it->first;
    const uint64_t size = it->second.size;
    it = vars.erase(it);
    release_pages(address, size);
  }
  state().count.store(vars.size(), std::memory_order_release);
}

}  // namespace

CUresult mirror_managed_variable(const void* module, uint64_t address, uint64_t size, uint32_t device) {
  if (size == 0 || address + size < address) return CUDA_ERROR_INVALID_VALUE;
  install_managed_fault_handler();
  guest::Channel* ch = channel();
  if (ch == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
  std::lock_guard coherence(managed_coherence_lock());
  std::unique_lock map(state().map_mutex);
  if (state().variables.contains(address)) return CUDA_SUCCESS;
  // Pages already mirrored may be the CPU's: settle them first, so that every page is Device
  // and the new variable's bytes are read from the GPU at the next touch.
  if (variables_touched())
    if (CUresult r = hand_over_variables(*ch); r != CUDA_SUCCESS) return r;
  const uint64_t first = page_of(address);
  const uint64_t end = page_of(address + size - 1) + page_size();
  for (uint64_t p = first; p < end; p += page_size()) {
    if (state().pages.contains(p)) continue;
    // The driver's managed memory lies in vgpud's device address space, which the guest keeps
    // free of its own mappings (address_reservation.h); a page the program already uses is refused.
    if (!guest::reserve_device_range(p, page_size()) ||
        mmap(reinterpret_cast<void*>(p), page_size(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
            MAP_FAILED) {
      release_pages(address, size);
      return CUDA_ERROR_OUT_OF_MEMORY;
    }
    state().pages[p] = kDevice;
  }
  state().variables[address] = Variable{size, device, module};
  state().count.store(state().variables.size(), std::memory_order_release);
  return CUDA_SUCCESS;
}

void forget_managed_variables_of(const void* module) {
  if (state().count.load(std::memory_order_acquire) == 0) return;
  forget_if([&](const Variable& v) { return v.module == module; });
}

void forget_managed_variables(uint32_t device) {
  if (state().count.load(std::memory_order_acquire) == 0) return;
  forget_if([&](const Variable& v) { return v.device == device; });
}

std::optional<ManagedRange> find_managed_variable(uint64_t address) {
  if (state().count.load(std::memory_order_acquire) == 0) return std::nullopt;
  std::shared_lock map(state().map_mutex);
  auto& vars = state().variables;
  auto it = vars.upper_bound(address);
  if (it == vars.begin()) return std::nullopt;
  --it;
  if (address - it->first >= it->second.size) return std::nullopt;
  return ManagedRange{it->first, it->second.size, it->second.device};
}

bool resolve_variable_fault(uint64_t address) {
  if (state().count.load(std::memory_order_acquire) == 0) return false;
  auto& pages = state().pages;
  auto it = pages.find(page_of(address));
  if (it == pages.end()) return false;
  switch (it->second) {
    case kDevice: {
      uint64_t count = 1;
      for (auto next = std::next(it); next != pages.end() && next->first == it->first + count * page_size() &&
                                      next->second == kDevice && count * page_size() < kReadAhead;
           ++next)
        ++count;
      if (CUresult r = download(it->first, count); r != CUDA_SUCCESS) {
        // The program cannot go on: the instruction would fault again.
        std::fprintf(stderr, "vgpu: __managed__ variable at 0x%llx could not be read from the GPU (error %d)\n",
                     static_cast<unsigned long long>(address), static_cast<int>(r));
        std::abort();
      }
      return true;
    }
    case kHostClean:
      protect(it->first, page_size(), PROT_READ | PROT_WRITE);
      it->second = kHostDirty;
      return true;
    default:
      return true;  // another thread made it writable first
  }
}

bool variables_touched() { return state().touched.load(std::memory_order_acquire); }

CUresult hand_over_variables(guest::Channel& ch) {
  auto& pages = state().pages;
  for (auto it = pages.begin(); it != pages.end();) {
    if (it->second != kHostDirty) {
      ++it;
      continue;
    }
    // A run of adjacent dirty pages goes in one copy per variable part.
    auto end = std::next(it);
    uint64_t last = it->first;
    while (end != pages.end() && end->first == last + page_size() && end->second == kHostDirty) last = (end++)->first;
    const int32_t st = for_each_variable_part(it->first, last + page_size(), [&](uint32_t device, uint64_t at, uint64_t n) {
      guest::Channel::set_thread_device(device);
      return ch.copy_to_device(at, reinterpret_cast<const void*>(at), n, 0, true);
    });
    if (st != 0) return to_cu_result(st);
    it = end;
  }
  for (auto& [page, s] : pages) {
    if (s == kDevice) continue;
    protect(page, page_size(), PROT_NONE);
    s = kDevice;
  }
  state().touched.store(false, std::memory_order_release);
  return CUDA_SUCCESS;
}

}  // namespace vgpu::cuda
