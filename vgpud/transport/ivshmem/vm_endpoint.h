// The vgpu-stub server for one VM: the socket QEMU's ivshmem-doorbell device connects to, the
// VM region (docs/protocol.md §7) it hands QEMU, and the slot table through which the VM's
// processes open channels. Each served slot runs in a channel worker, like a local channel;
// the stub only decides when a slot starts and ends.
//
// Guest-written slot fields are read once per scan (read_slot) and handed to the slot table
// (slot_table.h), which decides; the stub carries out what it decided. The guest's word is a
// request, never the stub's state.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "qemu-plugin/slot_table.h"
#include "vgpu/protocol/vm_layout.h"
#include "vgpu/result.h"
#include "vgpud/config/config.h"
#include "vgpud/metrics/hop_counters.h"
#include "vgpud/protocol_alias.h"
#include "vgpud/transport/listen_socket.h"
#include "vgpud/transport/unique_fd.h"
#include "vgpud/worker/spawn.h"

namespace vgpud::stub {

struct VmStubOptions {
  std::string tenant;
  config::VmEndpoint vm;
  proto::ChannelSizes sizes;   // each slot's channel
  uint32_t max_processes = 16;  // for the recorded fuzz traces only: TenantRoom decides
};

// Starts the worker of one slot; the daemon fills in the tenant's part of the spec.
using StartSlotWorker =
    std::function<vgpu::Result<pid_t, std::string>(int guest_pid, uint64_t region_offset, const WorkerFds& fds)>;
// How many more processes the tenant takes now: the daemon's one admission count, over every
// endpoint of the tenant (SlotTable::scan's room).
using TenantRoom = std::function<size_t()>;

class VmStub {
 public:
  static vgpu::Result<std::unique_ptr<VmStub>, std::string> listen(VmStubOptions options,
                                                                   HopCounters* counters,
                                                                   StartSlotWorker start_worker,
                                                                   TenantRoom room);
  ~VmStub();

  // The descriptors to poll for POLLIN; hand each readable one to handle().
  std::vector<int> poll_fds() const;
  void handle(int fd);
  // Lease checks; call at least every tick_interval() while connected().
  void tick();
  static constexpr std::chrono::milliseconds tick_interval() { return std::chrono::milliseconds(100); }
  bool connected() const { return qemu_.valid(); }
  // A worker ended: its slot becomes Free. False when the pid is not one of this stub's.
  bool worker_exited(pid_t pid);
  size_t active_slots() const;
  const std::string& socket_path() const { return options_.vm.socket_path; }

  // The QEMU options that attach this stub: `vgpud qemu-args`.
  static std::string qemu_args(const std::string& tenant, const config::VmEndpoint& vm);

 private:
  // The I/O side of a slot; its state is the table's.
  struct SlotIo {
    UniqueFd lifeline;  // the daemon's end; closing it ends the worker
    std::string name;   // tenant/guest pid, for logs
  };

  VmStub(VmStubOptions options, HopCounters* counters, StartSlotWorker start, TenantRoom room,
         ListeningSocket socket, proto::VmGeometry geometry);

  void accept_qemu();
  void disconnect_qemu(const char* why);
  void scan_slots();
  void start_slot(uint32_t index, uint32_t guest_pid);
  void refuse(uint32_t index, uint32_t guest_pid, const std::string& why);
  void end_slot(uint32_t index, const char* why);
  void record_scan(std::span<const SlotSnapshot> guest, std::chrono::steady_clock::time_point now,
                   size_t others, bool decided);
  proto::SlotControl& control(uint32_t index) const;

  VmStubOptions options_;
  HopCounters* counters_;
  StartSlotWorker start_worker_;
  TenantRoom room_;
  ListeningSocket socket_;
  proto::VmGeometry geometry_;  // computed once from the configuration; never read back

  // While QEMU is connected:
  UniqueFd qemu_;
  UniqueFd region_fd_;
  uint8_t* region_ = nullptr;
  std::vector<UniqueFd> host_vectors_;  // vgpud's: the guest rings these
  std::vector<UniqueFd> vm_vectors_;    // the VM's: QEMU turns them into interrupts
  SlotTable table_;
  std::vector<SlotIo> io_;  // one per slot of table_
  // The recent scans in fuzz_slot_table's input format, recorded as its seed corpus in recorder
  // builds (scan_slots); what happened since the last scan, and when that was.
  std::vector<uint8_t> trace_;
  trace::ScanEvents events_;
  std::chrono::steady_clock::time_point last_scan_{};
};

}  // namespace vgpud::stub
