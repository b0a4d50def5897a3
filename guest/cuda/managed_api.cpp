// Managed memory's entry points (the coherence is managed_memory.h's): cuMemAllocManaged, the
// prefetches, advice and stream attachment. Advice and attachment are accepted and change
// nothing: they tune where the driver migrates pages, and here every chunk moves only when
// the other side touches it.
#include "guest/cuda/api.h"
#include "guest/cuda/capture.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/managed_memory.h"
#include "guest/cuda/streams.h"

using namespace vgpu::cuda;
namespace guest = vgpu::guest;

namespace {

// [ptr, ptr + count) lies in one managed allocation, as the driver requires of these calls.
bool managed_range(CUdeviceptr ptr, size_t count) {
  const std::optional<ManagedRange> m = find_managed(ptr);
  return m.has_value() && count <= m->size - (ptr - m->start);
}

CUresult prefetch(CUdeviceptr ptr, size_t count, bool to_host, CUstream stream) {
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  if (count == 0 || !managed_range(ptr, count)) return CUDA_ERROR_INVALID_VALUE;
  if (!to_host) return before_gpu_work();  // what the CPU wrote goes to the GPU now
  // To the CPU, in stream order: the work queued before it may write the memory.
  if (CUresult r = cuStreamSynchronize(stream); r != CUDA_SUCCESS) return r;
  return prefetch_to_host(ptr, count);
}

bool host_location(const CUmemLocation& location) {
  return location.type == CU_MEM_LOCATION_TYPE_HOST || location.type == CU_MEM_LOCATION_TYPE_HOST_NUMA ||
         location.type == CU_MEM_LOCATION_TYPE_HOST_NUMA_CURRENT;
}

CUresult check_location(const CUmemLocation& location) {
  if (host_location(location)) return CUDA_SUCCESS;
  if (location.type != CU_MEM_LOCATION_TYPE_DEVICE) return CUDA_ERROR_INVALID_VALUE;
  if (location.id < 0 || static_cast<uint32_t>(location.id) >= device_count()) return CUDA_ERROR_INVALID_DEVICE;
  return CUDA_SUCCESS;
}

CUmemLocation location_of(CUdevice device) {
  CUmemLocation l{};
  l.type = device == CU_DEVICE_CPU ? CU_MEM_LOCATION_TYPE_HOST : CU_MEM_LOCATION_TYPE_DEVICE;
  l.id = device == CU_DEVICE_CPU ? 0 : device;
  return l;
}

CUresult prefetch_v2(CUdeviceptr ptr, size_t count, CUmemLocation location, unsigned flags, CUstream stream) {
  if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    if (CUresult r = init_status(); r != CUDA_SUCCESS) return r;
    if (CUresult r = check_location(location); r != CUDA_SUCCESS) return r;
    return prefetch(ptr, count, host_location(location), stream);
  });
}

CUresult advise(CUdeviceptr ptr, size_t count, CUmem_advise advice, CUmemLocation location) {
  if (advice < CU_MEM_ADVISE_SET_READ_MOSTLY || advice > CU_MEM_ADVISE_UNSET_ACCESSED_BY)
    return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    if (CUresult r = init_status(); r != CUDA_SUCCESS) return r;
    const bool needs_location = advice != CU_MEM_ADVISE_SET_READ_MOSTLY && advice != CU_MEM_ADVISE_UNSET_READ_MOSTLY &&
                                advice != CU_MEM_ADVISE_UNSET_PREFERRED_LOCATION;
    if (needs_location) {
      if (CUresult r = check_location(location); r != CUDA_SUCCESS) return r;
    }
    return count != 0 && managed_range(ptr, count) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
  });
}

CUresult attach(CUstream stream, CUdeviceptr ptr, size_t length, unsigned flags) {
  if (flags != CU_MEM_ATTACH_GLOBAL && flags != CU_MEM_ATTACH_HOST && flags != CU_MEM_ATTACH_SINGLE)
    return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    uint64_t wire = 0;
    if (!wire_stream(stream, &wire)) return CUDA_ERROR_INVALID_HANDLE;
    // length 0: the whole allocation, which must start at ptr.
    const std::optional<ManagedRange> m = find_managed(ptr);
    if (!m || (length == 0 && m->start != ptr)) return CUDA_ERROR_INVALID_VALUE;
    return length == 0 || managed_range(ptr, length) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
  });
}

}  // namespace

VGPU_DRIVER_API CUresult cuMemAllocManaged(CUdeviceptr* out, size_t size, unsigned int flags) {
  if (out == nullptr || size == 0) return CUDA_ERROR_INVALID_VALUE;
  if (flags != CU_MEM_ATTACH_GLOBAL && flags != CU_MEM_ATTACH_HOST) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    Context* c = nullptr;
    if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
    if (CUresult r = check_unsafe_call_during_capture(); r != CUDA_SUCCESS) return r;
    return allocate_managed(c, size, out);
  });
}

VGPU_DRIVER_API CUresult cuMemPrefetchAsync_v2(CUdeviceptr ptr, size_t count, CUmemLocation location, unsigned flags,
                                               CUstream stream) {
  return prefetch_v2(ptr, count, location, flags, stream);
}
VGPU_DRIVER_API CUresult cuMemPrefetchAsync_v2_ptsz(CUdeviceptr ptr, size_t count, CUmemLocation location,
                                                    unsigned flags, CUstream stream) {
  return prefetch_v2(ptr, count, location, flags, per_thread(stream));
}
VGPU_DRIVER_API CUresult cuMemPrefetchAsync(CUdeviceptr ptr, size_t count, CUdevice device, CUstream stream) {
  return prefetch_v2(ptr, count, location_of(device), 0, stream);
}
VGPU_DRIVER_API CUresult cuMemPrefetchAsync_ptsz(CUdeviceptr ptr, size_t count, CUdevice device, CUstream stream) {
  return prefetch_v2(ptr, count, location_of(device), 0, per_thread(stream));
}

VGPU_DRIVER_API CUresult cuMemAdvise_v2(CUdeviceptr ptr, size_t count, CUmem_advise advice, CUmemLocation location) {
  return advise(ptr, count, advice, location);
}
VGPU_DRIVER_API CUresult cuMemAdvise(CUdeviceptr ptr, size_t count, CUmem_advise advice, CUdevice device) {
  return advise(ptr, count, advice, location_of(device));
}

VGPU_DRIVER_API CUresult cuStreamAttachMemAsync(CUstream stream, CUdeviceptr ptr, size_t length, unsigned flags) {
  return attach(stream, ptr, length, flags);
}
VGPU_DRIVER_API CUresult cuStreamAttachMemAsync_ptsz(CUstream stream, CUdeviceptr ptr, size_t length, unsigned flags) {
  return attach(per_thread(stream), ptr, length, flags);
}
