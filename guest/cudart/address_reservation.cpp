#include "guest/cudart/address_reservation.h"

#include <sys/mman.h>
#include <unistd.h>

namespace vgpu::cudart {
namespace {

struct PageSpan {
  uint64_t start;
  uint64_t length;
};

bool page_span(uint64_t start, uint64_t size, PageSpan* out) {
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  if (size == 0 || start > UINT64_MAX - size - page) return false;
  const uint64_t first = start & ~(page - 1);
  const uint64_t end = (start + size + page - 1) & ~(page - 1);
  *out = {first, end - first};
  return true;
}

}  // namespace

bool reserve_device_range(uint64_t start, uint64_t size) {
  PageSpan span;
  if (!page_span(start, size, &span)) return false;
  // Never on top of a guest mapping: MAP_FIXED_NOREPLACE fails (or, on kernels before 4.17,
  // places it elsewhere, which is checked below) when any page is taken.
  void* want = reinterpret_cast<void*>(static_cast<uintptr_t>(span.start));
  void* got = mmap(want, span.length, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (got == MAP_FAILED) return false;
  if (got != want) {
    munmap(got, span.length);
    return false;
  }
  return true;
}

void release_device_range(uint64_t start, uint64_t size) {
  PageSpan span;
  if (page_span(start, size, &span))
    munmap(reinterpret_cast<void*>(static_cast<uintptr_t>(span.start)), span.length);
}

}  // namespace vgpu::cudart
