// Virtual memory's shareable handles between the processes of one tenant (docs/design.md §25):
// cuMemExportToShareableHandle and cuMemImportFromShareableHandle, POSIX file descriptors only.
//
// The driver's descriptor is a file of vgpud's worker, on the host; a guest process (in a VM
// above all) can hold nothing of the host's. So the descriptor the program gets is one of its own:
// a sealed memfd holding vgpud's token (ipc.h), which it may pass to another process as it would
// the driver's (SCM_RIGHTS, pidfd_getfd, inheritance). Importing reads the token back; the
// importing worker fetches the driver's descriptor from the exporting one.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "guest/client/log.h"
#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/ipc.h"
#include "guest/cuda/virtual_memory.h"

using namespace vgpu::cuda;
namespace guest = vgpu::guest;
namespace proto = vgpu::proto;

namespace {

CUresult not_supported(std::atomic<bool>& said, const char* what) {
  if (!said.exchange(true)) guest::log(guest::LogLevel::Warn, "%s is not supported by vgpu", what);
  return CUDA_ERROR_NOT_SUPPORTED;
}

CUresult posix_fd_only(CUmemAllocationHandleType type) {
  if (type == CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR) return CUDA_SUCCESS;
  static std::atomic<bool> said{false};
  return not_supported(said, "a shareable handle other than a POSIX file descriptor");
}

// A descriptor of this process holding `bytes`, sealed so that nobody changes the token in it.
// Not close-on-exec: the program decides, as with the driver's.
int token_file(const IpcHandleBytes& bytes) {
  const int fd = memfd_create("vgpu-shareable-handle", MFD_ALLOW_SEALING);
  if (fd < 0) return -1;
  if (write(fd, &bytes, sizeof bytes) != static_cast<ssize_t>(sizeof bytes) ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

CUresult export_handle(void* out, CUmemGenericAllocationHandle handle, CUmemAllocationHandleType type,
                       unsigned long long flags) {
  if (out == nullptr || flags != 0) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = posix_fd_only(type); r != CUDA_SUCCESS) return r;
  const std::optional<CUmemAllocationProp> prop = physical_properties(handle);
  if (!prop) return CUDA_ERROR_INVALID_VALUE;
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context_or_device(&ch, static_cast<uint32_t>(prop->location.id)); r != CUDA_SUCCESS) return r;
  proto::IpcHandleToken token{};
  const guest::CallResult r = guest::call<proto::CallId::MemExportShareable>(*ch, {handle}, &token);
  if (r.status != 0) return to_cu_result(r.status);
  IpcHandleBytes bytes{};
  std::memcpy(bytes.magic, kShareableMagic, sizeof bytes.magic);
  bytes.token_lo = token.token_lo;
  bytes.token_hi = token.token_hi;
  bytes.device = static_cast<uint32_t>(prop->location.id);
  const int fd = token_file(bytes);
  if (fd < 0) return CUDA_ERROR_OPERATING_SYSTEM;
  std::memcpy(out, &fd, sizeof fd);
  return CUDA_SUCCESS;
}

CUresult import_handle(CUmemGenericAllocationHandle* handle, void* os_handle, CUmemAllocationHandleType type) {
  if (handle == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = posix_fd_only(type); r != CUDA_SUCCESS) return r;
  const int fd = static_cast<int>(reinterpret_cast<intptr_t>(os_handle));
  IpcHandleBytes bytes{};
  if (fd < 0 || pread(fd, &bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes) ||
      std::memcmp(bytes.magic, kShareableMagic, sizeof bytes.magic) != 0)
    return CUDA_ERROR_INVALID_VALUE;
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context_or_device(&ch, bytes.device); r != CUDA_SUCCESS) return r;
  proto::MemImportShareableReply reply{};
  const guest::CallResult r =
      guest::call<proto::CallId::MemImportShareable>(*ch, {bytes.token_lo, bytes.token_hi}, &reply);
  if (r.status != 0) return to_cu_result(r.status);
  // What cuMemGetAllocationPropertiesFromHandle answers for it: the exporter's allocation.
  CUmemAllocationProp prop{};
  prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  prop.location.id = static_cast<int>(reply.device);
  prop.requestedHandleTypes = CU_MEM_HANDLE_TYPE_NONE;  // as the driver reports an imported one
  note_physical(reply.handle, prop, reply.size);
  *handle = reply.handle;
  return CUDA_SUCCESS;
}

}  // namespace

VGPU_DRIVER_API CUresult cuMemExportToShareableHandle(void* shareable, CUmemGenericAllocationHandle handle,
                                                      CUmemAllocationHandleType type, unsigned long long flags) {
  return guarded([&] { return export_handle(shareable, handle, type, flags); });
}

VGPU_DRIVER_API CUresult cuMemImportFromShareableHandle(CUmemGenericAllocationHandle* handle, void* os_handle,
                                                        CUmemAllocationHandleType type) {
  return guarded([&] { return import_handle(handle, os_handle, type); });
}
