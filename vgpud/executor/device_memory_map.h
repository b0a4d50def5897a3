// The device address ranges a channel may touch: its allocations, its modules' globals and
// where it mapped physical allocations (virtual_memory.h), each with the guest device index it lives on. Every device pointer in a copy or memset is
// checked against it, because with unified addressing the driver would follow a pointer into
// another tenant's memory; the device tells copies between GPUs apart and lets a device reset
// forget only that device's ranges.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>

namespace vgpud {

class DeviceMemoryMap {
 public:
  // A Mapping's bytes are charged to its physical allocation (virtual_memory.h), a
  // GraphAllocation's to its graph memory (graph_objects.h), not here; MEM_FREE frees neither.
  // An IpcMemory range is an allocation of another process of the tenant, opened here
  // (executor_ipc.cpp) and charged where it was published (ipc_table.h).
  // HostHeap is the channel's pinned heap as the GPU addresses it (HEAP_DEVICE_POINTER): mapped
  // host memory that kernels, memsets and copies may name by that address.
  enum class Kind { Allocation, ModuleGlobal, Mapping, GraphAllocation, IpcMemory, HostHeap };

  void add(uint64_t base, uint64_t size, Kind kind, uint32_t device) {
    ranges_[base] = Range{size, kind, device};
  }

  // Size of the allocation starting exactly at base, or 0 if there is none.
  uint64_t allocation_size(uint64_t base) const {
    auto it = ranges_.find(base);
    return (it != ranges_.end() && it->second.kind == Kind::Allocation) ? it->second.size : 0;
  }

  bool remove(uint64_t base) { return ranges_.erase(base) != 0; }

  // Whether [ptr, ptr + len) lies inside one known range. Zero-length spans must still point
  // into a range.
  bool contains(uint64_t ptr, uint64_t len) const { return device_of(ptr, len).has_value(); }

  // The device of the range that holds [ptr, ptr + len), or nullopt. A span may run on from one
  // mapping into the mappings that follow it without a gap on the same device: they are one
  // stretch of address space (a framework grows a segment that way, and copies across it).
  std::optional<uint32_t> device_of(uint64_t ptr, uint64_t len) const {
    auto it = ranges_.upper_bound(ptr);
    if (it == ranges_.begin()) return std::nullopt;
    --it;
    const uint64_t offset = ptr - it->first;
    if (offset >= it->second.size) return std::nullopt;
    if (len <= it->second.size - offset) return it->second.device;
    if (it->second.kind != Kind::Mapping || ptr + len < ptr) return std::nullopt;
    const uint32_t device = it->second.device;
    uint64_t end = it->first + it->second.size;  // covered up to here
    for (auto next = std::next(it); end < ptr + len; ++next) {
      if (next == ranges_.end() || next->first != end || next->second.kind != Kind::Mapping ||
          next->second.device != device)
        return std::nullopt;
      end += next->second.size;
    }
    return device;
  }

  // The whole range that holds ptr, or nullopt.
  struct Found {
    uint64_t base;
    uint64_t size;
    Kind kind;
    uint32_t device;
  };
  std::optional<Found> range_at(uint64_t ptr) const {
    auto it = ranges_.upper_bound(ptr);
    if (it == ranges_.begin()) return std::nullopt;
    --it;
    if (ptr - it->first >= it->second.size) return std::nullopt;
    return Found{it->first, it->second.size, it->second.kind, it->second.device};
  }

  // The bytes from ptr to the end of the range that holds it, with the device; nullopt when no
  // range holds ptr.
  std::optional<std::pair<uint64_t, uint32_t>> room_at(uint64_t ptr) const {
    auto it = ranges_.upper_bound(ptr);
    if (it == ranges_.begin()) return std::nullopt;
    --it;
    const uint64_t offset = ptr - it->first;
    if (offset >= it->second.size) return std::nullopt;
    return std::pair{it->second.size - offset, it->second.device};
  }

  // Ranges held (allocations and globals): bounded by limits::kMaxAllocations, since each one
  // costs vgpud host memory.
  size_t allocation_count() const { return ranges_.size(); }

  uint64_t allocated_bytes() const {
    uint64_t total = 0;
    for (const auto& [base, r] : ranges_)
      if (r.kind == Kind::Allocation) total += r.size;
    return total;
  }

  void clear() { ranges_.clear(); }

  // Forgets every range of one device; returns the bytes of allocations among them.
  uint64_t remove_device(uint32_t device) {
    uint64_t freed = 0;
    std::erase_if(ranges_, [&](const auto& entry) {
      if (entry.second.device != device) return false;
      if (entry.second.kind == Kind::Allocation) freed += entry.second.size;
      return true;
    });
    return freed;
  }

 private:
  struct Range {
    uint64_t size;
    Kind kind;
    uint32_t device;
  };
  std::map<uint64_t, Range> ranges_;
};

}  // namespace vgpud
