// Legacy IPC between the processes of one tenant (docs/design.md §25): cuIpcGetMemHandle,
// cuIpcOpenMemHandle(_v2), cuIpcCloseMemHandle, cuIpcGetEventHandle, cuIpcOpenEventHandle. A
// handle carries a token of vgpud's (ipc.h); another process of the same tenant opens it through
// its own worker, which finds the driver's handle in the tenant's table. A process of another
// tenant, or a handle made up, gets CUDA_ERROR_INVALID_VALUE from vgpud.
//
// Opened memory is device memory of this process from then on: reserved in its address space as
// an allocation is (address_reservation.h), and known to cuMemcpy's direction,
// cuMemGetAddressRange and cuPointerGetAttribute until it is closed as often as it was opened.
#include <cstring>
#include <map>
#include <mutex>

#include "guest/client/address_reservation.h"
#include "guest/client/log.h"
#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/handles.h"
#include "guest/cuda/ipc.h"
#include "guest/cuda/managed_memory.h"

using namespace vgpu::cuda;
namespace guest = vgpu::guest;
namespace proto = vgpu::proto;

namespace vgpu::cuda {
namespace {

struct Opened {
  uint64_t size = 0;
  uint32_t device = 0;
  Context* owner = nullptr;
  uint64_t buffer_id = 0;
  uint32_t count = 0;  // opens not yet closed (vgpud answers one address for each)
};

// Never destroyed: atexit handlers may still ask about pointers.
struct OpenedMemory {
  std::mutex mutex;
  std::map<uint64_t, Opened> by_start;
  // Apart from cuMemAlloc's ids (device_memory.cpp), which count up from 1.
  uint64_t next_buffer_id = uint64_t{1} << 62;
};
OpenedMemory& opened() {
  static auto* o = new OpenedMemory;
  return *o;
}

template <typename Handle>
void write_handle(Handle* out, const char (&magic)[8], const proto::IpcHandleToken& token) {
  IpcHandleBytes bytes{};
  std::memcpy(bytes.magic, magic, sizeof bytes.magic);
  bytes.token_lo = token.token_lo;
  bytes.token_hi = token.token_hi;
  std::memset(out, 0, sizeof *out);
  std::memcpy(out->reserved, &bytes, sizeof bytes);
}

// The token a handle carries; false for bytes that are no handle of vgpu's.
template <typename Handle>
bool read_handle(const Handle& handle, const char (&magic)[8], proto::IpcHandleToken* token) {
  IpcHandleBytes bytes;
  std::memcpy(&bytes, handle.reserved, sizeof bytes);
  if (std::memcmp(bytes.magic, magic, sizeof bytes.magic) != 0) return false;
  *token = proto::IpcHandleToken{bytes.token_lo, bytes.token_hi};
  return true;
}

CUresult get_mem_handle(CUipcMemHandle* handle, CUdeviceptr ptr) {
  if (handle == nullptr) return CUDA_ERROR_INVALID_VALUE;
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  // Managed memory is the shim's own (managed_memory.h), and the driver's cannot be shared either.
  if (find_managed(ptr)) return CUDA_ERROR_INVALID_VALUE;
  proto::IpcHandleToken token{};
  const guest::CallResult r = guest::call<proto::CallId::IpcGetMemHandle>(*ch, {ptr}, &token);
  if (r.status != 0) return to_cu_result(r.status);
  write_handle(handle, kIpcMemMagic, token);
  return CUDA_SUCCESS;
}

CUresult open_mem_handle(CUdeviceptr* out, const CUipcMemHandle& handle, unsigned flags) {
  if (out == nullptr || (flags & ~unsigned{CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS}) != 0) return CUDA_ERROR_INVALID_VALUE;
  proto::IpcHandleToken token{};
  if (!read_handle(handle, kIpcMemMagic, &token)) return CUDA_ERROR_INVALID_VALUE;
  guest::Channel* ch = nullptr;
  Context* c = nullptr;
  if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
  proto::IpcOpenMemHandleReply reply{};
  const guest::CallResult r =
      guest::call<proto::CallId::IpcOpenMemHandle>(*ch, {token.token_lo, token.token_hi, flags, 0}, &reply);
  if (r.status != 0) return to_cu_result(r.status);
  OpenedMemory& o = opened();
  std::lock_guard lock(o.mutex);
  Opened& entry = o.by_start[reply.device_ptr];
  if (entry.count++ == 0) {
    entry = Opened{reply.size, c->device, c, o.next_buffer_id++, 1};
    // vgpud's driver chose the address; where it lies on this process's memory, say so (as for
    // cuMemAlloc's last attempt): only unified copies can misread it then.
    if (!guest::reserve_device_range(reply.device_ptr, reply.size))
      guest::log(guest::LogLevel::Warn, "opened IPC memory 0x%llx+%llu overlaps this process's memory",
                 static_cast<unsigned long long>(reply.device_ptr), static_cast<unsigned long long>(reply.size));
  }
  *out = reply.device_ptr;
  return CUDA_SUCCESS;
}

CUresult close_mem_handle(CUdeviceptr ptr) {
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  OpenedMemory& o = opened();
  {
    std::lock_guard lock(o.mutex);
    if (o.by_start.count(ptr) == 0) return CUDA_ERROR_INVALID_VALUE;
  }
  const CUresult r = to_cu_result(guest::call<proto::CallId::IpcCloseMemHandle>(*ch, {ptr}, nullptr).status);
  if (r != CUDA_SUCCESS) return r;
  std::lock_guard lock(o.mutex);
  auto it = o.by_start.find(ptr);
  if (it != o.by_start.end() && --it->second.count == 0) o.by_start.erase(it);
  return CUDA_SUCCESS;
}

CUresult get_event_handle(CUipcEventHandle* handle, CUevent event) {
  if (handle == nullptr) return CUDA_ERROR_INVALID_VALUE;
  EventObject* e = object_of<EventObject>(event, HandleKind::Event);
  if (e == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  proto::IpcHandleToken token{};
  const guest::CallResult r = guest::call<proto::CallId::IpcGetEventHandle>(*ch, {e->wire, 0}, &token);
  if (r.status != 0) return to_cu_result(r.status);
  write_handle(handle, kIpcEventMagic, token);
  return CUDA_SUCCESS;
}

CUresult open_event_handle(CUevent* out, const CUipcEventHandle& handle) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  proto::IpcHandleToken token{};
  if (!read_handle(handle, kIpcEventMagic, &token)) return CUDA_ERROR_INVALID_VALUE;
  guest::Channel* ch = nullptr;
  Context* c = nullptr;
  if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
  proto::IpcOpenEventHandleReply reply{};
  const guest::CallResult r = guest::call<proto::CallId::IpcOpenEventHandle>(*ch, token, &reply);
  if (r.status != 0) return to_cu_result(r.status);
  auto* e = new EventObject{HandleKind::Event, reply.event, c->device, true};
  register_event(e);  // as cuEventCreate's: a captured event node names it by id
  *out = reinterpret_cast<CUevent>(e);
  return CUDA_SUCCESS;
}

}  // namespace

std::optional<IpcRange> find_ipc_range(uint64_t address) noexcept {
  OpenedMemory& o = opened();
  std::lock_guard lock(o.mutex);
  auto it = o.by_start.upper_bound(address);
  if (it == o.by_start.begin()) return std::nullopt;
  --it;
  if (address - it->first >= it->second.size) return std::nullopt;
  return IpcRange{{it->first, it->second.size, it->second.device}, it->second.owner, it->second.buffer_id};
}

void forget_ipc_memory(uint32_t device) {
  OpenedMemory& o = opened();
  std::lock_guard lock(o.mutex);
  std::erase_if(o.by_start, [&](const auto& entry) { return entry.second.device == device; });
}

}  // namespace vgpu::cuda

