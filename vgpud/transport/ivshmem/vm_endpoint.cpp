#include "qemu-plugin/vm_stub.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <variant>
#include <vector>

#include "qemu-plugin/ivshmem_messages.h"
#include "vgpu/common/corpus_recorder.h"
#include "vgpud/log/log.h"
#include "vgpud/transport/listen_socket.h"

namespace vgpud::stub {

namespace {

// Peer ids on the stub's ivshmem "bus": vgpud listens as peer 0, the VM is peer 1.
constexpr int64_t kVgpudPeerId = 0;
constexpr int64_t kVmPeerId = 1;

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

// The header page the guest's read_vm_geometry parses, as fuzz_vm_geometry takes it: the
// region size, then the page. Recorded here, where it is made, because guests in the VM tests
// run without the recorder's environment.
void record_vm_header([[maybe_unused]] const uint8_t* base, [[maybe_unused]] uint64_t region_size) {
#ifdef VGPU_CORPUS_RECORDER
  std::vector<uint8_t> bytes(sizeof region_size + proto::kVmHeaderArea);
  std::memcpy(bytes.data(), &region_size, sizeof region_size);
  std::memcpy(bytes.data() + sizeof region_size, base, proto::kVmHeaderArea);
  vgpu::corpus::record("vm_geometry", bytes);
#endif
}

}  // namespace

vgpu::Result<std::unique_ptr<VmStub>, std::string> VmStub::listen(VmStubOptions options,
                                                                  HopCounters* counters,
                                                                  StartSlotWorker start_worker,
                                                                  TenantRoom room) {
  auto geometry = proto::compute_vm_geometry(options.sizes, options.vm.slots, options.vm.region_size);
  if (!geometry) return vgpu::Err{std::string(proto::vm_geometry_error_message(geometry.error()))};
  auto socket = listen_unix_socket({.path = options.vm.socket_path,
                                    .group = options.vm.group,
                                    .mode = options.vm.mode,
                                    .owner_hint = "the tenant's vm section"});
  if (!socket) return vgpu::Err{socket.error()};
  return std::unique_ptr<VmStub>(new VmStub(std::move(options), counters, std::move(start_worker),
                                            std::move(room), std::move(socket).value(), *geometry));
}

VmStub::VmStub(VmStubOptions options, HopCounters* counters, StartSlotWorker start, TenantRoom room,
               ListeningSocket socket, proto::VmGeometry geometry)
    : options_(std::move(options)),
      counters_(counters),
      start_worker_(std::move(start)),
      room_(std::move(room)),
      socket_(std::move(socket)),
      geometry_(geometry),
      table_(0, std::chrono::milliseconds(options_.vm.lease_timeout_ms)) {}

// socket_ removes the socket file (if it is still ours) after QEMU is dropped.
VmStub::~VmStub() { disconnect_qemu("vgpud is stopping"); }

std::string VmStub::qemu_args(const std::string& tenant, const config::VmEndpoint& vm) {
  const std::string id = "vgpu-" + tenant;
  return "-chardev socket,path=" + vm.socket_path + ",id=" + id +
         " -device ivshmem-doorbell,chardev=" + id + ",vectors=" + std::to_string(vm.slots + 1);
}

std::vector<int> VmStub::poll_fds() const {
  std::vector<int> fds = {socket_.fd()};
  if (qemu_.valid()) {
    fds.push_back(qemu_.get());
    fds.push_back(host_vectors_[proto::kVmControlVector].get());
  }
  return fds;
}

void VmStub::handle(int fd) {
  if (fd == socket_.fd()) return accept_qemu();
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
  UniqueFd conn(accept4(socket_.fd(), nullptr, nullptr, SOCK_CLOEXEC));
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
  record_vm_header(static_cast<const uint8_t*>(base), geometry_.region_size);
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
  table_ = SlotTable(geometry_.slot_count, std::chrono::milliseconds(options_.vm.lease_timeout_ms));
  io_.clear();
  io_.resize(geometry_.slot_count);
  trace_.clear();
  events_ = {};
  last_scan_ = {};
  log::transport().info("vm={} QEMU connected: region {} MiB, {} slots, doorbell peer {}", options_.tenant,
                        geometry_.region_size >> 20, geometry_.slot_count, kVgpudPeerId);
}

void VmStub::disconnect_qemu(const char* why) {
  if (!qemu_.valid()) return;
  for (uint32_t i : table_.disconnect()) end_slot(i, why);
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

size_t VmStub::active_slots() const { return table_.active(); }

void VmStub::scan_slots() {
  const auto now = std::chrono::steady_clock::now();
  // The one read of the guest's slot words for this scan; everything below works on it.
  std::vector<SlotSnapshot> guest(table_.size());
  for (uint32_t i = 0; i < guest.size(); ++i) guest[i] = read_slot(control(i));
  // Asked once per scan: the table spends it on this scan's claims, in slot order.
  const size_t room = room_();
  // The tenant's processes outside this table, for the recorded trace. Between scans every
  // slot that is not Free has a worker the daemon counts, so room = max_processes - active -
  // others; with no room, this is the fewest others that leave none, which replays the same.
  const size_t max = options_.max_processes;
  const size_t others = std::min<size_t>(max - std::min(max, table_.active() + room), trace::kOthersMax);
  const std::vector<SlotAction> actions = table_.scan(guest, now, room);
  for (const SlotAction& a : actions) {
    std::visit(Overloaded{
                   [&](const action::Start& x) { start_slot(x.slot, x.guest_pid); },
                   [&](const action::Refuse& x) {
                     refuse(x.slot, x.guest_pid,
                            "the tenant's max_processes limit is reached (local and VM processes together)");
                   },
                   [&](const action::End& x) { end_slot(x.slot, end_reason_text(x.reason)); },
                   [&](const action::SetGuestState& x) {
                     control(x.slot).state.store(static_cast<uint32_t>(x.state), std::memory_order_release);
                   },
                   [&](const action::CountRejected&) { HopCounters::bump(counters_->rejected); },
               },
               a);
  }
  record_scan(guest, now, others, !actions.empty());
}

void VmStub::start_slot(uint32_t index, uint32_t guest_pid) {
  auto failed = [&](const std::string& why) {
    table_.start_failed(index);
    events_.start_failed |= 1u << index;
    HopCounters::bump(counters_->rejected);
    refuse(index, guest_pid, why);
  };
  const uint64_t offset = geometry_.slot_offset + uint64_t{index} * geometry_.slot_size;
  proto::initialize_channel_header(region_ + offset, geometry_.channel);
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return failed(errno_text("socketpair"));
  UniqueFd mine(pair[0]), theirs(pair[1]);
  WorkerFds fds;
  fds.region = region_fd_.get();
  fds.doorbell = host_vectors_[proto::vm_slot_vector(index)].get();
  fds.notify = vm_vectors_[proto::vm_slot_vector(index)].get();
  fds.guest_socket = theirs.get();
  auto pid = start_worker_(static_cast<int>(guest_pid), offset, fds);
  if (!pid) return failed(pid.error());
  table_.started(index, *pid, std::chrono::steady_clock::now());
  SlotIo& io = io_[index];
  io.name = options_.tenant + "/" + std::to_string(guest_pid);
  io.lifeline = std::move(mine);
  proto::SlotControl& c = control(index);
  c.epoch.fetch_add(1, std::memory_order_acq_rel);
  c.state.store(static_cast<uint32_t>(proto::SlotState::Ready), std::memory_order_release);
  HopCounters::bump(counters_->channels_opened);
  log::transport().info("vm={} slot {} connected (channel worker pid {})", io.name, index, *pid);
}

// A claim the stub will not serve (the count is the caller's): the process sees Refused and
// gives up.
void VmStub::refuse(uint32_t index, uint32_t guest_pid, const std::string& why) {
  io_[index].name = options_.tenant + "/" + std::to_string(guest_pid);
  log::transport().warn("vm={} slot {}: refused: {}", io_[index].name, index, why);
  control(index).state.store(static_cast<uint32_t>(proto::SlotState::Refused), std::memory_order_release);
}

void VmStub::end_slot(uint32_t index, const char* why) {
  SlotIo& io = io_[index];
  log::transport().info("vm={} slot {}: {}; releasing its GPU resources", io.name, index, why);
  io.lifeline.reset();  // the worker sees its lifeline close, drains and exits
}

bool VmStub::worker_exited(pid_t pid) {
  const std::optional<uint32_t> index = table_.worker_exited(pid);
  if (!index) return false;
  if (region_ != nullptr) {
    // The guest, if it is still there, sees the epoch move and knows its channel ended.
    proto::SlotControl& c = control(*index);
    c.epoch.fetch_add(1, std::memory_order_acq_rel);
    c.state.store(static_cast<uint32_t>(proto::SlotState::Free), std::memory_order_release);
    events_.exited |= 1u << *index;
  }
  HopCounters::bump(counters_->channels_closed);
  io_[*index] = SlotIo{};
  return true;
}

// Seeds for fuzz_slot_table from real VMs: the last kTracedScans scans since QEMU connected,
// handed to the corpus recorder (an empty function outside recorder builds) whenever a scan
// decided something, so each seed ends in a transition with the history that led to it.
void VmStub::record_scan(std::span<const SlotSnapshot> guest, std::chrono::steady_clock::time_point now,
                         size_t others, bool decided) {
  constexpr size_t kTracedScans = 32;
  events_.flags |= static_cast<uint32_t>(others) << trace::kOthersShift;
  const auto step = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_scan_).count();
  events_.step_ms = last_scan_ == std::chrono::steady_clock::time_point{}
                        ? 0
                        : static_cast<uint32_t>(std::clamp<int64_t>(step, 0, UINT32_MAX));
  last_scan_ = now;
  const size_t scan_size = trace::kScanHeaderSize + guest.size() * trace::kSnapshotSize;
  if (trace_.size() >= kTracedScans * scan_size)
    trace_.erase(trace_.begin(), trace_.begin() + static_cast<ptrdiff_t>(scan_size));
  trace::append_scan(trace_, events_, guest);
  decided = decided || events_.exited != 0 || events_.start_failed != 0;
  events_ = {};
  if (!decided) return;
  std::vector<uint8_t> bytes;
  trace::append_header(bytes, {.slot_count = table_.size(),
                               .max_processes = options_.max_processes,
                               .lease_timeout_ms = options_.vm.lease_timeout_ms});
  bytes.insert(bytes.end(), trace_.begin(), trace_.end());
  vgpu::corpus::record("slot_table", bytes);
}

}  // namespace vgpud::stub
