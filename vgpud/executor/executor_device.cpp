// Handlers for the session and device calls.
#include <fmt/format.h>

#include <cstring>

#include "vgpu/protocol/limits.h"
#include "vgpu/protocol/version.h"
#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/reply_payload.h"
#include "vgpud/log/channel_log.h"
#include "vgpud/log/log.h"

namespace vgpud {

int32_t ChannelExecutor::handle(const HelloCmd& cmd, Reply& reply) {
  // The name and pid are whatever the guest says, and a guest may say HELLO again and again:
  // the name is escaped, the kernel's pid of the guest is shown beside the claimed one, and the
  // line is rate-limited (channel_log.h).
  log::guest_line(log::executor(), spdlog::level::info,
                  "vm={} process '{}' (claimed pid {}, {}) attached", setup_.name,
                  log::guest_text(cmd.process_name), cmd.pid, log::channel_peer());
  if (cmd.protocol_version != proto::kProtocolVersion)
    return static_cast<int32_t>(proto::Status::VersionMismatch);
  // What the tenant's other processes see of this one (TENANT_STATUS): its claimed pid and
  // name, shown only to its own tenant, whose guests could say the same of themselves anyway.
  if (setup_.processes != nullptr) setup_.processes->attach(setup_.worker_slot, cmd.pid, cmd.process_name);
  proto::HelloReply r{};
  r.protocol_version = proto::kProtocolVersion;
  r.device_count = static_cast<uint32_t>(contexts_.device_count());
  cu_.cuDriverGetVersion(&r.driver_version);
  r.heap_address = heap_address_for_guest();
  put(reply.payload, r);
  return 0;
}

// Natively, page-locked memory has one address for the CPU and the GPU (unified addressing),
// and programs rely on it: XLA hands a kernel its host pointer to a page-locked flag. The guest
// can keep that promise if it maps the shared heap where this process does, because the region
// is registered here and its device address is then this process's address for it. That holds
// only where every device of the channel can use a host pointer for registered memory, and
// stays true in every later context (the registration is PORTABLE).
uint64_t ChannelExecutor::heap_address_for_guest() const {
  for (uint32_t d = 0; d < contexts_.device_count(); ++d) {
    int same_address = 0;
    if (cu_.cuDeviceGetAttribute(&same_address, CU_DEVICE_ATTRIBUTE_CAN_USE_HOST_POINTER_FOR_REGISTERED_MEM,
                                 contexts_.device(d)) != CUDA_SUCCESS ||
        same_address == 0)
      return 0;
  }
  return reinterpret_cast<uintptr_t>(heap_at(0));
}

// The transport alone: through the mediator and the executor and back, touching no driver.
int32_t ChannelExecutor::handle(const PingCmd&, Reply&) { return 0; }

int32_t ChannelExecutor::handle(const DeviceGetInfoCmd& cmd, Reply& reply) {
  if (cmd.device >= contexts_.device_count()) return CUDA_ERROR_INVALID_DEVICE;
  const CUdevice dev = contexts_.device(cmd.device);
  auto info = std::make_unique<proto::DeviceGetInfoReply>();
  std::memset(info.get(), 0, sizeof *info);
  if (CUresult r = traced("cuDeviceGetName", cu_.cuDeviceGetName(info->name, sizeof info->name, dev));
      r != CUDA_SUCCESS)
    return r;
  CUuuid uuid{};
  if (cu_.cuDeviceGetUuid(&uuid, dev) == CUDA_SUCCESS)
    std::memcpy(info->uuid, uuid.bytes, sizeof info->uuid);
  size_t total = 0;
  cu_.cuDeviceTotalMem(&total, dev);
  info->total_memory = total;
  const int count = std::min<int>(CU_DEVICE_ATTRIBUTE_MAX, vgpu::limits::kMaxDeviceAttributes);
  info->attribute_count = static_cast<uint32_t>(count);
  for (int a = 1; a < count; ++a) {
    int value = 0;
    // Attributes this driver does not know stay 0, as the runtime reports them.
    if (cu_.cuDeviceGetAttribute(&value, static_cast<CUdevice_attribute>(a), dev) == CUDA_SUCCESS)
      info->attributes[a] = value;
  }
  put(reply.payload, *info);
  return 0;
}

int32_t ChannelExecutor::handle(const SetDeviceCmd& cmd, Reply&) {
  if (cmd.device >= contexts_.device_count()) return CUDA_ERROR_INVALID_DEVICE;
  // A context costs about 0.5 GB of GPU memory (H200, driver 580) that no limit counts: it is
  // made on the first call that needs one, not when the guest merely picks the device.
  if (contexts_.context_of(cmd.device) == nullptr) {
    contexts_.select(cmd.device);
    return 0;
  }
  return contexts_.make_current(cmd.device);
}

int32_t ChannelExecutor::handle(const DeviceSynchronizeCmd&, Reply&) {
  if (int32_t st = require_context()) return st;
  return traced("cuCtxSynchronize", cu_.cuCtxSynchronize());
}

int32_t ChannelExecutor::handle(const DeviceResetCmd&, Reply&) {
  // cudaDeviceReset: everything the process made on the current device goes, and only that;
  // the context is made again on next use.
  release_device(contexts_.current(), /*keep_region_pinned=*/true);
  return 0;
}

int32_t ChannelExecutor::handle(const DeviceCanAccessPeerCmd& cmd, Reply& reply) {
  if (cmd.device >= contexts_.device_count() || cmd.peer >= contexts_.device_count()) return CUDA_ERROR_INVALID_DEVICE;
  int can_access = 0;
  const CUresult r = traced("cuDeviceCanAccessPeer", cu_.cuDeviceCanAccessPeer(&can_access, contexts_.device(cmd.device),
                                                                              contexts_.device(cmd.peer)));
  if (r != CUDA_SUCCESS) return r;
  put(reply.payload, proto::DeviceCanAccessPeerReply{can_access != 0 ? 1 : 0, 0});
  return 0;
}

int32_t ChannelExecutor::handle(const PeerAccessEnableCmd& cmd, Reply&) {
  if (cmd.peer >= contexts_.device_count()) return CUDA_ERROR_INVALID_DEVICE;
  if (cmd.peer == contexts_.current()) return CUDA_ERROR_PEER_ACCESS_UNSUPPORTED;  // as the runtime answers
  const uint32_t here = contexts_.current();
  // Both contexts must exist: the peer's is made now if the guest has not used it yet.
  if (CUresult r = contexts_.make_current(cmd.peer); r != CUDA_SUCCESS) return r;
  if (CUresult r = contexts_.make_current(here); r != CUDA_SUCCESS) return r;
  return traced("cuCtxEnablePeerAccess", cu_.cuCtxEnablePeerAccess(contexts_.context_of(cmd.peer), cmd.flags));
}

int32_t ChannelExecutor::handle(const PeerAccessDisableCmd& cmd, Reply&) {
  if (cmd.peer >= contexts_.device_count()) return CUDA_ERROR_INVALID_DEVICE;
  if (cmd.peer == contexts_.current()) return CUDA_ERROR_PEER_ACCESS_NOT_ENABLED;
  if (int32_t st = require_context()) return st;
  // A peer without a context was never enabled.
  if (contexts_.context_of(cmd.peer) == nullptr) return CUDA_ERROR_PEER_ACCESS_NOT_ENABLED;
  return traced("cuCtxDisablePeerAccess", cu_.cuCtxDisablePeerAccess(contexts_.context_of(cmd.peer)));
}

// cudaDeviceGetLimit / cudaDeviceSetLimit: the limits of the channel's own context on the current
// device (each channel has its own, so one guest's limits never reach another's). The parser
// bounds `limit`; a value the driver does not know is its CUDA_ERROR_UNSUPPORTED_LIMIT.
int32_t ChannelExecutor::handle(const CtxGetLimitCmd& cmd, Reply& reply) {
  if (int32_t st = require_context()) return st;
  size_t value = 0;
  const CUresult r = traced("cuCtxGetLimit", cu_.cuCtxGetLimit(&value, static_cast<CUlimit>(cmd.limit)),
                            fmt::format("limit={}", cmd.limit));
  if (r != CUDA_SUCCESS) return r;
  put(reply.payload, proto::CtxGetLimitReply{value});
  return 0;
}

int32_t ChannelExecutor::handle(const CtxSetLimitCmd& cmd, Reply&) {
  if (int32_t st = require_context()) return st;
  return traced("cuCtxSetLimit", cu_.cuCtxSetLimit(static_cast<CUlimit>(cmd.limit), cmd.value),
                fmt::format("limit={} value={}", cmd.limit, cmd.value));
}

int32_t ChannelExecutor::handle(const MemGetInfoCmd&, Reply& reply) {
  if (int32_t st = require_context()) return st;
  size_t free_bytes = 0, total = 0;
  const CUresult r = traced("cuMemGetInfo", cu_.cuMemGetInfo(&free_bytes, &total));
  if (r != CUDA_SUCCESS) return r;
  if (setup_.device_memory.limit != 0) {
    // A tenant with a memory limit sees the limit as its device's size.
    const uint64_t used = device_budget().used();
    total = std::min<uint64_t>(total, setup_.device_memory.limit);
    free_bytes = std::min<uint64_t>(free_bytes, used >= total ? 0 : total - used);
  }
  put(reply.payload, proto::MemGetInfoReply{free_bytes, total});
  return 0;
}

}  // namespace vgpud
