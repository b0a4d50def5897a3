#include "guest/client/address_reservation.h"

#include <sys/mman.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <vector>

namespace vgpu::guest {
namespace {

uint64_t page_size() {
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return page;
}

// Maps [start, end) PROT_NONE, never over an existing mapping: MAP_FIXED_NOREPLACE fails (or,
// on kernels before 4.17, places it elsewhere, which is checked) when a page is taken.
bool map_pages(uint64_t start, uint64_t end) {
  void* want = reinterpret_cast<void*>(static_cast<uintptr_t>(start));
  const size_t length = end - start;
  void* got = mmap(want, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (got == MAP_FAILED) return false;
  if (got != want) {
    munmap(got, length);
    return false;
  }
  return true;
}

// The pages reserved so far, as disjoint, non-adjacent [first, end) runs by their first page.
// Never destroyed: allocations run from atexit handlers.
struct Reserved {
  std::mutex mutex;
  std::map<uint64_t, uint64_t> runs;
};
Reserved& reserved() {
  static auto* r = new Reserved;
  return *r;
}

// With the mutex held: the parts of [first, end) no run covers yet.
std::vector<std::pair<uint64_t, uint64_t>> gaps(const Reserved& r, uint64_t first, uint64_t end) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  auto it = r.runs.upper_bound(first);
  if (it != r.runs.begin()) {
    auto before = std::prev(it);
    if (before->second > first) first = std::min(before->second, end);
  }
  for (; first < end; ++it) {
    if (it == r.runs.end() || it->first >= end) {
      out.emplace_back(first, end);
      break;
    }
    if (it->first > first) out.emplace_back(first, it->first);
    first = std::max(first, it->second);
  }
  return out;
}

// With the mutex held: [first, end) is reserved now; merges it with the runs it touches.
void add_run(Reserved& r, uint64_t first, uint64_t end) {
  auto it = r.runs.upper_bound(first);
  if (it != r.runs.begin() && std::prev(it)->second >= first) {
    --it;
    first = it->first;
  }
  while (it != r.runs.end() && it->first <= end) {
    end = std::max(end, it->second);
    it = r.runs.erase(it);
  }
  r.runs.emplace(first, end);
}

}  // namespace

bool reserve_device_range(uint64_t start, uint64_t size) {
  const uint64_t page = page_size();
  if (size == 0 || start > UINT64_MAX - size - page) return false;
  const uint64_t first = start & ~(page - 1);
  const uint64_t end = (start + size + page - 1) & ~(page - 1);
  Reserved& r = reserved();
  std::lock_guard lock(r.mutex);
  const auto missing = gaps(r, first, end);
  for (size_t i = 0; i < missing.size(); ++i) {
    if (!map_pages(missing[i].first, missing[i].second)) {
      // Some of it is the process's own memory: give back what this call took.
      for (size_t j = 0; j < i; ++j) munmap(reinterpret_cast<void*>(missing[j].first), missing[j].second - missing[j].first);
      return false;
    }
  }
  for (const auto& [gap_first, gap_end] : missing) add_run(r, gap_first, gap_end);
  return true;
}

}  // namespace vgpu::guest
