// A tenant's VM endpoint: the VM region (docs/protocol.md §7) that vgpud's ivshmem server
// (ivshmem_server.h) hands the VM's QEMU, and the slot table (slot_table.h) through which the
// VM's processes open channels. Each served slot runs in a channel worker, started through the
// daemon's start_worker like a local channel's; the endpoint only decides when a slot starts
// and ends, and carries out what the table decided.
//
// What it reads and writes in the region, per slot (proto::SlotControl, vm_layout.h):
//
//   field        written by       vgpud
//   state        guest and vgpud  reads it once per scan (read_slot); writes Ready, Refused, Free
//   guest_pid    the guest        reads it once per scan, for logs only
//   lease        the guest        reads it once per scan
//   claim_nonce  the guest        never looks at it
//   epoch        vgpud            bumps it when it lays the slot out and when its worker ends
//
// and the header, which it writes before QEMU gets the region (host_state 1, every slot Free) and
// whose host_state it sets to 0 when QEMU goes. The slot count, offsets and sizes are vgpud's
// own (geometry_), never read back from the header, which the guest can write too.
//
// A scan happens when the guest rings vector 0 (Claimed, Closing) and every tick_interval()
// (leases). The guest's word is a request, never the endpoint's state.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vgpu/protocol/vm_layout.h"
#include "vgpu/common/result.h"
#include "vgpud/config/config.h"
#include "vgpud/log/rate_limit.h"
#include "vgpud/metrics/hop_counters.h"
#include "vgpud/protocol_alias.h"
#include "vgpud/transport/ivshmem/ivshmem_server.h"
#include "vgpud/transport/ivshmem/slot_table.h"
#include "vgpud/transport/unique_fd.h"
#include "vgpud/worker/spawn.h"

namespace vgpud::ivshmem {

// THE read of guest-written slot memory: each field of the slot once, into the table's input.
// Nothing else in vgpud looks at a slot's state, lease or guest_pid, so nothing can act on a
// second, different read.
SlotSnapshot read_slot(const proto::SlotControl& c);
// One scan's read of the first `count` slots of a region's header, count being vgpud's own
// (its geometry's slot_count, at most kMaxVmSlots), never the header's.
void read_slots(const proto::VmHeader& header, std::span<SlotSnapshot> out);

struct VmEndpointOptions {
  std::string tenant;
  config::VmEndpoint vm;
  proto::ChannelSizes sizes;    // each slot's channel
  uint32_t max_processes = 16;  // for the recorded fuzz traces only: TenantRoom decides
};

// Starts the worker of one slot; the daemon fills in the tenant's part of the spec.
using StartSlotWorker =
    std::function<vgpu::Result<pid_t, std::string>(int guest_pid, uint64_t region_offset, const WorkerFds& fds)>;
// How many more processes the tenant takes now: the daemon's one admission count, over every
// endpoint of the tenant (SlotTable::scan's room).
using TenantRoom = std::function<size_t()>;

class VmEndpoint {
 public:
  static vgpu::Result<std::unique_ptr<VmEndpoint>, std::string> listen(VmEndpointOptions options,
                                                                       HopCounters* counters,
                                                                       StartSlotWorker start_worker,
                                                                       TenantRoom room);
  ~VmEndpoint();

  // The descriptors to poll for POLLIN; hand each readable one to handle().
  std::vector<int> poll_fds() const;
  void handle(int fd);
  // Lease checks; call at least every tick_interval() while connected().
  void tick();
  static constexpr std::chrono::milliseconds tick_interval() { return std::chrono::milliseconds(100); }
  bool connected() const { return server_->connected(); }
  // A worker ended: its slot becomes Free. False when the pid is not one of this endpoint's.
  bool worker_exited(pid_t pid);
  size_t active_slots() const;
  const std::string& socket_path() const { return server_->socket_path(); }

  // The QEMU options that attach the VM's vgpu-stub to this endpoint: `vgpud qemu-args`.
  static std::string qemu_args(const std::string& tenant, const config::VmEndpoint& vm);

 private:
  // The I/O side of a slot; its state is the table's.
  struct SlotIo {
    UniqueFd lifeline;  // the daemon's end; closing it ends the worker
    std::string name;   // tenant/guest pid, for logs
  };

  VmEndpoint(VmEndpointOptions options, HopCounters* counters, StartSlotWorker start, TenantRoom room,
             std::unique_ptr<IvshmemServer> server, proto::VmGeometry geometry);

  void accept_qemu();
  void disconnect_qemu(const char* why);
  void scan_slots();
  void start_slot(uint32_t index, uint32_t guest_pid);
  void refuse(uint32_t index, uint32_t guest_pid, const std::string& why);
  void end_slot(uint32_t index, const char* why);
  void record_scan(std::span<const SlotSnapshot> guest, std::chrono::steady_clock::time_point now,
                   size_t others, bool decided);
  proto::VmHeader& header() const;

  VmEndpointOptions options_;
  HopCounters* counters_;
  StartSlotWorker start_worker_;
  TenantRoom room_;
  proto::VmGeometry geometry_;  // computed once from the configuration; never read back
  std::unique_ptr<IvshmemServer> server_;

  // While QEMU is connected:
  SlotTable table_;
  std::vector<SlotIo> io_;  // one per slot of table_
  log::LineLimiter refused_lines_;  // a guest can claim and be refused at will
  // The recent scans in fuzz_slot_table's input format, recorded as its seed corpus in recorder
  // builds (scan_slots); what happened since the last scan, and when that was.
  std::vector<uint8_t> trace_;
  trace::ScanEvents events_;
  std::chrono::steady_clock::time_point last_scan_{};
};

}  // namespace vgpud::ivshmem
