// A channel's virtual memory management, as vgpud keeps it: address reservations
// (cuMemAddressReserve), physical allocations (cuMemCreate) under ids of the channel's, and the
// mappings of the one into the other (cuMemMap). Bookkeeping only; the handlers in
// executor_vmm.cpp make the driver calls once these tables have said yes.
//
// Why vgpud keeps its own tables when the driver keeps them too: the driver would map a guest's
// memory into any address range of this process and unmap any mapping, including ones another
// part of vgpud made; every guest range is checked here first. A physical allocation lives, as in
// the driver, while the guest holds a reference to it (its creation, each retain) or it is mapped
// somewhere: the tenant's device_memory is given back only when both have ended.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "vgpud/executor/handle_table.h"

namespace vgpud {

class VirtualMemory {
 public:
  struct Physical {
    CUmemGenericAllocationHandle handle = 0;
    uint64_t size = 0;
    uint32_t device = 0;      // guest device index
    uint32_t references = 0;  // creation and retains, less releases
    uint32_t mappings = 0;
  };
  struct Mapping {
    uint64_t size = 0;
    uint64_t offset = 0;    // into the physical allocation
    uint64_t physical = 0;  // its id
  };

  VirtualMemory();

  // ---- reservations
  bool reservations_full() const;
  void add_reservation(uint64_t base, uint64_t size) { reservations_[base] = size; }
  // Whether [base, base + size) is exactly one reservation.
  bool is_reservation(uint64_t base, uint64_t size) const;
  void remove_reservation(uint64_t base) { reservations_.erase(base); }
  std::vector<std::pair<uint64_t, uint64_t>> reservations() const { return {reservations_.begin(), reservations_.end()}; }

  // ---- physical allocations
  bool physicals_full() const { return physicals_.full(); }
  uint64_t add_physical(const Physical& p) { return physicals_.insert(p); }
  Physical* physical(uint64_t id) { return physicals_.find(id); }
  // Forgets allocation `id` when nothing holds it any more; returns its size then (the bytes to
  // give back to the tenant), else 0.
  uint64_t forget_if_unused(uint64_t id);
  // The ids of the allocations on guest device `device` (every device: nullopt).
  std::vector<uint64_t> physicals_on(std::optional<uint32_t> device);

  // ---- mappings
  // Whether [address, address + size) lies inside one reservation and overlaps no mapping.
  bool can_map(uint64_t address, uint64_t size) const;
  void add_mapping(uint64_t address, const Mapping& m);
  // The mapping that holds `address`, with its start; nullopt when none does.
  std::optional<std::pair<uint64_t, Mapping>> mapping_at(uint64_t address) const;
  // The starts of the mappings that tile [address, address + size) exactly, one after another;
  // nullopt when the range is not such a run.
  std::optional<std::vector<uint64_t>> exact_mappings(uint64_t address, uint64_t size) const;
  // Whether mappings cover [address, address + size) without a gap.
  bool covered(uint64_t address, uint64_t size) const { return run_from(address, size, false).has_value(); }
  // The starts of the mappings inside [address, address + size).
  std::vector<uint64_t> mappings_within(uint64_t address, uint64_t size) const;
  // The starts of the mappings of allocations on `device` (every device: nullopt).
  std::vector<uint64_t> mappings_on(std::optional<uint32_t> device);
  // Removes the mapping that starts at `address`; returns it (its physical's count dropped).
  std::optional<Mapping> remove_mapping(uint64_t address);

 private:
  std::optional<std::vector<uint64_t>> run_from(uint64_t address, uint64_t size, bool exact_end) const;

  std::map<uint64_t, uint64_t> reservations_;  // base -> size
  HandleTable<uint64_t, Physical> physicals_;
  std::map<uint64_t, Mapping> mappings_;  // address -> mapping
};

}  // namespace vgpud
