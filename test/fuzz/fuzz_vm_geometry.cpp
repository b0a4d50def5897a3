// A VM region header read by the guest from a hostile or broken vgpud: whatever
// read_vm_geometry accepts must put every slot inside the region, after the header.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "vgpu/protocol/vm_layout.h"

using namespace vgpu::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint64_t region_size;
  if (size < sizeof region_size) return 0;
  std::memcpy(&region_size, data, sizeof region_size);
  // The header page as the guest maps it: the input, then zeros.
  alignas(VmHeader) static uint8_t page[kVmHeaderArea];
  std::memset(page, 0, sizeof page);
  std::memcpy(page, data + sizeof region_size,
              std::min<size_t>(size - sizeof region_size, sizeof page));
  auto g = read_vm_geometry(page, region_size);
  if (!g) return 0;
  if (g->slot_count == 0 || g->slot_count > kMaxVmSlots) __builtin_trap();
  if (g->region_size != region_size || g->slot_offset < kVmHeaderArea) __builtin_trap();
  if (g->slot_size == 0 || g->slot_offset > region_size) __builtin_trap();
  // Computed in 128 bits so an overflow the check missed still shows.
  const unsigned __int128 end =
      static_cast<unsigned __int128>(g->slot_offset) +
      static_cast<unsigned __int128>(g->slot_count) * g->slot_size;
  if (end > region_size) __builtin_trap();
  return 0;
}
