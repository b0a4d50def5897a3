#include "vgpud/executor/virtual_memory.h"

#include "vgpu/protocol/limits.h"

namespace vgpud {

namespace limits = vgpu::limits;

VirtualMemory::VirtualMemory() : physicals_(1, limits::kMaxPhysicalAllocations) {}

bool VirtualMemory::reservations_full() const {
  return reservations_.size() >= limits::kMaxAddressReservations;
}

bool VirtualMemory::is_reservation(uint64_t base, uint64_t size) const {
  auto it = reservations_.find(base);
  return it != reservations_.end() && it->second == size;
}

uint64_t VirtualMemory::forget_if_unused(uint64_t id) {
  Physical* p = physicals_.find(id);
  if (p == nullptr || p->references != 0 || p->mappings != 0) return 0;
  const uint64_t size = p->size;
  physicals_.erase(id);
  return size;
}

std::vector<uint64_t> VirtualMemory::physicals_on(std::optional<uint32_t> device) {
  std::vector<uint64_t> ids;
  physicals_.for_each([&](uint64_t id, const Physical& p) {
    if (!device || p.device == *device) ids.push_back(id);
  });
  return ids;
}

bool VirtualMemory::can_map(uint64_t address, uint64_t size) const {
  if (size == 0 || address + size < address) return false;
  // Inside one reservation...
  auto r = reservations_.upper_bound(address);
  if (r == reservations_.begin()) return false;
  --r;
  if (address - r->first >= r->second || size > r->second - (address - r->first)) return false;
  // ...and clear of every mapping: the one starting at or after address must start at or after
  // its end, and the one before must end at or before address.
  auto next = mappings_.lower_bound(address);
  if (next != mappings_.end() && next->first < address + size) return false;
  if (next != mappings_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second.size > address) return false;
  }
  return true;
}

void VirtualMemory::add_mapping(uint64_t address, const Mapping& m) {
  mappings_[address] = m;
  if (Physical* p = physicals_.find(m.physical)) ++p->mappings;
}

std::optional<std::pair<uint64_t, VirtualMemory::Mapping>> VirtualMemory::mapping_at(uint64_t address) const {
  auto it = mappings_.upper_bound(address);
  if (it == mappings_.begin()) return std::nullopt;
  --it;
  if (address - it->first >= it->second.size) return std::nullopt;
  return *it;
}

std::optional<std::vector<uint64_t>> VirtualMemory::run_from(uint64_t address, uint64_t size,
                                                             bool exact_end) const {
  if (size == 0 || address + size < address) return std::nullopt;
  const uint64_t end = address + size;
  std::vector<uint64_t> run;
  uint64_t at = address;
  // exact: the run starts at a mapping's start; covered: anywhere inside one.
  auto it = mappings_.upper_bound(at);
  if (it == mappings_.begin()) return std::nullopt;
  --it;
  if (exact_end ? it->first != at : at - it->first >= it->second.size) return std::nullopt;
  while (at < end) {
    if (it == mappings_.end() || it->first > at) return std::nullopt;  // a gap
    run.push_back(it->first);
    at = it->first + it->second.size;
    ++it;
  }
  if (exact_end && at != end) return std::nullopt;  // ends inside a mapping
  return run;
}

std::optional<std::vector<uint64_t>> VirtualMemory::exact_mappings(uint64_t address, uint64_t size) const {
  return run_from(address, size, true);
}

std::vector<uint64_t> VirtualMemory::mappings_within(uint64_t address, uint64_t size) const {
  std::vector<uint64_t> starts;
  for (auto it = mappings_.lower_bound(address); it != mappings_.end() && it->first - address < size; ++it)
    starts.push_back(it->first);
  return starts;
}

std::vector<uint64_t> VirtualMemory::mappings_on(std::optional<uint32_t> device) {
  std::vector<uint64_t> starts;
  for (const auto& [address, m] : mappings_) {
    const Physical* p = physicals_.find(m.physical);
    if (!device || (p != nullptr && p->device == *device)) starts.push_back(address);
  }
  return starts;
}

std::optional<VirtualMemory::Mapping> VirtualMemory::remove_mapping(uint64_t address) {
  auto it = mappings_.find(address);
  if (it == mappings_.end()) return std::nullopt;
  const Mapping m = it->second;
  mappings_.erase(it);
  if (Physical* p = physicals_.find(m.physical); p != nullptr && p->mappings > 0) --p->mappings;
  return m;
}

}  // namespace vgpud
