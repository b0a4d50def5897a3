// Virtual memory management: address reservations, physical allocations and their mappings,
// each a call to vgpud, which checks every range against the channel's own tables
// (vgpud/executor/virtual_memory.h). Reserved ranges are also reserved in this process
// (address_reservation.h), as cuMemAlloc's are, so host memory never appears inside them.
//
// Device memory only: host and managed allocations answer CUDA_ERROR_NOT_SUPPORTED and say so
// once. An allocation made with the POSIX file descriptor handle type may be shared with the
// tenant's other processes (shareable_api.cpp).
#include <atomic>
#include <vector>

#include "guest/client/address_reservation.h"
#include "guest/client/log.h"
#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/virtual_memory.h"

using namespace vgpu::cuda;
namespace guest = vgpu::guest;
namespace proto = vgpu::proto;

namespace {

CUresult not_supported(std::atomic<bool>& said, const char* what) {
  if (!said.exchange(true)) guest::log(guest::LogLevel::Warn, "%s is not supported by vgpu", what);
  return CUDA_ERROR_NOT_SUPPORTED;
}

bool valid_device(int id) { return id >= 0 && static_cast<uint32_t>(id) < device_count(); }

// A location vgpu serves: a device of this process's.
CUresult device_location(const CUmemLocation& location, uint32_t* device) {
  if (location.type == CU_MEM_LOCATION_TYPE_HOST || location.type == CU_MEM_LOCATION_TYPE_HOST_NUMA ||
      location.type == CU_MEM_LOCATION_TYPE_HOST_NUMA_CURRENT) {
    static std::atomic<bool> said{false};
    return not_supported(said, "virtual memory management of host memory");
  }
  if (location.type != CU_MEM_LOCATION_TYPE_DEVICE || !valid_device(location.id)) return CUDA_ERROR_INVALID_DEVICE;
  *device = static_cast<uint32_t>(location.id);
  return CUDA_SUCCESS;
}

// What cuMemCreate and cuMemGetAllocationGranularity accept: pinned memory on a device.
CUresult pinned_device_prop(const CUmemAllocationProp* prop, uint32_t* device) {
  if (prop == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (prop->type == CU_MEM_ALLOCATION_TYPE_MANAGED) {
    static std::atomic<bool> said{false};
    return not_supported(said, "a managed allocation through cuMemCreate");
  }
  if (prop->type != CU_MEM_ALLOCATION_TYPE_PINNED) return CUDA_ERROR_INVALID_VALUE;
  return device_location(prop->location, device);
}

CUresult reserve(CUdeviceptr* out, size_t size, size_t alignment, CUdeviceptr hint, unsigned long long flags) {
  if (out == nullptr || size == 0 || flags != 0) return CUDA_ERROR_INVALID_VALUE;
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context_or_device(&ch, 0); r != CUDA_SUCCESS) return r;
  // As for cuMemAlloc (device_memory.cpp): a range this process already uses for host memory is
  // kept aside while another is asked for, then given back.
  constexpr int kAttempts = 4;
  std::vector<uint64_t> overlapping;
  CUresult result = CUDA_ERROR_OUT_OF_MEMORY;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    proto::MemAddressReserveReply reply{};
    const guest::CallResult r = guest::call<proto::CallId::MemAddressReserve>(*ch, {size, alignment, hint}, &reply);
    if (r.status != 0) {
      result = to_cu_result(r.status);
      break;
    }
    if (guest::reserve_device_range(reply.address, size) || attempt + 1 == kAttempts) {
      if (attempt + 1 == kAttempts)
        guest::log(guest::LogLevel::Warn, "reserved device range 0x%llx+%zu overlaps this process's memory",
                   static_cast<unsigned long long>(reply.address), size);
      *out = reply.address;
      result = CUDA_SUCCESS;
      break;
    }
    overlapping.push_back(reply.address);
  }
  for (uint64_t address : overlapping) (void)guest::call<proto::CallId::MemAddressFree>(*ch, {address, size}, nullptr);
  return result;
}

