// The device address ranges a channel may touch: its allocations and its modules' globals.
// Every device pointer in a copy or memset is checked against it, because with unified
// addressing the driver would follow a pointer into another tenant's memory.
#pragma once
#include <cstdint>
#include <map>

namespace vgpud {

class DeviceMemoryMap {
 public:
  enum class Kind { Allocation, ModuleGlobal };

  void add(uint64_t base, uint64_t size, Kind kind) { ranges_[base] = Range{size, kind}; }

  // Size of the allocation starting exactly at base, or 0 if there is none.
  uint64_t allocation_size(uint64_t base) const {
    auto it = ranges_.find(base);
    return (it != ranges_.end() && it->second.kind == Kind::Allocation) ? it->second.size : 0;
  }

  bool remove(uint64_t base) { return ranges_.erase(base) != 0; }

  // Whether [ptr, ptr + len) lies inside one known range. Zero-length spans must still point
  // into a range.
  bool contains(uint64_t ptr, uint64_t len) const {
    auto it = ranges_.upper_bound(ptr);
    if (it == ranges_.begin()) return false;
    --it;
    const uint64_t base = it->first;
    const uint64_t size = it->second.size;
    const uint64_t offset = ptr - base;
    return offset < size && len <= size - offset;
  }

  uint64_t allocated_bytes() const {
    uint64_t total = 0;
    for (const auto& [base, r] : ranges_)
      if (r.kind == Kind::Allocation) total += r.size;
    return total;
  }

  void clear() { ranges_.clear(); }

 private:
  struct Range {
    uint64_t size;
    Kind kind;
  };
  std::map<uint64_t, Range> ranges_;
};

}  // namespace vgpud
