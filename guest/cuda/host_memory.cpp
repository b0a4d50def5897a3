// cuMemAllocHost, cuMemHostAlloc, cuMemFreeHost, cuMemHostGetFlags, cuMemHostGetDevicePointer,
// cuMemHostRegister, cuMemHostUnregister.
#include "guest/cuda/host_memory.h"

#include "guest/cuda/device_memory.h"

#include <atomic>
#include <iterator>
#include <map>
#include <mutex>

#include "guest/client/log.h"
#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/driver_state.h"

using namespace vgpu::cuda;
namespace guest = vgpu::guest;

namespace vgpu::cuda {
namespace {

// Never destroyed: atexit handlers free host memory after static destructors would have run.
struct HostRanges {
  std::mutex mutex;
  std::map<uintptr_t, HostRange> by_start;
  std::atomic<uint64_t> moved{0};  // registered ranges whose pages are in the heap: copies look
                                   // them up only while there are any
};
HostRanges& ranges() {
  static auto* r = new HostRanges;
  return *r;
}

// The range starting at or before `address` that contains it; with the mutex held.
std::map<uintptr_t, HostRange>::iterator containing(HostRanges& r, uintptr_t address) {
  auto it = r.by_start.upper_bound(address);
  if (it == r.by_start.begin()) return r.by_start.end();
  --it;
  const HostRange& h = it->second;
  return address - h.start < std::max<uint64_t>(h.size, 1) ? it : r.by_start.end();
}

HostRange new_range(uintptr_t start, uint64_t size, unsigned flags, bool registered, Context* owner) {
  HostRange h;
  h.start = start;
  h.size = size;
  h.flags = flags;
  h.registered = registered;
  h.owner = owner;
  return h;
}

CUresult host_alloc(void** out, size_t size, unsigned flags) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (flags & ~(CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_WRITECOMBINED))
    return CUDA_ERROR_INVALID_VALUE;
  if (init_status() != CUDA_SUCCESS) return init_status();
  Context* owner = current_context();
  if (owner == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  guest::HostHeap* heap = guest::process_host_heap();
  if (heap == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
  void* p = heap->allocate(size);
  if (p == nullptr) return CUDA_ERROR_OUT_OF_MEMORY;
  HostRanges& r = ranges();
  std::lock_guard lock(r.mutex);
  // Every context maps page-locked memory for the device (CU_CTX_MAP_HOST is always on since
  // unified addressing), so the driver reports DEVICEMAP on every allocation.
  r.by_start[reinterpret_cast<uintptr_t>(p)] =
      new_range(reinterpret_cast<uintptr_t>(p), size, flags | CU_MEMHOSTALLOC_DEVICEMAP, false, owner);
  *out = p;
  return CUDA_SUCCESS;
}

CUresult free_host(void* p) {
  if (p == nullptr) return CUDA_SUCCESS;
  HostRanges& r = ranges();
  {
    std::lock_guard lock(r.mutex);
    auto it = r.by_start.find(reinterpret_cast<uintptr_t>(p));
    if (it == r.by_start.end() || it->second.registered) return CUDA_ERROR_INVALID_VALUE;
    r.by_start.erase(it);
  }
  // Like the driver, let queued copies that may still read or write the block finish first.
  if (guest::Channel* ch = channel(); ch != nullptr && current_context() != nullptr)
    (void)ch->call(proto::CallId::DeviceSynchronize, {}, {});
  guest::HostHeap* heap = guest::process_host_heap();
  return heap != nullptr && heap->release(p) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

// Whether a registered range whose pages moved into the heap holds a page of `pages`; with the
// mutex held. Ranges do not overlap, so only the last one starting below the span can reach into
// it, and every one starting inside it is on its pages.
bool pages_moved(HostRanges& r, PageSpan pages) {
  auto it = r.by_start.lower_bound(pages.begin);
  if (it != r.by_start.begin()) {
    const HostRange& before = std::prev(it)->second;
    if (before.alias.active() && before.alias.pages.overlaps(pages)) return true;
  }
  for (; it != r.by_start.end() && it->first < pages.end; ++it)
    if (it->second.alias.active()) return true;
  return false;
}

// Moves a new registration's pages into the heap when that is safe (host_register.h); else says
// why not, and the range is staged. With the mutex held, so that two registrations never move
// one page.
const char* move_pages(HostRanges& r, HostRange& range) {
  const PageSpan pages = page_span(range.start, range.size);
  if (pages_moved(r, pages)) return "it shares a page with memory registered earlier";
  guest::HostHeap* heap = guest::process_host_heap();
  if (heap == nullptr) return "there is no shared heap";
  const bool read_only = (range.flags & CU_MEMHOSTREGISTER_READ_ONLY) != 0;
  const char* why = alias_pages(*heap, range.start, range.size, read_only, &range.alias);
  if (why == nullptr) r.moved.fetch_add(1, std::memory_order_relaxed);
  return why;
}

CUresult host_register(void* p, size_t size, unsigned flags) {
  constexpr unsigned kKnown = CU_MEMHOSTREGISTER_PORTABLE | CU_MEMHOSTREGISTER_DEVICEMAP |
                              CU_MEMHOSTREGISTER_IOMEMORY | CU_MEMHOSTREGISTER_READ_ONLY;
  if (p == nullptr || size == 0 || (flags & ~kKnown) != 0) return CUDA_ERROR_INVALID_VALUE;
  if (flags & CU_MEMHOSTREGISTER_IOMEMORY) return CUDA_ERROR_NOT_SUPPORTED;  // no device memory behind guest I/O
  if (init_status() != CUDA_SUCCESS) return init_status();
  Context* owner = current_context();
  if (owner == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  const auto start = reinterpret_cast<uintptr_t>(p);
  if (start + size < start) return CUDA_ERROR_INVALID_VALUE;
  HostRanges& r = ranges();
  std::lock_guard lock(r.mutex);
  // A range overlapping page-locked memory is refused, as the driver refuses it.
  auto next = r.by_start.lower_bound(start);
  if (next != r.by_start.end() && next->first < start + size) return CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
  if (containing(r, start) != r.by_start.end()) return CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
  // Recorded first, so that nothing can fail once the pages have moved.
  HostRange& range = r.by_start.emplace(start, new_range(start, size, flags, true, owner)).first->second;
  range.not_moved = move_pages(r, range);
  return CUDA_SUCCESS;
}

CUresult host_unregister(void* p) {
  if (p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (init_status() != CUDA_SUCCESS) return init_status();
  HostRanges& r = ranges();
  PageAlias alias;
  {
    std::lock_guard lock(r.mutex);
    auto it = r.by_start.find(reinterpret_cast<uintptr_t>(p));
    if (it == r.by_start.end() || !it->second.registered) return CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
    alias = it->second.alias;
    r.by_start.erase(it);
  }
  if (!alias.active()) return CUDA_SUCCESS;
  // Copies from now on are staged. Like free_host, let queued work that may still read or write
  // the block finish, so that the contents moved back are the last ones and no DMA reaches the
  // block once the heap hands it out again.
  if (guest::Channel* ch = channel(); ch != nullptr && current_context() != nullptr)
    (void)ch->call(proto::CallId::DeviceSynchronize, {}, {});
  guest::HostHeap* heap = guest::process_host_heap();
  std::lock_guard lock(r.mutex);  // no registration reads the maps halfway through the move
  r.moved.fetch_sub(1, std::memory_order_relaxed);
  if (heap == nullptr || !unalias_pages(*heap, alias))
    guest::log(guest::LogLevel::Warn,
               "cuMemHostUnregister(%p): no memory to move its pages out of the shared heap; they stay there",
               p);
  return CUDA_SUCCESS;
}

// Says once per registered range why it has no device address.
void warn_not_mapped(uintptr_t start) {
  const char* why = nullptr;
  {
    HostRanges& r = ranges();
    std::lock_guard lock(r.mutex);
    auto it = r.by_start.find(start);
    if (it == r.by_start.end() || it->second.warned) return;
    it->second.warned = true;
    why = it->second.not_moved;
  }
  guest::log(guest::LogLevel::Warn,
             "registered memory at %p is not mapped for the device: %s; its copies are staged, and "
             "cuMemHostGetDevicePointer answers CUDA_ERROR_NOT_SUPPORTED",
             reinterpret_cast<void*>(start), why != nullptr ? why : "unknown");
}

}  // namespace

std::optional<HostRange> find_host_range(const void* p) noexcept {
  try {
    HostRanges& r = ranges();
    std::lock_guard lock(r.mutex);
    auto it = containing(r, reinterpret_cast<uintptr_t>(p));
    if (it != r.by_start.end()) return it->second;
  } catch (...) {
  }
  return std::nullopt;
}

bool heap_offset_of(const void* p, uint64_t count, uint64_t* offset) noexcept {
  const guest::HeapRange heap = shared_heap();
  if (heap.offset_of(p, count, offset)) return true;
  HostRanges& r = ranges();
  if (heap.base == nullptr || r.moved.load(std::memory_order_relaxed) == 0) return false;
  try {
    std::lock_guard lock(r.mutex);
    auto it = containing(r, reinterpret_cast<uintptr_t>(p));
    if (it == r.by_start.end() || !it->second.alias.active()) return false;
    // The bytes around the range on its pages moved too: a copy may reach them.
    const PageAlias& alias = it->second.alias;
    const uint64_t into = reinterpret_cast<uintptr_t>(p) - alias.pages.begin;
    if (count > alias.pages.end - alias.pages.begin - into) return false;
    *offset = static_cast<uint64_t>(alias.block - heap.base) + into;
    return true;
  } catch (...) {
    return false;
  }
}

// The heap's device address, per device, once asked (0 before). vgpud registers the region
// PORTABLE, so under unified addressing the heap has one device address in every context; it is
// asked for once per device all the same, as each device's context may be the first to exist.
std::atomic<CUdeviceptr> g_heap_device_bases[limits::kMaxDevices];

bool in_mapped_heap(CUdeviceptr p, size_t size) noexcept {
  const guest::HeapRange heap = shared_heap();
  for (const auto& base : g_heap_device_bases) {
    const CUdeviceptr b = base.load(std::memory_order_acquire);
    if (b != 0 && p >= b && p - b < heap.size && size <= heap.size - (p - b)) return true;
  }
  return false;
}

CUresult mapped_address(guest::Channel& channel, const void* p, CUdeviceptr* out);

CUresult gpu_address_of(guest::Channel& channel, CUdeviceptr* p, size_t size, bool* host) {
  *host = false;
  if (is_device_pointer(*p)) return CUDA_SUCCESS;
  if (find_host_range(reinterpret_cast<const void*>(*p)) == std::nullopt) {
    *host = in_mapped_heap(*p, size);
    return CUDA_SUCCESS;
  }
  *host = true;
  return mapped_address(channel, reinterpret_cast<const void*>(*p), p);
}

CUresult mapped_address(guest::Channel& channel, const void* p, CUdeviceptr* out) {
  const std::optional<HostRange> h = find_host_range(p);
  if (!h) return CUDA_ERROR_INVALID_VALUE;
  if (h->registered && !h->alias.active()) {
    warn_not_mapped(h->start);
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  uint64_t offset = 0;
  if (!heap_offset_of(p, 1, &offset)) return CUDA_ERROR_INVALID_VALUE;
  std::atomic<CUdeviceptr>* bases = g_heap_device_bases;
  const uint32_t device = guest::Channel::thread_device();
  if (device >= limits::kMaxDevices) return CUDA_ERROR_INVALID_DEVICE;
  CUdeviceptr base = bases[device].load(std::memory_order_acquire);
  if (base == 0) {
    proto::HeapDevicePointerReply reply{};
    const guest::CallResult r = guest::call<proto::CallId::HeapDevicePointer>(channel, {}, &reply);
    if (r.status != 0) return to_cu_result(r.status);
    if (r.payload_size < sizeof reply || reply.device_ptr == 0) return CUDA_ERROR_UNKNOWN;
    base = reply.device_ptr;
    bases[device].store(base, std::memory_order_release);
  }
  *out = base + offset;
  return CUDA_SUCCESS;
}

guest::HeapRange shared_heap() noexcept {
  if (channel() == nullptr) return {};
  guest::HostHeap* heap = guest::process_host_heap();
  return heap != nullptr ? heap->range() : guest::HeapRange{};
}

}  // namespace vgpu::cuda

VGPU_DRIVER_API CUresult cuMemHostAlloc(void** out, size_t size, unsigned int flags) {
  return guarded([&] { return host_alloc(out, size, flags); });
}
VGPU_DRIVER_API CUresult cuMemAllocHost_v2(void** out, size_t size) {
  return guarded([&] { return host_alloc(out, size, 0); });
}
VGPU_DRIVER_API CUresult cuMemFreeHost(void* p) { return guarded([&] { return free_host(p); }); }

VGPU_DRIVER_API CUresult cuMemHostGetDevicePointer_v2(CUdeviceptr* out, void* p, unsigned int flags) {
  if (out == nullptr || flags != 0) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    return mapped_address(*ch, p, out);
  });
}

VGPU_DRIVER_API CUresult cuMemHostGetFlags(unsigned int* flags, void* p) {
  if (flags == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    if (init_status() != CUDA_SUCCESS) return init_status();
    const std::optional<HostRange> h = find_host_range(p);
    if (!h || h->registered) return CUDA_ERROR_INVALID_VALUE;
    *flags = h->flags;
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuMemHostRegister_v2(void* p, size_t size, unsigned int flags) {
  return guarded([&] { return host_register(p, size, flags); });
}
VGPU_DRIVER_API CUresult cuMemHostRegister(void* p, size_t size, unsigned int flags) {
  return cuMemHostRegister_v2(p, size, flags);
}
VGPU_DRIVER_API CUresult cuMemHostUnregister(void* p) { return guarded([&] { return host_unregister(p); }); }
