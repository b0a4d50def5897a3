#include "guest/client/address_reservation.h"

#include <sys/mman.h>
#include <unistd.h>

#include <map>
#include <mutex>

namespace vgpu::guest {
namespace {

struct PageSpan {
  uint64_t first;  // first page
  uint64_t end;    // one past the last page
};

uint64_t page_size() {
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return page;
}

bool page_span(uint64_t start, uint64_t size, PageSpan* out) {
  const uint64_t page = page_size();
  if (size == 0 || start > UINT64_MAX - size - page) return false;
  *out = {start & ~(page - 1), (start + size + page - 1) & ~(page - 1)};
  return true;
}

// Maps [start, start + length) PROT_NONE, never over an existing mapping: MAP_FIXED_NOREPLACE
// fails (or, on kernels before 4.17, places it elsewhere, which is checked) when a page is taken.
bool map_pages(uint64_t start, uint64_t length) {
  void* want = reinterpret_cast<void*>(static_cast<uintptr_t>(start));
  void* got = mmap(want, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (got == MAP_FAILED) return false;
  if (got != want) {
    munmap(got, length);
    return false;
  }
  return true;
}

void unmap_pages(uint64_t start, uint64_t length) {
  if (length != 0) munmap(reinterpret_cast<void*>(static_cast<uintptr_t>(start)), length);
}

// How many device ranges hold each end page that is reserved. Interior pages belong to one
// range alone (ranges never overlap), so they need no count. Never destroyed: frees run from
// atexit handlers.
struct EndPages {
  std::mutex mutex;
  std::map<uint64_t, uint32_t> holders;
};
EndPages& end_pages() {
  static auto* e = new EndPages;
  return *e;
}

// With the mutex held: takes one more hold on an end page, reserving it if nobody holds it.
bool hold_end_page(EndPages& e, uint64_t page) {
  if (auto it = e.holders.find(page); it != e.holders.end()) {
    ++it->second;
    return true;
  }
  if (!map_pages(page, page_size())) return false;
  e.holders.emplace(page, 1);
  return true;
}

void drop_end_page(EndPages& e, uint64_t page) {
  auto it = e.holders.find(page);
  if (it == e.holders.end()) return;
  if (--it->second == 0) {
    e.holders.erase(it);
    unmap_pages(page, page_size());
  }
}

}  // namespace

bool reserve_device_range(uint64_t start, uint64_t size) {
  PageSpan span;
  if (!page_span(start, size, &span)) return false;
  const uint64_t page = page_size();
  const uint64_t last = span.end - page;
  EndPages& e = end_pages();
  std::lock_guard lock(e.mutex);
  if (!hold_end_page(e, span.first)) return false;
  if (last != span.first) {
    if (last > span.first + page && !map_pages(span.first + page, last - span.first - page)) {
      drop_end_page(e, span.first);
      return false;
    }
    if (!hold_end_page(e, last)) {
      unmap_pages(span.first + page, last - span.first - page);
      drop_end_page(e, span.first);
      return false;
    }
  }
  return true;
}

void release_device_range(uint64_t start, uint64_t size) {
  PageSpan span;
  if (!page_span(start, size, &span)) return;
  const uint64_t page = page_size();
  const uint64_t last = span.end - page;
  EndPages& e = end_pages();
  std::lock_guard lock(e.mutex);
  drop_end_page(e, span.first);
  if (last != span.first) {
    if (last > span.first + page) unmap_pages(span.first + page, last - span.first - page);
    drop_end_page(e, last);
  }
}

}  // namespace vgpu::guest
