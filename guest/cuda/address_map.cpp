#include "guest/cuda/address_map.h"

#include <iterator>

namespace vgpu::cuda {

void AddressMap::insert(uint64_t start, uint64_t size, uint32_t device) {
  if (size == 0) return;
  std::lock_guard lock(mu_);
  ranges_[start] = Entry{size, device};
}

bool AddressMap::erase(uint64_t start) {
  std::lock_guard lock(mu_);
  return ranges_.erase(start) > 0;
}

std::optional<AddressRange> AddressMap::find(uint64_t address) const {
  std::lock_guard lock(mu_);
  auto it = ranges_.upper_bound(address);  // first range starting after address
  if (it == ranges_.begin()) return std::nullopt;
  it = std::prev(it);
  // address - start < size also holds for ranges that reach the top of the address space.
  if (address - it->first >= it->second.size) return std::nullopt;
  return AddressRange{it->first, it->second.size, it->second.device};
}

void AddressMap::clear() {
  std::lock_guard lock(mu_);
  ranges_.clear();
}

std::vector<AddressRange> AddressMap::clear_device(uint32_t device) {
  std::lock_guard lock(mu_);
  std::vector<AddressRange> removed;
  std::erase_if(ranges_, [&](const auto& entry) {
    if (entry.second.device != device) return false;
    removed.push_back(AddressRange{entry.first, entry.second.size, entry.second.device});
    return true;
  });
  return removed;
}

std::size_t AddressMap::size() const {
  std::lock_guard lock(mu_);
  return ranges_.size();
}

}  // namespace vgpu::cuda
