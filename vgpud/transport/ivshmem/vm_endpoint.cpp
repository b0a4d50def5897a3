#include "vgpud/transport/ivshmem/vm_endpoint.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <variant>
#include <vector>

#include "vgpu/common/corpus_recorder.h"
#include "vgpu/common/errno_text.h"
#include "vgpud/log/channel_log.h"
#include "vgpud/log/log.h"

namespace vgpud::ivshmem {

using vgpu::errno_text;

namespace {

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

SlotSnapshot read_slot(const proto::SlotControl& c) {
  // Acquire loads of the atomic words, and one volatile read of guest_pid: a plain field (for
  // logs only) that the guest may change at any time, so the compiler must not read it twice.
  SlotSnapshot s;
  s.state = c.state.load(std::memory_order_acquire);
  s.lease = c.lease.load(std::memory_order_acquire);
  s.guest_pid = *reinterpret_cast<volatile const uint32_t*>(&c.guest_pid);
  return s;
}

void read_slots(const proto::VmHeader& header, std::span<SlotSnapshot> out) {
  const size_t count = std::min<size_t>(out.size(), proto::kMaxVmSlots);
  for (size_t i = 0; i < count; ++i) out[i] = read_slot(header.slots[i]);
}

vgpu::Result<std::unique_ptr<VmEndpoint>, std::string> VmEndpoint::listen(VmEndpointOptions options,
                                                                          HopCounters* counters,
                                                                          StartSlotWorker start_worker,
                                                                          TenantRoom room) {
  auto geometry = proto::compute_vm_geometry(options.sizes, options.vm.slots, options.vm.region_size);
  if (!geometry) return vgpu::Err{std::string(proto::vm_geometry_error_message(geometry.error()))};
  // Vector 0 is the slot table's doorbell, 1 + i slot i's (vm_layout.h).
  auto server = IvshmemServer::listen({.socket = {.path = options.vm.socket_path,
                                                  .group = options.vm.group,
                                                  .mode = options.vm.mode,
                                                  .owner_hint = "the tenant's vm section"},
                                       .name = options.tenant,
                                       .memory_size = geometry->region_size,
                                       .vectors = geometry->slot_count + 1});
  if (!server) return vgpu::Err{server.error()};
  return std::unique_ptr<VmEndpoint>(new VmEndpoint(std::move(options), counters, std::move(start_worker),
                                                    std::move(room), std::move(server).value(), *geometry));
}

VmEndpoint::VmEndpoint(VmEndpointOptions options, HopCounters* counters, StartSlotWorker start,
                       TenantRoom room, std::unique_ptr<IvshmemServer> server, proto::VmGeometry geometry)
    : options_(std::move(options)),
      counters_(counters),
      start_worker_(std::move(start)),
      room_(std::move(room)),
      geometry_(geometry),
      server_(std::move(server)),
      table_(0, std::chrono::milliseconds(options_.vm.lease_timeout_ms)) {}

// server_ removes the socket file (if it is still ours) after QEMU is dropped.
VmEndpoint::~VmEndpoint() { disconnect_qemu("vgpud is stopping"); }

std::string VmEndpoint::qemu_args(const std::string& tenant, const config::VmEndpoint& vm) {
  const std::string id = "vgpu-" + tenant;
  return "-chardev socket,path=" + vm.socket_path + ",id=" + id +
         " -device ivshmem-doorbell,chardev=" + id + ",vectors=" + std::to_string(vm.slots + 1);
}

std::vector<int> VmEndpoint::poll_fds() const {
  std::vector<int> fds = {server_->listen_fd()};
  if (server_->connected()) {
    fds.push_back(server_->client_fd());
    fds.push_back(server_->vgpud_vector(proto::kVmControlVector));
  }
  return fds;
}

void VmEndpoint::handle(int fd) {
  if (fd == server_->listen_fd()) return accept_qemu();
  if (!server_->connected()) return;
  if (fd == server_->client_fd()) {
    // QEMU sends nothing after connecting: readable means it went away (VM stopped or reset).
    disconnect_qemu("QEMU disconnected");
    return;
  }
  if (fd == server_->vgpud_vector(proto::kVmControlVector)) {
    uint64_t count;
    [[maybe_unused]] ssize_t n = read(fd, &count, sizeof count);
    HopCounters::bump(counters_->doorbells);
    scan_slots();
  }
}

void VmEndpoint::tick() {
  if (server_->connected()) scan_slots();
}

void VmEndpoint::accept_qemu() {
  // The server makes a fresh region for each connection, so a rebooted VM starts with no state
  // from before; its header is written before QEMU, and so the guest, can see the region.
  const bool accepted = server_->accept([&](uint8_t* region) {
    proto::initialize_vm_header(region, geometry_, static_cast<uint32_t>(kVgpudPeerId));
    record_vm_header(region, geometry_.region_size);
  });
  if (!accepted) return;
  table_ = SlotTable(geometry_.slot_count, std::chrono::milliseconds(options_.vm.lease_timeout_ms));
  io_.clear();
  io_.resize(geometry_.slot_count);
  trace_.clear();
  events_ = {};
  last_scan_ = {};
  log::transport().info("vm={} QEMU connected: region {} MiB, {} slots, doorbell peer {}", options_.tenant,
                        geometry_.region_size >> 20, geometry_.slot_count, kVgpudPeerId);
}

void VmEndpoint::disconnect_qemu(const char* why) {
  if (!server_->connected()) return;
  for (uint32_t i : table_.disconnect()) end_slot(i, why);
  header().host_state.store(0, std::memory_order_release);
  server_->disconnect();  // draining workers keep their own mapping of their slot
  log::transport().info("vm={} {}: the VM's channels are closed and its GPU state released",
                        options_.tenant, why);
}

proto::VmHeader& VmEndpoint::header() const { return *reinterpret_cast<proto::VmHeader*>(server_->memory()); }

size_t VmEndpoint::active_slots() const { return table_.active(); }

void VmEndpoint::scan_slots() {
  const auto now = std::chrono::steady_clock::now();
  // The one read of the guest's slot words for this scan; everything below works on it.
  std::vector<SlotSnapshot> guest(table_.size());
  read_slots(header(), guest);
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
                     header().slots[x.slot].state.store(static_cast<uint32_t>(x.state), std::memory_order_release);
                   },
                   [&](const action::CountRejected&) { HopCounters::bump(counters_->rejected); },
               },
               a);
  }
  record_scan(guest, now, others, !actions.empty());
}