CUresult create(CUmemGenericAllocationHandle* handle, size_t size, const CUmemAllocationProp* prop,
                unsigned long long flags) {
  if (handle == nullptr || size == 0 || flags != 0) return CUDA_ERROR_INVALID_VALUE;
  uint32_t device = 0;
  if (CUresult r = pinned_device_prop(prop, &device); r != CUDA_SUCCESS) return r;
  if (prop->requestedHandleTypes != CU_MEM_HANDLE_TYPE_NONE &&
      prop->requestedHandleTypes != CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR) {
    static std::atomic<bool> said{false};
    return not_supported(said, "a shareable handle type other than a POSIX file descriptor");
  }
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context_or_device(&ch, device); r != CUDA_SUCCESS) return r;
  proto::MemCreateReply reply{};
  const uint32_t handle_types = prop->requestedHandleTypes == CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR ? 1u : 0u;
  const guest::CallResult r = guest::call<proto::CallId::MemCreate>(*ch, {size, device, handle_types}, &reply);
  if (r.status != 0) return to_cu_result(r.status);
  note_physical(reply.handle, *prop, size);
  *handle = reply.handle;
  return CUDA_SUCCESS;
}

CUresult set_access(CUdeviceptr ptr, size_t size, const CUmemAccessDesc* desc, size_t count) {
  if (desc == nullptr || count == 0 || size == 0) return CUDA_ERROR_INVALID_VALUE;
  proto::MemSetAccessRequest request{ptr, size, 0, 0, 0, 0};
  for (size_t i = 0; i < count; ++i) {
    uint32_t device = 0;
    if (CUresult r = device_location(desc[i].location, &device); r != CUDA_SUCCESS) return r;
    const uint32_t bit = 1u << device;
    request.named |= bit;
    request.readable &= ~bit;
    request.writable &= ~bit;
    switch (desc[i].flags) {
      case CU_MEM_ACCESS_FLAGS_PROT_NONE: break;
      case CU_MEM_ACCESS_FLAGS_PROT_READ: request.readable |= bit; break;
      case CU_MEM_ACCESS_FLAGS_PROT_READWRITE: request.readable |= bit; request.writable |= bit; break;
      default: return CUDA_ERROR_INVALID_VALUE;
    }
  }
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context_or_device(&ch, 0); r != CUDA_SUCCESS) return r;
  return to_cu_result(guest::call<proto::CallId::MemSetAccess>(*ch, request, nullptr).status);
}

}  // namespace

VGPU_DRIVER_API CUresult cuMemAddressReserve(CUdeviceptr* ptr, size_t size, size_t alignment, CUdeviceptr addr,
                                             unsigned long long flags) {
  return guarded([&] { return reserve(ptr, size, alignment, addr, flags); });
}

VGPU_DRIVER_API CUresult cuMemAddressFree(CUdeviceptr ptr, size_t size) {
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context_or_device(&ch, 0); r != CUDA_SUCCESS) return r;
    const CUresult r = to_cu_result(guest::call<proto::CallId::MemAddressFree>(*ch, {ptr, size}, nullptr).status);
    if (r == CUDA_SUCCESS) note_unmapped(ptr, size);  // vgpud unmapped what was left mapped
    return r;
  });
}

VGPU_DRIVER_API CUresult cuMemCreate(CUmemGenericAllocationHandle* handle, size_t size, const CUmemAllocationProp* prop,
                                     unsigned long long flags) {
  return guarded([&] { return create(handle, size, prop, flags); });
}

VGPU_DRIVER_API CUresult cuMemRelease(CUmemGenericAllocationHandle handle) {
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context_or_device(&ch, 0); r != CUDA_SUCCESS) return r;
    const CUresult r = to_cu_result(guest::call<proto::CallId::MemRelease>(*ch, {handle}, nullptr).status);
    if (r == CUDA_SUCCESS) note_released(handle);
    return r;
  });
}

