// One guest process's hold on a channel slot of the VM region (docs/protocol.md §7):
// claiming it, waiting for vgpud to serve it, keeping its lease alive and giving it back.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>

#include "guest/transport/transport.h"
#include "vgpu/protocol/vm_layout.h"

namespace vgpu::guest {

// The stub's Doorbell register (BAR0 offset 12): writing (peer << 16) | vector makes QEMU
// signal that vector's eventfd of that peer, here vgpud.
class Doorbell {
 public:
  Doorbell() = default;
  Doorbell(uint8_t* registers, uint32_t vgpud_peer_id)
      : registers_(registers), peer_(vgpud_peer_id) {}
  void ring(uint32_t vector) const {
    // One volatile 32-bit store: an MMIO write QEMU traps, never merged nor split.
    auto* reg = reinterpret_cast<volatile uint32_t*>(registers_ + proto::kIvshmemDoorbellRegister);
    *reg = (peer_ << 16) | vector;
  }

 private:
  uint8_t* registers_ = nullptr;
  uint32_t peer_ = 0;
};

struct ClaimOptions {
  // How long vgpud may take to lay out the channel (it starts a worker process).
  std::chrono::milliseconds ready_timeout{10'000};
  std::chrono::milliseconds lease_interval{proto::kLeaseIntervalMs};
};

class SlotClaim {
 public:
  // Takes a Free slot, announces it on the control vector and waits until vgpud sets it Ready.
  // On Refused the slot goes back to Free; on a timeout it is set Closing, so vgpud frees it.
  static Result<std::unique_ptr<SlotClaim>, ConnectFailure> claim(proto::VmHeader* header,
                                                                 uint32_t slot_count,
                                                                 Doorbell doorbell,
                                                                 const ClaimOptions& options);
  // Stops the lease and hands the slot back (Closing, control vector); idempotent.
  void release();
  // Releases the slot.
  ~SlotClaim();
  SlotClaim(const SlotClaim&) = delete;
  SlotClaim& operator=(const SlotClaim&) = delete;

  uint32_t index() const { return index_; }
  // True while vgpud serves this region and this very slot: a reclaim (the state left Ready,
  // or the epoch moved on) means the channel behind it is gone.
  bool alive() const;
  void ring(uint32_t vector) const { doorbell_.ring(vector); }

 private:
  SlotClaim(proto::VmHeader* header, uint32_t index, Doorbell doorbell,
            std::chrono::milliseconds lease_interval);
  Status<ConnectFailure> wait_ready(std::chrono::milliseconds timeout);
  bool start_lease_thread();
  bool still_ours(uint32_t state) const;

  proto::VmHeader* header_;
  proto::SlotControl* slot_;
  uint32_t index_;
  Doorbell doorbell_;
  std::chrono::milliseconds lease_interval_;
  uint64_t nonce_ = 0;
  uint64_t epoch_ = 0;  // as vgpud set it with Ready
  bool owned_ = true;   // false once the slot is no longer ours to hand back
  int owner_pid_;       // a forked child inherits the object, but neither the slot nor the thread

  // The lease thread and what wakes it. On the heap so that a forked child, which has a copy
  // but no thread, can leak it: joining, or destroying a condition variable the thread was
  // waiting on at fork time, would hang or terminate the child.
  struct Lease;
  std::unique_ptr<Lease> lease_;
};

}  // namespace vgpu::guest