void VmEndpoint::start_slot(uint32_t index, uint32_t guest_pid) {
  auto failed = [&](const std::string& why) {
    table_.start_failed(index);
    events_.start_failed |= 1u << index;
    HopCounters::bump(counters_->rejected);
    refuse(index, guest_pid, why);
  };
  const uint64_t offset = geometry_.slot_offset + uint64_t{index} * geometry_.slot_size;
  proto::initialize_channel_header(server_->memory() + offset, geometry_.channel);
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return failed(errno_text("socketpair"));
  UniqueFd mine(pair[0]), theirs(pair[1]);
  WorkerFds fds;
  fds.region = server_->memory_fd();
  fds.doorbell = server_->vgpud_vector(proto::vm_slot_vector(index));
  fds.notify = server_->vm_vector(proto::vm_slot_vector(index));
  fds.guest_socket = theirs.get();
  auto pid = start_worker_(static_cast<int>(guest_pid), offset, fds);
  if (!pid) return failed(pid.error());
  table_.started(index, *pid, std::chrono::steady_clock::now());
  SlotIo& io = io_[index];
  io.name = options_.tenant + "/" + std::to_string(guest_pid);
  io.lifeline = std::move(mine);
  proto::SlotControl& c = header().slots[index];
  c.epoch.fetch_add(1, std::memory_order_acq_rel);
  c.state.store(static_cast<uint32_t>(proto::SlotState::Ready), std::memory_order_release);
  HopCounters::bump(counters_->channels_opened);
  log::transport().info("vm={} slot {} connected (channel worker pid {})", io.name, index, *pid);
}

// A claim the endpoint will not serve (the count is the caller's): the process sees Refused and
// gives up.
void VmEndpoint::refuse(uint32_t index, uint32_t guest_pid, const std::string& why) {
  io_[index].name = options_.tenant + "/" + std::to_string(guest_pid);
  log::limited_line(refused_lines_, log::transport(), spdlog::level::warn, "vm={} slot {}: refused: {}",
                    io_[index].name, index, why);
  header().slots[index].state.store(static_cast<uint32_t>(proto::SlotState::Refused), std::memory_order_release);
}

void VmEndpoint::end_slot(uint32_t index, const char* why) {
  SlotIo& io = io_[index];
  log::transport().info("vm={} slot {}: {}; releasing its GPU resources", io.name, index, why);
  io.lifeline.reset();  // the worker sees its lifeline close, drains and exits
}

bool VmEndpoint::worker_exited(pid_t pid) {
  const std::optional<uint32_t> index = table_.worker_exited(pid);
  if (!index) return false;
  if (server_->connected()) {
    // The guest, if it is still there, sees the epoch move and knows its channel ended.
    proto::SlotControl& c = header().slots[*index];
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
void VmEndpoint::record_scan(std::span<const SlotSnapshot> guest, std::chrono::steady_clock::time_point now,
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

}  // namespace vgpud::ivshmem
