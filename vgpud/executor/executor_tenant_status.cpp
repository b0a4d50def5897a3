// TENANT_STATUS: what a guest may know of its own tenant, for NVML and vgpu-smi (docs/design.md,
// "NVML in the guest"). Everything comes from the tenant's shared state, which only this
// tenant's workers map: no other tenant's process, memory or counter can appear in a reply. No
// context is made, so a process that only asks NVML costs the GPU nothing.
//
// Utilization is the host NVML's per-process figure for the tenant's own channel workers (their
// pids are in the tenant's state), summed (host_nvml.h): how busy the whole GPU is would be other
// tenants' load as much as this one's, a side channel between tenants. Where NVML cannot say,
// each figure is kUtilizationUnknown, which the guest's NVML answers as NOT_SUPPORTED.
#include <algorithm>
#include <cstring>
#include <iterator>

#include "vgpu/protocol/limits.h"
#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/ipc_table.h"
#include "vgpud/executor/reply_payload.h"

#ifndef VGPU_VERSION
#define VGPU_VERSION "unknown"
#endif

namespace vgpud {

void ChannelExecutor::fill_utilization(proto::TenantStatusReply& r) {
  for (uint32_t& u : r.utilization_gpu) u = vgpu::limits::kUtilizationUnknown;
  for (uint32_t& u : r.utilization_memory) u = vgpu::limits::kUtilizationUnknown;
  const HostNvml* nvml = host_nvml();
  if (nvml == nullptr || setup_.ipc == nullptr) return;
  std::vector<uint32_t> workers;
  for (uint32_t slot = 0; slot < kIpcWorkerSlots; ++slot)
    if (const int32_t pid = setup_.ipc->worker_pid(slot); pid > 0) workers.push_back(static_cast<uint32_t>(pid));
  const size_t devices = std::min<size_t>(setup_.devices.size(), std::size(r.utilization_gpu));
  for (uint32_t d = 0; d < devices; ++d) {
    if (const std::optional<Utilization> u = nvml->utilization_on(d, workers)) {
      r.utilization_gpu[d] = u->sm;
      r.utilization_memory[d] = u->memory;
    }
  }
}

int32_t ChannelExecutor::handle(const TenantStatusCmd& cmd, Reply& reply) {
  proto::TenantStatusReply r{};
  std::strncpy(r.vgpud_version, VGPU_VERSION, sizeof r.vgpud_version - 1);
  std::strncpy(r.driver_release, setup_.driver_release.c_str(), sizeof r.driver_release - 1);
  std::strncpy(r.nvml_version, setup_.nvml_version.c_str(), sizeof r.nvml_version - 1);
  r.device_count = static_cast<uint32_t>(contexts_.device_count());
  r.memory_limit = setup_.device_memory.limit;
  r.memory_used = device_budget().used();
  const HopCounters& c = *setup_.counters;
  auto v = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  r.channels_opened = v(c.channels_opened);
  r.channels_closed = v(c.channels_closed);
  r.doorbells = v(c.doorbells);
  r.received = v(c.received);
  r.rejected = v(c.rejected);
  r.dispatched = v(c.dispatched);
  r.executed = v(c.executed);
  r.driver_errors = v(c.driver_errors);
  r.answered = v(c.answered);
  fill_utilization(r);

  // The processes, from the slot the guest asked for (the parser bounds it), as many as one
  // reply carries; the count covers every slot, so the guest knows how many to expect.
  std::vector<proto::TenantProcessInfo> listed;
  r.next_slot = TenantProcesses::kSlots;
  if (setup_.processes != nullptr) {
    for (uint32_t slot = 0; slot < TenantProcesses::kSlots; ++slot) {
      const std::optional<ProcessSnapshot> p = setup_.processes->read(slot);
      if (!p) continue;
      ++r.process_count;
      if (slot < cmd.first_slot) continue;
      if (listed.size() == vgpu::limits::kMaxStatusProcesses) {
        if (r.next_slot == TenantProcesses::kSlots) r.next_slot = slot;
        continue;
      }
      proto::TenantProcessInfo info{};
      info.pid = p->pid;
      info.context_mask = p->context_mask;
      info.memory_used =
          setup_.shares != nullptr ? setup_.shares[slot].device_bytes.load(std::memory_order_relaxed) : 0;
      static_assert(sizeof info.name == sizeof p->name);
      std::memcpy(info.name, p->name, sizeof info.name);
      listed.push_back(info);
    }
  }
  r.returned = static_cast<uint32_t>(listed.size());
  put(reply.payload, r);
  for (const auto& info : listed) put(reply.payload, info);
  return 0;
}

}  // namespace vgpud
