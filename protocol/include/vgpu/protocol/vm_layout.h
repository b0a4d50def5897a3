// The layout of a VM region: the shared memory of one VM's vgpu-stub (QEMU's ivshmem-doorbell
// device, BAR2), which vgpud creates and serves (docs/protocol.md §7).
//
//   offset 0                      VmHeader (one page): identity, slot geometry, slot table
//   slot_offset + i * slot_size   channel slot i: one channel region (channel_layout.h), for
//                                 one guest process at a time
//
// vgpud writes the header; the guest only ever writes the fields of a slot's SlotControl that
// are marked "guest". vgpud keeps its own copy of the geometry and of each slot's state, and
// treats what the guest wrote as a request to check, never as fact.
//
// Doorbells: the guest writes (vgpud_peer_id << 16) | vector to the stub's Doorbell register
// (BAR0 offset 12). Vector 0 asks vgpud to look at the slot table; vector 1 + i is slot i's
// channel doorbell. Guest processes poll their reply ring and take no interrupts: a slot's
// worker does write the VM's own vector 1 + i when the guest says it waits (as it writes a
// local channel's notify eventfd), and QEMU raises that vector only if the guest enabled
// MSI-X on the stub, which the shim does not do.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "vgpu/protocol/channel_layout.h"
#include "vgpu/protocol/version.h"

namespace vgpu::proto {

// "VGPV" as a little-endian u32: the first word of BAR2 on a vgpu-stub.
inline constexpr uint32_t kVmMagic = 0x56504756;
inline constexpr uint32_t kMaxVmSlots = 32;
inline constexpr uint64_t kVmHeaderArea = 4096;
// The register of ivshmem-doorbell's BAR0 that rings a peer.
inline constexpr uint64_t kIvshmemDoorbellRegister = 12;
inline constexpr uint32_t kVmControlVector = 0;
inline constexpr uint32_t vm_slot_vector(uint32_t slot) { return 1 + slot; }

enum class SlotState : uint32_t {
  Free = 0,     // nobody: a guest process may claim it
  Claimed = 1,  // guest: a process took it (compare-and-swap from Free) and rang vector 0
  Ready = 2,    // vgpud: the channel is laid out and served; the process may talk
  Closing = 3,  // guest: the process is done (cudart unloading); vgpud frees the slot
  Refused = 4,  // vgpud: cannot serve it (tenant full, worker failed); the process gives up
                // and sets it back to Free
};

struct SlotControl {
  std::atomic<uint32_t> state;     // SlotState; see above for who moves it where
  uint32_t guest_pid;              // guest: the claiming process, for logs only
  std::atomic<uint64_t> lease;     // guest: bumped at least every kLeaseIntervalMs while alive
  uint64_t claim_nonce;            // guest: random, lets a process recognise its own claim
  std::atomic<uint64_t> epoch;     // vgpud: bumped each time the slot is (re)laid out
  uint8_t reserved[32];
};
static_assert(sizeof(SlotControl) == 64);
static_assert(offsetof(SlotControl, lease) == 8);
static_assert(offsetof(SlotControl, claim_nonce) == 16);
static_assert(offsetof(SlotControl, epoch) == 24);

// A guest process's shim bumps its slot's lease this often (from a small thread); vgpud
// reclaims a slot whose lease stood still for the tenant's vm.lease_timeout.
inline constexpr uint32_t kLeaseIntervalMs = 200;

struct VmHeader {
  uint32_t magic;             // kVmMagic
  uint32_t protocol_version;  // kProtocolVersion
  uint32_t header_size;       // sizeof(VmHeader)
  uint32_t slot_count;        // ≤ kMaxVmSlots
  uint64_t region_size;       // the whole BAR2
  uint64_t slot_offset;       // of slot 0, page aligned
  uint64_t slot_size;         // each slot's channel region (page multiple)
  uint32_t vgpud_peer_id;     // the ivshmem peer id whose vectors vgpud listens on
  std::atomic<uint32_t> host_state;  // 1 while vgpud serves this region, 0 once it stopped
  uint8_t reserved0[16];
  SlotControl slots[kMaxVmSlots];    // at offset 64
};
static_assert(offsetof(VmHeader, region_size) == 16);
static_assert(offsetof(VmHeader, slot_offset) == 24);
static_assert(offsetof(VmHeader, slot_size) == 32);
static_assert(offsetof(VmHeader, vgpud_peer_id) == 40);
static_assert(offsetof(VmHeader, host_state) == 44);
static_assert(offsetof(VmHeader, slots) == 64);
static_assert(sizeof(VmHeader) <= kVmHeaderArea);

struct VmGeometry {
  uint64_t region_size;
  uint64_t slot_offset;
  uint64_t slot_size;
  uint32_t slot_count;
  ChannelGeometry channel;  // of every slot, offsets relative to the slot's start
};

enum class VmGeometryError {
  BadChannel,        // the per-slot channel sizes do not make a valid channel
  TooManySlots,      // slot_count is 0 or above kMaxVmSlots
  RegionTooSmall,    // region_size cannot hold the header and slot_count slots
  RegionNotPowerOfTwo,  // ivshmem BARs are powers of two
  BadHeader,         // a guest read a header with the wrong magic, version or sizes
};
const char* vm_geometry_error_message(VmGeometryError e);

// vgpud: lays out slot_count slots with channel `sizes` in a region of region_size bytes.
Result<VmGeometry, VmGeometryError> compute_vm_geometry(const ChannelSizes& sizes,
                                                       uint32_t slot_count, uint64_t region_size);
// vgpud: writes a fresh header (all slots Free) at the start of a region.
void initialize_vm_header(void* region, const VmGeometry& g, uint32_t vgpud_peer_id);
// The guest: reads the header of a region of region_size bytes once, checks it, and returns
// the geometry it will use (each slot's channel geometry is then checked by validate_geometry).
Result<VmGeometry, VmGeometryError> read_vm_geometry(const void* region, uint64_t region_size);

}  // namespace vgpu::proto
