// Handlers for sharing between the processes of one tenant (docs/design.md §25): legacy IPC of
// allocations and events, and virtual memory's shareable handles. A guest holds tokens; the
// tenant's table (ipc_table.h) maps each to the driver's handle, and every worker of the tenant
// maps that table, no other. Each token is looked up there before the driver sees anything, and
// what is opened here joins the channel's tables (the memory map, events, physical allocations)
// so that every later call checks it as it checks the channel's own.
#include <fmt/format.h>
#include <unistd.h>

#include <cstring>

#include "vgpu/protocol/limits.h"
#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/ipc_fd_server.h"
#include "vgpud/executor/reply_payload.h"
#include "vgpud/log/channel_log.h"
#include "vgpud/log/log.h"

namespace vgpud {

namespace {

IpcToken token_of(uint64_t lo, uint64_t hi) { return IpcToken{lo, hi}; }
proto::IpcHandleToken wire(const IpcToken& t) { return proto::IpcHandleToken{t.lo, t.hi}; }
std::string hex(uint64_t v) { return fmt::format("0x{:x}", v); }

}  // namespace

int32_t ChannelExecutor::handle(const IpcGetMemHandleCmd& cmd, Reply& reply) {
  if (setup_.ipc == nullptr) return CUDA_ERROR_NOT_SUPPORTED;
  if (int32_t st = require_context()) return st;
  // The whole allocation holding the address, as the driver's handle names it.
  const auto range = objects_.memory.range_at(cmd.device_ptr);
  if (!range || range->kind != DeviceMemoryMap::Kind::Allocation) return CUDA_ERROR_INVALID_VALUE;
  if (auto it = ipc_.memory.find(range->base); it != ipc_.memory.end()) {
    put(reply.payload, wire(it->second.token));
    return 0;
  }
  CUipcMemHandle handle{};
  const CUresult r = contexts_.in_context_of(range->device, [&] {
    return traced("cuIpcGetMemHandle", cu_.cuIpcGetMemHandle(&handle, range->base), [&] { return hex(range->base); });
  });
  if (r != CUDA_SUCCESS) return r;
  IpcExport e;
  e.kind = IpcKind::Memory;
  e.device = range->device;
  e.exporter_slot = setup_.worker_slot;
  e.size = range->size;
  static_assert(sizeof handle.reserved == sizeof e.handle);
  std::memcpy(e.handle, handle.reserved, sizeof e.handle);
  const std::optional<IpcToken> token = setup_.ipc->publish(e, setup_.device_memory.share);
  if (!token) return limit_exceeded();
  ipc_.memory[range->base] = {*token, range->size, range->device};
  put(reply.payload, wire(*token));
  return 0;
}

int32_t ChannelExecutor::handle(const IpcOpenMemHandleCmd& cmd, Reply& reply) {
  if (setup_.ipc == nullptr) return CUDA_ERROR_NOT_SUPPORTED;
  if (int32_t st = require_context()) return st;
  if (objects_.memory.allocation_count() >= vgpu::limits::kMaxAllocations) return limit_exceeded();
  const IpcToken token = token_of(cmd.token_lo, cmd.token_hi);
  IpcExport e;
  switch (setup_.ipc->find(token, IpcKind::Memory, setup_.worker_slot, /*hold=*/true, &e)) {
    case IpcTable::Found::No: return CUDA_ERROR_INVALID_VALUE;
    case IpcTable::Found::Full: return limit_exceeded();
    case IpcTable::Found::Yes: break;
  }
  CUipcMemHandle handle{};
  std::memcpy(handle.reserved, e.handle, sizeof handle.reserved);
  CUdeviceptr ptr = 0;
  const CUresult r = traced("cuIpcOpenMemHandle", cu_.cuIpcOpenMemHandle(&ptr, handle, cmd.flags),
                            [&] { return hex(ptr) + "+" + std::to_string(e.size); });
  if (r != CUDA_SUCCESS) {
    setup_.ipc->release(token, setup_.worker_slot, setup_.device_memory.used);
    return r;
  }
  IpcChannelState::Opened& opened = ipc_.opened[ptr];
  if (opened.count == 0) {
    const bool own = objects_.memory.range_at(ptr).has_value();
    opened = {token, e.size, contexts_.current(), 0, own};
    if (!own) objects_.memory.add(ptr, e.size, DeviceMemoryMap::Kind::IpcMemory, contexts_.current());
  }
  ++opened.count;
  put(reply.payload, proto::IpcOpenMemHandleReply{ptr, opened.size});
  return 0;
}

int32_t ChannelExecutor::handle(const IpcCloseMemHandleCmd& cmd, Reply&) {
  auto it = ipc_.opened.find(cmd.device_ptr);
  if (it == ipc_.opened.end()) return CUDA_ERROR_INVALID_VALUE;
  IpcChannelState::Opened& opened = it->second;
  const CUresult r = contexts_.in_context_of(opened.device, [&] {
    return traced("cuIpcCloseMemHandle", cu_.cuIpcCloseMemHandle(cmd.device_ptr), [&] { return hex(cmd.device_ptr); });
  });
  // Forgotten whatever the driver answered: the hold goes back to the tenant's table either way.
  setup_.ipc->release(opened.token, setup_.worker_slot, setup_.device_memory.used);
  if (--opened.count == 0) {
    if (!opened.own) objects_.memory.remove(cmd.device_ptr);
    ipc_.opened.erase(it);
  }
  return r;
}

int32_t ChannelExecutor::handle(const IpcGetEventHandleCmd& cmd, Reply& reply) {
  if (setup_.ipc == nullptr) return CUDA_ERROR_NOT_SUPPORTED;
  Event* event = objects_.events.find(cmd.event);
  if (event == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (int32_t st = require_context()) return st;
  if (auto it = ipc_.events.find(cmd.event); it != ipc_.events.end()) {
    put(reply.payload, wire(it->second));
    return 0;
  }
  CUipcEventHandle handle{};
  const CUresult r = contexts_.in_context_of(
      event->device, [&] { return traced("cuIpcGetEventHandle", cu_.cuIpcGetEventHandle(&handle, event->handle)); });
  if (r != CUDA_SUCCESS) return r;
  IpcExport e;
  e.kind = IpcKind::Event;
  e.device = event->device;
  e.exporter_slot = setup_.worker_slot;
  static_assert(sizeof handle.reserved == sizeof e.handle);
  std::memcpy(e.handle, handle.reserved, sizeof e.handle);
  const std::optional<IpcToken> token = setup_.ipc->publish(e, nullptr);
  if (!token) return limit_exceeded();
  ipc_.events[cmd.event] = *token;
  put(reply.payload, wire(*token));
  return 0;
}

int32_t ChannelExecutor::handle(const IpcOpenEventHandleCmd& cmd, Reply& reply) {
  if (setup_.ipc == nullptr) return CUDA_ERROR_NOT_SUPPORTED;
  if (int32_t st = require_context()) return st;
  if (objects_.events.full()) return limit_exceeded();
  IpcExport e;
  if (setup_.ipc->find(token_of(cmd.token_lo, cmd.token_hi), IpcKind::Event, setup_.worker_slot, /*hold=*/false,
                       &e) != IpcTable::Found::Yes)
    return CUDA_ERROR_INVALID_VALUE;
  CUipcEventHandle handle{};
  std::memcpy(handle.reserved, e.handle, sizeof handle.reserved);
  CUevent event = nullptr;
  const CUresult r = traced("cuIpcOpenEventHandle", cu_.cuIpcOpenEventHandle(&event, handle));
  if (r != CUDA_SUCCESS) return r;
  put(reply.payload, proto::IpcOpenEventHandleReply{objects_.events.insert(Event{event, contexts_.current()}), 0});
  return 0;
}

int32_t ChannelExecutor::handle(const MemExportShareableCmd& cmd, Reply& reply) {
  if (setup_.ipc == nullptr) return CUDA_ERROR_NOT_SUPPORTED;
  VirtualMemory::Physical* p = objects_.virtual_memory.physical(cmd.handle);
  if (p == nullptr || p->references == 0) return CUDA_ERROR_INVALID_VALUE;
  // Exported again, or an allocation this channel imported: the token it already has.
  if (auto it = ipc_.physicals.find(cmd.handle); it != ipc_.physicals.end()) {
    put(reply.payload, wire(it->second));
    return 0;
  }
  if (auto it = ipc_.imported.find(cmd.handle); it != ipc_.imported.end()) {
    put(reply.payload, wire(it->second));
    return 0;
  }
  if (int32_t st = require_context()) return st;
  if (!ipc_.fd_server) {
    std::string why;
    ipc_.fd_server = IpcFdServer::start(*setup_.ipc, setup_.worker_slot, &why);
    if (!ipc_.fd_server) {
      if (!std::exchange(ipc_.fd_server_failed, true))
        log::executor().warn("vm={} shareable handles cannot be exported: {}", setup_.name, why);
      return CUDA_ERROR_OPERATING_SYSTEM;
    }
  }
  int fd = -1;
  const CUresult r = traced("cuMemExportToShareableHandle",
                            cu_.cuMemExportToShareableHandle(&fd, p->handle, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0));
  if (r != CUDA_SUCCESS) return r;
  UniqueFd owned(fd);
  IpcExport e;
  e.kind = IpcKind::Physical;
  e.device = p->device;
  e.exporter_slot = setup_.worker_slot;
  e.size = p->size;
  const std::optional<IpcToken> token = setup_.ipc->publish(e, setup_.device_memory.share);
  if (!token) return limit_exceeded();
  ipc_.fd_server->offer(*token, std::move(owned));
  ipc_.physicals[cmd.handle] = *token;
  put(reply.payload, wire(*token));
  return 0;
}

int32_t ChannelExecutor::handle(const MemImportShareableCmd& cmd, Reply& reply) {
  if (setup_.ipc == nullptr) return CUDA_ERROR_NOT_SUPPORTED;
  if (int32_t st = require_context()) return st;
  VirtualMemory& vm = objects_.virtual_memory;
  if (vm.physicals_full()) return limit_exceeded();
  const IpcToken token = token_of(cmd.token_lo, cmd.token_hi);
  IpcExport e;
  switch (setup_.ipc->find(token, IpcKind::Physical, setup_.worker_slot, /*hold=*/true, &e)) {
    case IpcTable::Found::No: return CUDA_ERROR_INVALID_VALUE;
    case IpcTable::Found::Full: return limit_exceeded();
    case IpcTable::Found::Yes: break;
  }
  // The driver's descriptor: this worker's own, or the exporting worker's over its socket.
  std::string why = "this worker no longer offers it";
  const int fd = e.exporter_slot == setup_.worker_slot
                     ? (ipc_.fd_server ? ipc_.fd_server->duplicate(token) : -1)
                     : fetch_ipc_fd(*setup_.ipc, e.exporter_slot, setup_.worker_slot, token, &why);
  if (fd < 0) {
    setup_.ipc->release(token, setup_.worker_slot, setup_.device_memory.used);
    log::guest_warn(log::executor(), "vm={} seq={} a shareable handle could not be imported: {}", setup_.name,
                    trace_.seq(), why);
    return CUDA_ERROR_INVALID_VALUE;
  }
  const UniqueFd owned(fd);
  CUmemGenericAllocationHandle handle = 0;
  const CUresult r = traced("cuMemImportFromShareableHandle",
                            cu_.cuMemImportFromShareableHandle(&handle, reinterpret_cast<void*>(static_cast<uintptr_t>(fd)),
                                                               CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR));
  if (r != CUDA_SUCCESS) {
    setup_.ipc->release(token, setup_.worker_slot, setup_.device_memory.used);
    return r;
  }
  const uint64_t id = vm.add_physical({handle, e.size, e.device, 1, 0});
  ipc_.imported[id] = token;
  put(reply.payload, proto::MemImportShareableReply{id, e.size, e.device, 0});
  return 0;
}

bool ChannelExecutor::ipc_withdraw_allocation(uint64_t base) {
  auto it = ipc_.memory.find(base);
  if (it == ipc_.memory.end()) return false;
  setup_.ipc->withdraw(it->second.token, setup_.worker_slot, setup_.device_memory.used);
  ipc_.memory.erase(it);
  return true;
}

void ChannelExecutor::ipc_withdraw_event(uint32_t id) {
  auto it = ipc_.events.find(id);
  if (it == ipc_.events.end()) return;
  setup_.ipc->withdraw(it->second, setup_.worker_slot, nullptr);
  ipc_.events.erase(it);
}

void ChannelExecutor::give_back_physical(uint64_t id) {
  const uint64_t bytes = objects_.virtual_memory.forget_if_unused(id);
  if (bytes == 0) return;  // still referenced or mapped
  if (auto it = ipc_.imported.find(id); it != ipc_.imported.end()) {
    setup_.ipc->release(it->second, setup_.worker_slot, setup_.device_memory.used);
    ipc_.imported.erase(it);
    return;
  }
  if (auto it = ipc_.physicals.find(id); it != ipc_.physicals.end()) {
    if (ipc_.fd_server) ipc_.fd_server->withdraw(it->second);
    setup_.ipc->withdraw(it->second, setup_.worker_slot, setup_.device_memory.used);
    ipc_.physicals.erase(it);
    return;
  }
  device_budget().release(bytes);
}

uint64_t ChannelExecutor::release_ipc_on(uint32_t device) {
  if (setup_.ipc == nullptr) return 0;
  for (auto it = ipc_.opened.begin(); it != ipc_.opened.end();) {
    if (it->second.device != device) {
      ++it;
      continue;
    }
    for (; it->second.count > 0; --it->second.count) {
      (void)contexts_.in_existing_context_of(device, [&] {
        return traced("cuIpcCloseMemHandle", cu_.cuIpcCloseMemHandle(it->first));
      });
      setup_.ipc->release(it->second.token, setup_.worker_slot, setup_.device_memory.used);
    }
    if (!it->second.own) objects_.memory.remove(it->first);
    it = ipc_.opened.erase(it);
  }
  uint64_t published = 0;
  for (auto it = ipc_.memory.begin(); it != ipc_.memory.end();) {
    if (it->second.device != device) {
      ++it;
      continue;
    }
    published += it->second.size;
    setup_.ipc->withdraw(it->second.token, setup_.worker_slot, setup_.device_memory.used);
    it = ipc_.memory.erase(it);
  }
  for (auto it = ipc_.events.begin(); it != ipc_.events.end();) {
    const Event* event = objects_.events.find(it->first);
    if (event != nullptr && event->device != device) {
      ++it;
      continue;
    }
    setup_.ipc->withdraw(it->second, setup_.worker_slot, nullptr);
    it = ipc_.events.erase(it);
  }
  return published;
}

}  // namespace vgpud
