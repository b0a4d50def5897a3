#include "guest/cuda/virtual_memory.h"

#include <map>
#include <mutex>

namespace vgpu::cuda {
namespace {

struct Physical {
  CUmemAllocationProp prop;
  uint64_t size;
  uint32_t references;
};

// Never destroyed: atexit handlers may still unmap after static destructors would have run.
struct VirtualMemoryState {
  std::mutex mutex;
  std::map<CUmemGenericAllocationHandle, Physical> physicals;
  std::map<uint64_t, CUmemGenericAllocationHandle> mapping_handles;  // mapping start -> handle
  AddressMap mappings;
};
VirtualMemoryState& state() {
  static auto* s = new VirtualMemoryState;
  return *s;
}

}  // namespace

void note_physical(CUmemGenericAllocationHandle handle, const CUmemAllocationProp& prop, uint64_t size) {
  std::lock_guard lock(state().mutex);
  state().physicals[handle] = Physical{prop, size, 1};
}

void note_retained(CUmemGenericAllocationHandle handle) {
  std::lock_guard lock(state().mutex);
  if (auto it = state().physicals.find(handle); it != state().physicals.end()) ++it->second.references;
}

void note_released(CUmemGenericAllocationHandle handle) {
  std::lock_guard lock(state().mutex);
  auto it = state().physicals.find(handle);
  if (it != state().physicals.end() && --it->second.references == 0) state().physicals.erase(it);
}

std::optional<CUmemAllocationProp> physical_properties(CUmemGenericAllocationHandle handle) {
  std::lock_guard lock(state().mutex);
  auto it = state().physicals.find(handle);
  if (it == state().physicals.end()) return std::nullopt;
  return it->second.prop;
}

void note_mapped(uint64_t address, uint64_t size, CUmemGenericAllocationHandle handle) {
  std::lock_guard lock(state().mutex);
  uint32_t device = 0;
  if (auto it = state().physicals.find(handle); it != state().physicals.end())
    device = static_cast<uint32_t>(it->second.prop.location.id);
  state().mappings.insert(address, size, device);
  state().mapping_handles[address] = handle;
}

void note_unmapped(uint64_t address, uint64_t size) {
  std::lock_guard lock(state().mutex);
  auto& handles = state().mapping_handles;
  for (auto it = handles.lower_bound(address); it != handles.end() && it->first - address < size;) {
    state().mappings.erase(it->first);
    it = handles.erase(it);
  }
}

std::optional<AddressRange> find_mapping(uint64_t address) { return state().mappings.find(address); }

void forget_virtual_memory(uint32_t device) {
  std::lock_guard lock(state().mutex);
  for (const AddressRange& r : state().mappings.clear_device(device)) state().mapping_handles.erase(r.start);
  std::erase_if(state().physicals, [&](const auto& entry) {
    return static_cast<uint32_t>(entry.second.prop.location.id) == device;
  });
}

}  // namespace vgpu::cuda