VGPU_DRIVER_API CUresult cuMemMap(CUdeviceptr ptr, size_t size, size_t offset, CUmemGenericAllocationHandle handle,
                                  unsigned long long flags) {
  if (flags != 0 || size == 0) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context_or_device(&ch, 0); r != CUDA_SUCCESS) return r;
    const CUresult r =
        to_cu_result(guest::call<proto::CallId::MemMap>(*ch, {ptr, size, offset, handle}, nullptr).status);
    if (r == CUDA_SUCCESS) note_mapped(ptr, size, handle);
    return r;
  });
}

VGPU_DRIVER_API CUresult cuMemUnmap(CUdeviceptr ptr, size_t size) {
  if (size == 0) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context_or_device(&ch, 0); r != CUDA_SUCCESS) return r;
    const CUresult r = to_cu_result(guest::call<proto::CallId::MemUnmap>(*ch, {ptr, size}, nullptr).status);
    if (r == CUDA_SUCCESS) note_unmapped(ptr, size);
    return r;
  });
}

VGPU_DRIVER_API CUresult cuMemSetAccess(CUdeviceptr ptr, size_t size, const CUmemAccessDesc* desc, size_t count) {
  return guarded([&] { return set_access(ptr, size, desc, count); });
}

VGPU_DRIVER_API CUresult cuMemGetAccess(unsigned long long* flags, const CUmemLocation* location, CUdeviceptr ptr) {
  if (flags == nullptr || location == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    uint32_t device = 0;
    if (CUresult r = init_status(); r != CUDA_SUCCESS) return r;
    if (CUresult r = device_location(*location, &device); r != CUDA_SUCCESS) return r;
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context_or_device(&ch, 0); r != CUDA_SUCCESS) return r;
    proto::MemGetAccessReply reply{};
    const guest::CallResult r = guest::call<proto::CallId::MemGetAccess>(*ch, {ptr, device, 0}, &reply);
    if (r.status != 0) return to_cu_result(r.status);
    *flags = reply.flags;
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuMemRetainAllocationHandle(CUmemGenericAllocationHandle* handle, void* addr) {
  if (handle == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context_or_device(&ch, 0); r != CUDA_SUCCESS) return r;
    proto::MemRetainHandleReply reply{};
    const guest::CallResult r =
        guest::call<proto::CallId::MemRetainHandle>(*ch, {reinterpret_cast<uint64_t>(addr)}, &reply);
    if (r.status != 0) return to_cu_result(r.status);
    note_retained(reply.handle);
    *handle = reply.handle;
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuMemGetAllocationPropertiesFromHandle(CUmemAllocationProp* prop,
                                                                CUmemGenericAllocationHandle handle) {
  if (prop == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    const std::optional<CUmemAllocationProp> known = physical_properties(handle);
    if (!known) return CUDA_ERROR_INVALID_VALUE;
    *prop = *known;
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuMemGetAllocationGranularity(size_t* granularity, const CUmemAllocationProp* prop,
                                                       CUmemAllocationGranularity_flags option) {
  if (granularity == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (option != CU_MEM_ALLOC_GRANULARITY_MINIMUM && option != CU_MEM_ALLOC_GRANULARITY_RECOMMENDED)
    return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    if (CUresult r = init_status(); r != CUDA_SUCCESS) return r;
    uint32_t device = 0;
    if (CUresult r = pinned_device_prop(prop, &device); r != CUDA_SUCCESS) return r;
    guest::Channel* ch = channel();
    if (ch == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
    proto::MemGetGranularityReply reply{};
    const uint32_t recommended = option == CU_MEM_ALLOC_GRANULARITY_RECOMMENDED ? 1 : 0;
    const guest::CallResult r = guest::call<proto::CallId::MemGetGranularity>(*ch, {device, recommended}, &reply);
    if (r.status != 0) return to_cu_result(r.status);
    *granularity = reply.granularity;
    return CUDA_SUCCESS;
  });
}
