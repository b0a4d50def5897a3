#include "qemu-plugin/vm_stub.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "qemu-plugin/ivshmem_messages.h"
#include "vgpud/log/log.h"
#include "vgpud/transport/listen_socket.h"

namespace vgpud::stub {

namespace {

// Peer ids on the stub's ivshmem "bus": vgpud listens as peer 0, the VM is peer 1.
constexpr int64_t kVgpudPeerId = 0;
constexpr int64_t kVmPeerId = 1;

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

vgpu::Result<std::unique_ptr<VmStub>, std::string> VmStub::listen(VmStubOptions options,
                                                                  HopCounters* counters,
                                                                  StartSlotWorker start_worker) {
  auto geometry = proto::compute_vm_geometry(options.sizes, options.vm.slots, options.vm.region_size);
  if (!geometry) return vgpu::Err{std::string(proto::vm_geometry_error_message(geometry.error()))};
  auto fd = listen_unix_socket({.path = options.vm.socket_path,
                                .group = options.vm.group,
                                .mode = options.vm.mode,
                                .owner_hint = "the tenant's vm section"});
  if (!fd) return vgpu::Err{fd.error()};
  return std::unique_ptr<VmStub>(new VmStub(std::move(options), counters, std::move(start_worker),
                                            std::move(fd).value(), *geometry));
}

VmStub::VmStub(VmStubOptions options, HopCounters* counters, StartSlotWorker start,
               UniqueFd listen_fd, proto::VmGeometry geometry)
    : options_(std::move(options)),
      counters_(counters),
      start_worker_(std::move(start)),
      listen_fd_(std::move(listen_fd)),
      geometry_(geometry) {}

VmStub::~VmStub() {
  disconnect_qemu("vgpud is stopping");
  unlink(options_.vm.socket_path.c_str());
}

std::string VmStub::qemu_args(const std::string& tenant, const config::VmEndpoint& vm) {
  const std::string id = "vgpu-" + tenant;
  return "-chardev socket,path=" + vm.socket_path + ",id=" + id +
         " -device ivshmem-doorbell,chardev=" + id + ",vectors=" + std::to_string(vm.slots + 1);
}

std::vector<int> VmStub::poll_fds() const {
  std::vector<int> fds = {listen_fd_.get()};
  if (qemu_.valid()) {
    fds.push_back(qemu_.get());
    fds.push_back(host_vectors_[proto::kVmControlVector].get());
  }
  return fds;
}

void VmStub::handle(int fd) {
  if (fd == listen_fd_.get()) return accept_qemu();
  if (!qemu_.valid()) return;
  if (fd == qemu_.get()) {
    // QEMU sends nothing after connecting: readable means it went away (VM stopped or reset).
    disconnect_qemu("QEMU disconnected");
    return;
  }
  if (fd == host_vectors_[proto::kVmControlVector].get()) {
    uint64_t count;
    [[maybe_unused]] ssize_t n = read(fd, &count, sizeof count);
    HopCounters::bump(counters_->doorbells);
    scan_slots();
  }
}

void VmStub::tick() {
  if (qemu_.valid()) scan_slots();
}

void VmStub::accept_qemu() {
  UniqueFd conn(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn.valid()) return;
  if (qemu_.valid()) {
    log::transport().warn("vm={}: a second QEMU connected to the stub socket; refused (one VM per stub)",
                          options_.tenant);
    return;
  }
  // A fresh region for each connection: a rebooted VM starts with no state from before.
  UniqueFd region(memfd_create(("vgpu-vm-" + options_.tenant).c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  bool ok = region.valid() && ftruncate(region.get(), static_cast<off_t>(geometry_.region_size)) == 0 &&
            fcntl(region.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0;
  void* base = ok ? mmap(nullptr, geometry_.region_size, PROT_READ | PROT_WRITE, MAP_SHARED, region.get(), 0)
                  : MAP_FAILED;
  if (base == MAP_FAILED) {
    log::transport().error("vm={}: cannot create the VM's shared region ({}); QEMU is refused",
                           options_.tenant, errno_text("memfd").c_str());
    return;
  }
  proto::initialize_vm_header(base, geometry_, static_cast<uint32_t>(kVgpudPeerId));
  const uint32_t vectors = geometry_.slot_count + 1;
  std::vector<UniqueFd> host_vectors, vm_vectors;
  for (uint32_t v = 0; v < vectors; ++v) {
    host_vectors.emplace_back(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    vm_vectors.emplace_back(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    ok = ok && host_vectors.back().valid() && vm_vectors.back().valid();
  }
  timeval timeout{2, 0};
  setsockopt(conn.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  ok = ok && send_ivshmem_message(conn.get(), kIvshmemProtocolVersion) &&
       send_ivshmem_message(conn.get(), kVmPeerId) && send_ivshmem_message(conn.get(), -1, region.get());
  for (uint32_t v = 0; ok && v < vectors; ++v)
    ok = send_ivshmem_message(conn.get(), kVgpudPeerId, host_vectors[v].get());
  for (uint32_t v = 0; ok && v < vectors; ++v)
    ok = send_ivshmem_message(conn.get(), kVmPeerId, vm_vectors[v].get());
  if (!ok) {
    munmap(base, geometry_.region_size);
    log::transport().error("vm={}: setting up QEMU's stub failed ({}); QEMU is refused", options_.tenant,
                           errno_text("send").c_str());
    return;
  }
  qemu_ = std::move(conn);
  region_fd_ = std::move(region);
  region_ = static_cast<uint8_t*>(base);
  host_vectors_ = std::move(host_vectors);
  vm_vectors_ = std::move(vm_vectors);
  slots_.clear();
  slots_.resize(geometry_.slot_count);
  log::transport().info("vm={} QEMU connected: region {} MiB, {} slots, doorbell peer {}", options_.tenant,
                        geometry_.region_size >> 20, geometry_.slot_count, kVgpudPeerId);
}

void VmStub::disconnect_qemu(const char* why) {
  if (!qemu_.valid()) return;
  for (uint32_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].phase == Phase::Serving) end_slot(i, why);
  reinterpret_cast<proto::VmHeader*>(region_)->host_state.store(0, std::memory_order_release);
  munmap(region_, geometry_.region_size);
  region_ = nullptr;
  qemu_.reset();
  region_fd_.reset();  // draining workers keep their own mapping of their slot
  host_vectors_.clear();
  vm_vectors_.clear();
  log::transport().info("vm={} {}: the VM's channels are closed and its GPU state released",
                        options_.tenant, why);
}

proto::SlotControl& VmStub::control(uint32_t index) const {
  return reinterpret_cast<proto::VmHeader*>(region_)->slots[index];
}

size_t VmStub::active_slots() const {
  size_t n = 0;
  for (const Slot& s : slots_) n += s.phase != Phase::Free;
  return n;
}

void VmStub::scan_slots() {
  const auto now = std::chrono::steady_clock::now();
  const auto lease_timeout = std::chrono::milliseconds(options_.vm.lease_timeout_ms);
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    Slot& slot = slots_[i];
    proto::SlotControl& c = control(i);
    // One read of each guest-written field.
    const auto state = static_cast<proto::SlotState>(c.state.load(std::memory_order_acquire));
    const uint64_t lease = c.lease.load(std::memory_order_acquire);
    const uint32_t guest_pid = *reinterpret_cast<volatile const uint32_t*>(&c.guest_pid);
    switch (slot.phase) {
      case Phase::Free:
        if (state == proto::SlotState::Claimed) {
          start_slot(i, guest_pid);
        } else if (state != proto::SlotState::Free) {
          // Refused and never reset (the process died), or a state only vgpud may set:
          // give the guest a lease period to sort it out, then free the slot.
          if (slot.odd_since == std::chrono::steady_clock::time_point{}) slot.odd_since = now;
          if (now - slot.odd_since > lease_timeout) {
            c.state.store(static_cast<uint32_t>(proto::SlotState::Free), std::memory_order_release);
            slot.odd_since = {};
          }
        } else {
          slot.odd_since = {};
        }
        break;
      case Phase::Serving:
        if (state == proto::SlotState::Closing) {
          end_slot(i, "the process closed its channel");
        } else if (state != proto::SlotState::Ready) {
          HopCounters::bump(counters_->rejected);
          end_slot(i, "the guest overwrote the slot's state");
        } else if (lease != slot.lease) {
          slot.lease = lease;
          slot.lease_seen = now;
        } else if (now - slot.lease_seen > lease_timeout) {
          end_slot(i, "its lease expired: the process is gone");
        }
        break;
      case Phase::Draining:
        break;
    }
  }
}

void VmStub::start_slot(uint32_t index, uint32_t guest_pid) {
  Slot& slot = slots_[index];
  proto::SlotControl& c = control(index);
  slot.name = options_.tenant + "/" + std::to_string(guest_pid);
  auto refuse = [&](const std::string& why) {
    HopCounters::bump(counters_->rejected);
    log::transport().warn("vm={} slot {}: refused: {}", slot.name, index, why);
    c.state.store(static_cast<uint32_t>(proto::SlotState::Refused), std::memory_order_release);
  };
  if (active_slots() >= options_.max_processes) return refuse("the tenant's max_processes limit is reached");

  const uint64_t offset = geometry_.slot_offset + uint64_t{index} * geometry_.slot_size;
  proto::initialize_channel_header(region_ + offset, geometry_.channel);
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return refuse(errno_text("socketpair"));
  UniqueFd mine(pair[0]), theirs(pair[1]);
  WorkerFds fds;
  fds.region = region_fd_.get();
  fds.doorbell = host_vectors_[proto::vm_slot_vector(index)].get();
  fds.notify = vm_vectors_[proto::vm_slot_vector(index)].get();
  fds.guest_socket = theirs.get();
  auto pid = start_worker_(static_cast<int>(guest_pid), offset, fds);
  if (!pid) return refuse(pid.error());
  slot.phase = Phase::Serving;
  slot.worker = *pid;
  slot.lifeline = std::move(mine);
  slot.lease = c.lease.load(std::memory_order_acquire);
  slot.lease_seen = std::chrono::steady_clock::now();
  c.epoch.fetch_add(1, std::memory_order_acq_rel);
  c.state.store(static_cast<uint32_t>(proto::SlotState::Ready), std::memory_order_release);
  HopCounters::bump(counters_->channels_opened);
  log::transport().info("vm={} slot {} connected (channel worker pid {})", slot.name, index, *pid);
}

void VmStub::end_slot(uint32_t index, const char* why) {
  Slot& slot = slots_[index];
  log::transport().info("vm={} slot {}: {}; releasing its GPU resources", slot.name, index, why);
  slot.lifeline.reset();  // the worker sees its lifeline close, drains and exits
  slot.phase = Phase::Draining;
}

bool VmStub::worker_exited(pid_t pid) {
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    Slot& slot = slots_[i];
    if (slot.phase == Phase::Free || slot.worker != pid) continue;
    if (region_ != nullptr) {
      // The guest, if it is still there, sees the epoch move and knows its channel ended.
      proto::SlotControl& c = control(i);
      c.epoch.fetch_add(1, std::memory_order_acq_rel);
      c.state.store(static_cast<uint32_t>(proto::SlotState::Free), std::memory_order_release);
    }
    HopCounters::bump(counters_->channels_closed);
    slot = Slot{};
    return true;
  }
  return false;
}

}  // namespace vgpud::stub
