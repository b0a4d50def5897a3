// Handlers for virtual memory management: reservations, physical allocations and mappings
// (virtual_memory.h keeps the channel's tables). Every guest range and handle is checked there
// before the driver sees it; physical memory is charged to the tenant before it is made.
#include <fmt/format.h>

#include "vgpu/protocol/limits.h"
#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/reply_payload.h"

namespace vgpud {

namespace {

std::string range(uint64_t address, uint64_t size) { return fmt::format("0x{:x}+{}", address, size); }

CUmemAllocationProp pinned_on(CUdevice device) {
  CUmemAllocationProp prop{};
  prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  prop.location.id = device;
  return prop;
}

}  // namespace

int32_t ChannelExecutor::handle(const MemGetGranularityCmd& cmd, Reply& reply) {
  if (cmd.device >= contexts_.device_count()) return CUDA_ERROR_INVALID_DEVICE;
  const CUmemAllocationProp prop = pinned_on(contexts_.device(cmd.device));
  size_t granularity = 0;
  const CUresult r = traced("cuMemGetAllocationGranularity",
                            cu_.cuMemGetAllocationGranularity(
                                &granularity, &prop,
                                cmd.option == 0 ? CU_MEM_ALLOC_GRANULARITY_MINIMUM
                                                : CU_MEM_ALLOC_GRANULARITY_RECOMMENDED));
  if (r == CUDA_SUCCESS) put(reply.payload, proto::MemGetGranularityReply{granularity});
  return r;
}

int32_t ChannelExecutor::handle(const MemAddressReserveCmd& cmd, Reply& reply) {
  if (int32_t st = require_context()) return st;
  VirtualMemory& vm = objects_.virtual_memory;
  if (vm.reservations_full()) return limit_exceeded();
  CUdeviceptr address = 0;
  const CUresult r = traced("cuMemAddressReserve",
                            cu_.cuMemAddressReserve(&address, cmd.size, cmd.alignment, cmd.hint, 0),
                            [&] { return range(address, cmd.size); });
  if (r != CUDA_SUCCESS) return r;
  vm.add_reservation(address, cmd.size);
  put(reply.payload, proto::MemAddressReserveReply{address});
  return 0;
}

int32_t ChannelExecutor::handle(const MemAddressFreeCmd& cmd, Reply&) {
  if (int32_t st = require_context()) return st;
  VirtualMemory& vm = objects_.virtual_memory;
  if (!vm.is_reservation(cmd.address, cmd.size)) return CUDA_ERROR_INVALID_VALUE;
  // What the guest left mapped goes first: the driver would keep it, unreachable.
  for (uint64_t mapping : vm.mappings_within(cmd.address, cmd.size)) (void)unmap_one(mapping);
  const CUresult r = traced("cuMemAddressFree", cu_.cuMemAddressFree(cmd.address, cmd.size),
                            [&] { return range(cmd.address, cmd.size); });
  if (r == CUDA_SUCCESS) vm.remove_reservation(cmd.address);
  return r;
}

int32_t ChannelExecutor::handle(const MemCreateCmd& cmd, Reply& reply) {
  if (cmd.device >= contexts_.device_count()) return CUDA_ERROR_INVALID_DEVICE;
  if (int32_t st = require_context()) return st;
  VirtualMemory& vm = objects_.virtual_memory;
  if (vm.physicals_full()) return limit_exceeded();
  // The tenant's limit is checked, and the bytes taken, before the driver allocates anything.
  TenantBudget budget = device_budget();
  if (!budget.reserve(cmd.size)) {
    HopCounters::bump(setup_.counters->rejected);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  // A shareable handle type only when the program asked for one: only those can be exported to
  // the tenant's other processes (MEM_EXPORT_SHAREABLE, executor_ipc.cpp).
  CUmemAllocationProp prop = pinned_on(contexts_.device(cmd.device));
  prop.requestedHandleTypes = static_cast<CUmemAllocationHandleType>(cmd.handle_types);
  CUmemGenericAllocationHandle handle = 0;
  const CUresult r = traced("cuMemCreate", cu_.cuMemCreate(&handle, cmd.size, &prop, 0),
                            [&] { return fmt::format("size={} device={}", cmd.size, cmd.device); });
  if (r != CUDA_SUCCESS) {
    budget.release(cmd.size);
    return r;
  }
  const uint64_t id = vm.add_physical({handle, cmd.size, cmd.device, 1, 0});
  put(reply.payload, proto::MemCreateReply{id});
  return 0;
}

int32_t ChannelExecutor::handle(const MemReleaseCmd& cmd, Reply&) {
  VirtualMemory& vm = objects_.virtual_memory;
  VirtualMemory::Physical* p = vm.physical(cmd.handle);
  if (p == nullptr || p->references == 0) return CUDA_ERROR_INVALID_VALUE;
  const CUresult r = traced("cuMemRelease", cu_.cuMemRelease(p->handle));
  if (r != CUDA_SUCCESS) return r;
  --p->references;
  give_back_physical(cmd.handle);
  return 0;
}

int32_t ChannelExecutor::handle(const MemMapCmd& cmd, Reply&) {
  if (int32_t st = require_context()) return st;
  VirtualMemory& vm = objects_.virtual_memory;
  VirtualMemory::Physical* p = vm.physical(cmd.handle);
  if (p == nullptr || p->references == 0) return CUDA_ERROR_INVALID_VALUE;
  if (cmd.offset > p->size || cmd.size > p->size - cmd.offset) return CUDA_ERROR_INVALID_VALUE;
  if (!vm.can_map(cmd.address, cmd.size)) return CUDA_ERROR_INVALID_VALUE;
  if (objects_.memory.allocation_count() >= vgpu::limits::kMaxAllocations) return limit_exceeded();
  const CUresult r = traced("cuMemMap", cu_.cuMemMap(cmd.address, cmd.size, cmd.offset, p->handle, 0),
                            [&] { return range(cmd.address, cmd.size); });
  if (r != CUDA_SUCCESS) return r;
  vm.add_mapping(cmd.address, {cmd.size, cmd.offset, cmd.handle});
  objects_.memory.add(cmd.address, cmd.size, DeviceMemoryMap::Kind::Mapping, p->device);
  return 0;
}

CUresult ChannelExecutor::unmap_one(uint64_t address) {
  VirtualMemory& vm = objects_.virtual_memory;
  const std::optional<VirtualMemory::Mapping> m = vm.remove_mapping(address);
  if (!m) return CUDA_ERROR_INVALID_VALUE;
  objects_.memory.remove(address);
  const CUresult r = traced("cuMemUnmap", cu_.cuMemUnmap(address, m->size), [&] { return range(address, m->size); });
  give_back_physical(m->physical);
  return r;
}

int32_t ChannelExecutor::handle(const MemUnmapCmd& cmd, Reply&) {
  if (int32_t st = require_context()) return st;
  const auto run = objects_.virtual_memory.exact_mappings(cmd.address, cmd.size);
  if (!run) return CUDA_ERROR_INVALID_VALUE;
  CUresult first_error = CUDA_SUCCESS;
  for (uint64_t address : *run) {
    const CUresult r = unmap_one(address);
    if (first_error == CUDA_SUCCESS) first_error = r;
  }
  return first_error;
}

int32_t ChannelExecutor::handle(const MemSetAccessCmd& cmd, Reply&) {
  if (int32_t st = require_context()) return st;
  if (!objects_.virtual_memory.covered(cmd.address, cmd.size)) return CUDA_ERROR_INVALID_VALUE;
  CUmemAccessDesc descs[vgpu::limits::kMaxDevices];
  size_t count = 0;
  for (uint32_t d = 0; d < vgpu::limits::kMaxDevices; ++d) {
    if ((cmd.named & (1u << d)) == 0) continue;
    if (d >= contexts_.device_count()) return CUDA_ERROR_INVALID_DEVICE;
    descs[count].location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    descs[count].location.id = contexts_.device(d);
    descs[count].flags = (cmd.writable & (1u << d)) != 0   ? CU_MEM_ACCESS_FLAGS_PROT_READWRITE
                         : (cmd.readable & (1u << d)) != 0 ? CU_MEM_ACCESS_FLAGS_PROT_READ
                                                           : CU_MEM_ACCESS_FLAGS_PROT_NONE;
    ++count;
  }
  return traced("cuMemSetAccess", cu_.cuMemSetAccess(cmd.address, cmd.size, descs, count),
                [&] { return range(cmd.address, cmd.size); });
}

int32_t ChannelExecutor::handle(const MemGetAccessCmd& cmd, Reply& reply) {
  if (int32_t st = require_context()) return st;
  if (cmd.device >= contexts_.device_count()) return CUDA_ERROR_INVALID_DEVICE;
  if (!objects_.virtual_memory.mapping_at(cmd.address)) return CUDA_ERROR_INVALID_VALUE;
  CUmemLocation location{};
  location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  location.id = contexts_.device(cmd.device);
  unsigned long long flags = 0;
  const CUresult r = traced("cuMemGetAccess", cu_.cuMemGetAccess(&flags, &location, cmd.address));
  if (r == CUDA_SUCCESS) put(reply.payload, proto::MemGetAccessReply{static_cast<uint32_t>(flags), 0});
  return r;
}

int32_t ChannelExecutor::handle(const MemRetainHandleCmd& cmd, Reply& reply) {
  if (int32_t st = require_context()) return st;
  VirtualMemory& vm = objects_.virtual_memory;
  const auto mapping = vm.mapping_at(cmd.address);
  if (!mapping) return CUDA_ERROR_INVALID_VALUE;
  VirtualMemory::Physical* p = vm.physical(mapping->second.physical);
  if (p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (p->references == UINT32_MAX) return limit_exceeded();
  CUmemGenericAllocationHandle handle = 0;
  const CUresult r = traced("cuMemRetainAllocationHandle",
                            cu_.cuMemRetainAllocationHandle(&handle, reinterpret_cast<void*>(cmd.address)));
  if (r != CUDA_SUCCESS) return r;
  ++p->references;
  put(reply.payload, proto::MemRetainHandleReply{mapping->second.physical});
  return 0;
}

void ChannelExecutor::release_virtual_memory(std::optional<uint32_t> device) {
  VirtualMemory& vm = objects_.virtual_memory;
  for (uint64_t address : vm.mappings_on(device)) (void)unmap_one(address);
  for (uint64_t id : vm.physicals_on(device)) {
    VirtualMemory::Physical* p = vm.physical(id);
    for (; p->references > 0; --p->references) (void)traced("cuMemRelease", cu_.cuMemRelease(p->handle));
    give_back_physical(id);
  }
  if (device) return;
  for (const auto& [base, size] : vm.reservations()) {
    (void)traced("cuMemAddressFree", cu_.cuMemAddressFree(base, size));
    vm.remove_reservation(base);
  }
}

}  // namespace vgpud
