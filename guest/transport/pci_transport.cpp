#include "guest/transport/pci_transport.h"

#include <algorithm>
#include <cstring>
#include <thread>

#include "guest/transport/pci_discovery.h"
#include "vgpu/protocol/vm_layout.h"

namespace vgpu::guest {

namespace {

// How long wait_for_host sleeps at most: the channel spins first and only calls it once a
// reply is slow, so this bounds the added latency of a long call without burning a CPU.
constexpr std::chrono::microseconds kHostPoll{50};

ConnectFailure bad_region(const std::string& what) {
  return ConnectFailure{ConnectError::BadRegion, what};
}

class PciTransport final : public Transport {
 public:
  PciTransport(VgpuStub stub, std::unique_ptr<SlotClaim> claim, std::span<uint8_t> region)
      : stub_(std::move(stub)), claim_(std::move(claim)), region_(region) {}

  // claim_ goes first (members are destroyed in reverse order): it writes Closing into the
  // mapping and rings the doorbell, so both mappings must still be there.
  ~PciTransport() override = default;

  std::span<uint8_t> region() override { return region_; }
  // The slot lies inside BAR2's mapping, which starts at offset 0 of resource2.
  BackingFile backing_file() const override {
    return {stub_.region.fd(), static_cast<uint64_t>(region_.data() - stub_.region.data())};
  }

  void notify_host() override { claim_->ring(proto::vm_slot_vector(claim_->index())); }

  bool wait_for_host(int timeout_ms) override {
    if (!claim_->alive()) return false;
    if (timeout_ms > 0)
      std::this_thread::sleep_for(
          std::min<std::chrono::microseconds>(kHostPoll, std::chrono::milliseconds(timeout_ms)));
    return claim_->alive();
  }

  std::string describe() const override {
    return "pci:" + stub_.address + " slot " + std::to_string(claim_->index());
  }

  void hand_back() override { claim_->release(); }

 private:
  VgpuStub stub_;
  std::unique_ptr<SlotClaim> claim_;
  std::span<uint8_t> region_;
};

}  // namespace

PciOptions pci_options_from_env() {
  PciOptions options;
  options.sysfs_root = sysfs_root_from_env();
  return options;
}

Result<std::unique_ptr<Transport>, ConnectFailure> connect_pci(const PciOptions& options) {
  auto stub = find_vgpu_stub(options.sysfs_root);
  if (!stub) return Err{stub.error()};
  uint8_t* const base = stub->region.data();

  // The header is read and checked once; the slot geometry is used from this copy only.
  auto vm = proto::read_vm_geometry(base, stub->region.size());
  if (!vm)
    return Err{bad_region(std::string("the vgpu-stub's region is not usable: ") +
                          proto::vm_geometry_error_message(vm.error()) +
                          " (host and guest packages of different versions?)")};
  auto* header = reinterpret_cast<proto::VmHeader*>(base);
  uint32_t peer;
  std::memcpy(&peer, base + offsetof(proto::VmHeader, vgpud_peer_id), sizeof peer);
  if (peer > 0xffff)  // the doorbell carries the peer id in 16 bits
    return Err{bad_region("the vgpu-stub's header names an impossible vgpud peer id")};
  if (header->host_state.load(std::memory_order_acquire) == 0)
    return Err{ConnectFailure{ConnectError::Refused,
                              "vgpud is not serving this VM's vgpu-stub right now: check that "
                              "vgpud runs on the host"}};

  auto claim = SlotClaim::claim(header, vm->slot_count, Doorbell(stub->registers.data(), peer),
                                options.claim);
  if (!claim) return Err{claim.error()};

  // vgpud laid out the slot's channel header; its region_size is read once and bounded by
  // the slot, and Channel::attach checks the rest of the geometry against it.
  uint8_t* const slot = base + vm->slot_offset + uint64_t{(*claim)->index()} * vm->slot_size;
  uint64_t region_size;
  std::memcpy(&region_size,
              slot + offsetof(proto::ChannelHeader, geometry) +
                  offsetof(proto::ChannelGeometry, region_size),
              sizeof region_size);
  if (region_size < proto::kChannelHeaderArea || region_size > vm->slot_size)
    return Err{bad_region("vgpud laid out a channel that does not fit its slot")};
  return std::unique_ptr<Transport>(new PciTransport(
      std::move(stub).value(), std::move(claim).value(), {slot, region_size}));
}

}  // namespace vgpu::guest