VGPU_DRIVER_API CUresult cuIpcGetMemHandle(CUipcMemHandle* handle, CUdeviceptr ptr) {
  return guarded([&] { return get_mem_handle(handle, ptr); });
}

VGPU_DRIVER_API CUresult cuIpcOpenMemHandle_v2(CUdeviceptr* ptr, CUipcMemHandle handle, unsigned int flags) {
  return guarded([&] { return open_mem_handle(ptr, handle, flags); });
}
// The first ABI of the same call: same arguments.
VGPU_DRIVER_API CUresult cuIpcOpenMemHandle(CUdeviceptr* ptr, CUipcMemHandle handle, unsigned int flags) {
  return guarded([&] { return open_mem_handle(ptr, handle, flags); });
}

VGPU_DRIVER_API CUresult cuIpcCloseMemHandle(CUdeviceptr ptr) {
  return guarded([&] { return close_mem_handle(ptr); });
}

VGPU_DRIVER_API CUresult cuIpcGetEventHandle(CUipcEventHandle* handle, CUevent event) {
  return guarded([&] { return get_event_handle(handle, event); });
}

VGPU_DRIVER_API CUresult cuIpcOpenEventHandle(CUevent* event, CUipcEventHandle handle) {
  return guarded([&] { return open_event_handle(event, handle); });
}
