// TENANT_STATUS: what a guest may know of its own tenant, for NVML and vgpu-smi (docs/design.md,
// "NVML in the guest"). Everything comes from the tenant's shared state, which only this
// tenant's workers map: no other tenant's process, memory or counter can appear in a reply. No
// context is made and no driver function is called, so a process that only asks NVML costs
// the GPU nothing.
//
// Utilization is not measured: the host's NVML would tell how busy the whole GPU is, which is
// other tenants' load as much as this one's (a side channel between tenants), and vgpud keeps no
// per-tenant busy time yet. Each device's figure is kUtilizationUnknown, which the guest's NVML
// answers as NVML_ERROR_NOT_SUPPORTED.
#include <cstring>

#include "vgpu/protocol/limits.h"
#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/reply_payload.h"

#ifndef VGPU_VERSION
#define VGPU_VERSION "unknown"
#endif

namespace vgpud {

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
  for (uint32_t& u : r.utilization_gpu) u = vgpu::limits::kUtilizationUnknown;

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
