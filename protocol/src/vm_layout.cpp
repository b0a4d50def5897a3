#include "vgpu/protocol/vm_layout.h"

#include <cstring>
#include <new>

namespace vgpu::proto {

namespace {

constexpr uint64_t kSlotAlignment = 2ull << 20;  // keeps each slot's rings huge-page friendly

constexpr uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
constexpr bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

const char* vm_geometry_error_message(VmGeometryError e) {
  switch (e) {
    case VmGeometryError::BadChannel: return "the per-process channel sizes are invalid";
    case VmGeometryError::TooManySlots: return "the slot count must be between 1 and 32";
    case VmGeometryError::RegionTooSmall:
      return "the shared region is too small for its slots (raise region_size or lower slots)";
    case VmGeometryError::RegionNotPowerOfTwo:
      return "the shared region size must be a power of two (a PCI BAR)";
    case VmGeometryError::BadHeader: return "the vgpu-stub's header is not a valid vgpu region";
  }
  return "unknown VM geometry error";
}

Result<VmGeometry, VmGeometryError> compute_vm_geometry(const ChannelSizes& sizes,
                                                       uint32_t slot_count, uint64_t region_size) {
  auto channel = compute_geometry(sizes);
  if (!channel) return Err{VmGeometryError::BadChannel};
  if (slot_count == 0 || slot_count > kMaxVmSlots) return Err{VmGeometryError::TooManySlots};
  if (!is_power_of_two(region_size)) return Err{VmGeometryError::RegionNotPowerOfTwo};
  VmGeometry g{};
  g.region_size = region_size;
  g.slot_count = slot_count;
  g.slot_offset = kSlotAlignment;
  g.slot_size = round_up(channel->region_size, kSlotAlignment);
  g.channel = *channel;
  // Sizes are bounded (rings and heap have limits), so this cannot overflow.
  if (g.slot_offset + uint64_t{slot_count} * g.slot_size > region_size)
    return Err{VmGeometryError::RegionTooSmall};
  return g;
}

void initialize_vm_header(void* region, const VmGeometry& g, uint32_t vgpud_peer_id) {
  std::memset(region, 0, kVmHeaderArea);
  auto* h = new (region) VmHeader{};
  h->magic = kVmMagic;
  h->protocol_version = kProtocolVersion;
  h->header_size = sizeof(VmHeader);
  h->slot_count = g.slot_count;
  h->region_size = g.region_size;
  h->slot_offset = g.slot_offset;
  h->slot_size = g.slot_size;
  h->vgpud_peer_id = vgpud_peer_id;
  h->host_state.store(1, std::memory_order_release);
}

Result<VmGeometry, VmGeometryError> read_vm_geometry(const void* region, uint64_t region_size) {
  if (region_size < kVmHeaderArea) return Err{VmGeometryError::BadHeader};
  // One copy of the fixed fields; nothing below reads the shared header again.
  uint32_t words[4];
  uint64_t sizes[4];
  std::memcpy(words, region, sizeof words);
  std::memcpy(sizes, static_cast<const uint8_t*>(region) + 16, sizeof sizes);
  const auto [magic, version, header_size, slot_count] = words;
  const auto [total, slot_offset, slot_size, unused] = sizes;
  (void)unused;
  if (magic != kVmMagic || version != kProtocolVersion || header_size != sizeof(VmHeader))
    return Err{VmGeometryError::BadHeader};
  if (slot_count == 0 || slot_count > kMaxVmSlots) return Err{VmGeometryError::BadHeader};
  if (total != region_size || slot_offset < kVmHeaderArea || slot_offset % 4096 != 0 ||
      slot_size == 0 || slot_size % 4096 != 0 || slot_offset > region_size ||
      slot_size > (region_size - slot_offset) / slot_count)
    return Err{VmGeometryError::BadHeader};
  VmGeometry g{};
  g.region_size = total;
  g.slot_offset = slot_offset;
  g.slot_size = slot_size;
  g.slot_count = slot_count;
  return g;
}

}  // namespace vgpu::proto
