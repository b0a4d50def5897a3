#include "guest/client/host_heap.h"

#include <cstdlib>
#include <new>

#include "guest/client/log.h"
#include "guest/client/process.h"

namespace vgpu::guest {

HostHeap::HostHeap(uint8_t* base, uint64_t size, BackingFile file)
    : base_(base), size_(base ? size : 0), file_(base ? file : BackingFile{}),
      reserve_size_(size_ / 8 / 4096 * 4096),
      heap_(reinterpret_cast<uintptr_t>(base), size_ - reserve_size_),
      reserve_(reinterpret_cast<uintptr_t>(base) + (size_ - reserve_size_), reserve_size_) {}

void* HostHeap::allocate_in_heap(uint64_t size, uint64_t alignment) {
  std::lock_guard lock(mu_);
  auto address = heap_.allocate(size, alignment);
  return address ? reinterpret_cast<void*>(*address) : nullptr;
}

void* HostHeap::allocate_internal(uint64_t size, uint64_t alignment) {
  std::lock_guard lock(mu_);
  auto address = reserve_.allocate(size, alignment);
  if (!address) address = heap_.allocate(size, alignment);
  return address ? reinterpret_cast<void*>(*address) : nullptr;
}

void* HostHeap::allocate(uint64_t size) {
  std::lock_guard lock(mu_);
  if (auto address = heap_.allocate(size)) return reinterpret_cast<void*>(*address);

  if (!warned_) {
    warned_ = true;
    guest::log(guest::LogLevel::Warn,
               "the shared heap (%llu MiB) is full: page-locked allocations now return pageable memory, "
               "and copies from it are staged",
               static_cast<unsigned long long>(size_ >> 20));
  }
  void* p = nullptr;
  if (posix_memalign(&p, 4096, size == 0 ? 1 : size) != 0) return nullptr;
  try {
    fallback_.insert(p);
  } catch (...) {
    std::free(p);
    throw;
  }
  return p;
}

bool HostHeap::release(void* p) {
  std::lock_guard lock(mu_);
  auto address = reinterpret_cast<uintptr_t>(p);
  if (heap_.contains(address)) return heap_.free(address);
  if (reserve_.contains(address)) return reserve_.free(address);
  if (fallback_.erase(p) == 0) return false;
  std::free(p);
  return true;
}

HostHeap* process_host_heap() noexcept {
  // Never destroyed, like the channel it lies in.
  static HostHeap* const heap = []() -> HostHeap* {
    Channel* channel = process_channel();
    if (channel == nullptr) return nullptr;
    return new (std::nothrow) HostHeap(channel->heap_base(), channel->heap_size(), channel->heap_file());
  }();
  return heap;
}

}  // namespace vgpu::guest
