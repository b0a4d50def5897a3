// Stream-ordered allocation and memory pools: the entry points (the pools are mem_pools.h's).
// Only device pools of pinned memory without IPC handles are offered; host and managed pools,
// access from other devices and sharing a pool with another process answer
// CUDA_ERROR_NOT_SUPPORTED and say so once.
#include <atomic>

#include "guest/client/log.h"
#include "guest/cuda/graph_memory.h"
#include "guest/cuda/api.h"
#include "guest/cuda/device_memory.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/mem_pools.h"
#include "guest/cuda/streams.h"

using namespace vgpu::cuda;
namespace guest = vgpu::guest;

namespace {

CUresult not_supported(std::atomic<bool>& said, const char* what) {
  if (!said.exchange(true)) guest::log(guest::LogLevel::Warn, "%s is not supported by vgpu", what);
  return CUDA_ERROR_NOT_SUPPORTED;
}

CUresult check_device(CUdevice dev) {
  if (CUresult r = init_status(); r != CUDA_SUCCESS) return r;
  if (dev < 0 || static_cast<uint32_t>(dev) >= device_count()) return CUDA_ERROR_INVALID_DEVICE;
  return CUDA_SUCCESS;
}

// A memory location and allocation type the pools serve: a device's pinned memory.
CUresult pool_location(const CUmemLocation* location, CUmemAllocationType type, uint32_t* device,
                       const char* entry_point) {
  if (CUresult r = init_status(); r != CUDA_SUCCESS) return r;
  if (location == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const bool host = location->type == CU_MEM_LOCATION_TYPE_HOST || location->type == CU_MEM_LOCATION_TYPE_HOST_NUMA;
  if (type == CU_MEM_ALLOCATION_TYPE_MANAGED || (type == CU_MEM_ALLOCATION_TYPE_PINNED && host)) {
    static std::atomic<bool> said{false};
    (void)entry_point;
    return not_supported(said, "a memory pool of host or managed memory");
  }
  if (type != CU_MEM_ALLOCATION_TYPE_PINNED || location->type != CU_MEM_LOCATION_TYPE_DEVICE)
    return CUDA_ERROR_INVALID_VALUE;
  if (location->id < 0 || static_cast<uint32_t>(location->id) >= device_count()) return CUDA_ERROR_INVALID_VALUE;
  *device = static_cast<uint32_t>(location->id);
  return CUDA_SUCCESS;
}

CUresult free_async(CUdeviceptr ptr, CUstream stream) {
  bool pool_block = false;
  CUresult r = pool_free_async(ptr, stream, &pool_block);
  if (pool_block) return r;
  // Graph memory: freed in stream order by vgpud's driver (in a capture, a free node).
  bool graph = false;
  if (r = free_graph_memory(ptr, &stream, &graph); graph) return r;
  // Memory from cuMemAlloc: the free waits for the work queued before it on the stream, so
  // nothing queued can still touch the memory when it goes.
  if (r = cuStreamSynchronize(stream); r != CUDA_SUCCESS) return r;
  return free_device_memory(ptr);
}

}  // namespace

// ---- a device's pools

VGPU_DRIVER_API CUresult cuDeviceGetDefaultMemPool(CUmemoryPool* pool, CUdevice dev) {
  if (pool == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    if (CUresult r = check_device(dev); r != CUDA_SUCCESS) return r;
    *pool = default_mem_pool(static_cast<uint32_t>(dev));
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuDeviceGetMemPool(CUmemoryPool* pool, CUdevice dev) {
  if (pool == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    if (CUresult r = check_device(dev); r != CUDA_SUCCESS) return r;
    *pool = current_mem_pool(static_cast<uint32_t>(dev));
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuDeviceSetMemPool(CUdevice dev, CUmemoryPool pool) {
  return guarded([&] {
    if (CUresult r = check_device(dev); r != CUDA_SUCCESS) return r;
    return set_current_mem_pool(static_cast<uint32_t>(dev), pool);
  });
}

VGPU_DRIVER_API CUresult cuMemGetDefaultMemPool(CUmemoryPool* pool, CUmemLocation* location, CUmemAllocationType type) {
  if (pool == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    uint32_t device = 0;
    if (CUresult r = pool_location(location, type, &device, "cuMemGetDefaultMemPool"); r != CUDA_SUCCESS) return r;
    *pool = default_mem_pool(device);
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuMemGetMemPool(CUmemoryPool* pool, CUmemLocation* location, CUmemAllocationType type) {
  if (pool == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    uint32_t device = 0;
    if (CUresult r = pool_location(location, type, &device, "cuMemGetMemPool"); r != CUDA_SUCCESS) return r;
    *pool = current_mem_pool(device);
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuMemSetMemPool(CUmemLocation* location, CUmemAllocationType type, CUmemoryPool pool) {
  return guarded([&] {
    uint32_t device = 0;
    if (CUresult r = pool_location(location, type, &device, "cuMemSetMemPool"); r != CUDA_SUCCESS) return r;
    return set_current_mem_pool(device, pool);
  });
}

// ---- pools

VGPU_DRIVER_API CUresult cuMemPoolCreate(CUmemoryPool* pool, const CUmemPoolProps* props) {
  if (pool == nullptr || props == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    uint32_t device = 0;
    if (CUresult r = pool_location(&props->location, props->allocType, &device, "cuMemPoolCreate"); r != CUDA_SUCCESS)
      return r;
    if (props->handleTypes != CU_MEM_HANDLE_TYPE_NONE) {
      static std::atomic<bool> said{false};
      return not_supported(said, "cuMemPoolCreate: a pool with IPC handle types");
    }
    if (props->usage != 0) {
      static std::atomic<bool> said{false};
      return not_supported(said, "cuMemPoolCreate: a pool usage (hardware decompression)");
    }
    return create_mem_pool(device, props->maxSize, pool);
  });
}

VGPU_DRIVER_API CUresult cuMemPoolDestroy(CUmemoryPool pool) {
  return guarded([&] {
    if (CUresult r = init_status(); r != CUDA_SUCCESS) return r;
    return destroy_mem_pool(pool);
  });
}

VGPU_DRIVER_API CUresult cuMemPoolTrimTo(CUmemoryPool pool, size_t min_bytes_to_keep) {
  return guarded([&] { return trim_mem_pool(pool, min_bytes_to_keep); });
}

VGPU_DRIVER_API CUresult cuMemPoolSetAttribute(CUmemoryPool pool, CUmemPool_attribute attr, void* value) {
  return guarded([&] { return set_mem_pool_attribute(pool, attr, value); });
}

VGPU_DRIVER_API CUresult cuMemPoolGetAttribute(CUmemoryPool pool, CUmemPool_attribute attr, void* value) {
  return guarded([&] { return get_mem_pool_attribute(pool, attr, value); });
}

// A pool's memory is its device's: read-write there, and (no peer mappings of pools) nowhere else.
VGPU_DRIVER_API CUresult cuMemPoolSetAccess(CUmemoryPool pool, const CUmemAccessDesc* map, size_t count) {
  return guarded([&] {
    if (CUresult r = init_status(); r != CUDA_SUCCESS) return r;
    uint32_t device = 0;
    if (!mem_pool_device(pool, &device) || (map == nullptr && count != 0)) return CUDA_ERROR_INVALID_VALUE;
    for (size_t i = 0; i < count; ++i) {
      const CUmemAccessDesc& d = map[i];
      // The driver's answers: a device it does not have, or the pool's own device's access taken
      // away, is CUDA_ERROR_INVALID_DEVICE.
      if (d.location.type != CU_MEM_LOCATION_TYPE_DEVICE) return CUDA_ERROR_INVALID_VALUE;
      if (d.location.id < 0 || static_cast<uint32_t>(d.location.id) >= device_count()) return CUDA_ERROR_INVALID_DEVICE;
      if (static_cast<uint32_t>(d.location.id) == device) {
        if (d.flags != CU_MEM_ACCESS_FLAGS_PROT_READWRITE) return CUDA_ERROR_INVALID_DEVICE;
        continue;
      }
      static std::atomic<bool> said{false};
      return not_supported(said, "cuMemPoolSetAccess: access to a pool from another device");
    }
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuMemPoolGetAccess(CUmemAccess_flags* flags, CUmemoryPool pool, CUmemLocation* location) {
  if (flags == nullptr || location == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    if (CUresult r = init_status(); r != CUDA_SUCCESS) return r;
    uint32_t device = 0;
    if (!mem_pool_device(pool, &device) || location->type != CU_MEM_LOCATION_TYPE_DEVICE || location->id < 0 ||
        static_cast<uint32_t>(location->id) >= device_count())
      return CUDA_ERROR_INVALID_VALUE;
    *flags = static_cast<uint32_t>(location->id) == device ? CU_MEM_ACCESS_FLAGS_PROT_READWRITE
                                                            : CU_MEM_ACCESS_FLAGS_PROT_NONE;
    return CUDA_SUCCESS;
  });
}

// ---- sharing pools between processes: a guest's memory is vgpud's, in another process

VGPU_DRIVER_API CUresult cuMemPoolExportToShareableHandle(void*, CUmemoryPool, CUmemAllocationHandleType,
                                                          unsigned long long) {
  static std::atomic<bool> said{false};
  return not_supported(said, "cuMemPoolExportToShareableHandle (memory pool IPC)");
}
VGPU_DRIVER_API CUresult cuMemPoolImportFromShareableHandle(CUmemoryPool*, void*, CUmemAllocationHandleType,
                                                            unsigned long long) {
  static std::atomic<bool> said{false};
  return not_supported(said, "cuMemPoolImportFromShareableHandle (memory pool IPC)");
}
VGPU_DRIVER_API CUresult cuMemPoolExportPointer(CUmemPoolPtrExportData*, CUdeviceptr) {
  static std::atomic<bool> said{false};
  return not_supported(said, "cuMemPoolExportPointer (memory pool IPC)");
}
VGPU_DRIVER_API CUresult cuMemPoolImportPointer(CUdeviceptr*, CUmemoryPool, CUmemPoolPtrExportData*) {
  static std::atomic<bool> said{false};
  return not_supported(said, "cuMemPoolImportPointer (memory pool IPC)");
}

// ---- stream-ordered allocation

VGPU_DRIVER_API CUresult cuMemAllocAsync(CUdeviceptr* out, size_t size, CUstream stream) {
  return guarded([&] { return pool_alloc_async(out, size, nullptr, stream); });
}
VGPU_DRIVER_API CUresult cuMemAllocFromPoolAsync(CUdeviceptr* out, size_t size, CUmemoryPool pool, CUstream stream) {
  if (pool == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] { return pool_alloc_async(out, size, pool, stream); });
}
VGPU_DRIVER_API CUresult cuMemFreeAsync(CUdeviceptr ptr, CUstream stream) {
  return guarded([&] { return free_async(ptr, stream); });
}

VGPU_DRIVER_API CUresult cuMemAllocAsync_ptsz(CUdeviceptr* out, size_t size, CUstream stream) {
  return cuMemAllocAsync(out, size, per_thread(stream));
}
VGPU_DRIVER_API CUresult cuMemAllocFromPoolAsync_ptsz(CUdeviceptr* out, size_t size, CUmemoryPool pool,
                                                      CUstream stream) {
  return cuMemAllocFromPoolAsync(out, size, pool, per_thread(stream));
}
VGPU_DRIVER_API CUresult cuMemFreeAsync_ptsz(CUdeviceptr ptr, CUstream stream) {
  return cuMemFreeAsync(ptr, per_thread(stream));
}
