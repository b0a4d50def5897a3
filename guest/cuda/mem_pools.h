// Stream-ordered memory pools (cuMemAllocAsync, cuMemFreeAsync, CUmemoryPool), kept entirely in
// the guest: docs/design.md §21.
//
// A pool belongs to one device and holds blocks: ordinary device allocations (the path cuMemAlloc
// takes, so vgpud charges them to the tenant's device memory like any other), each either in
// use by the program or cached after a stream-ordered free. A block is never split. A cached
// block is handed out again (best fit) only when nothing queued before its free can still touch
// it from the allocating stream's point of view:
//  - it was freed on the allocating stream, or on a stream ordered with it (the legacy stream and
//    a blocking stream of the same device; REUSE_FOLLOW_EVENT_DEPENDENCIES);
//  - the event recorded on the freeing stream at the free has completed
//    (REUSE_ALLOW_OPPORTUNISTIC), or the block was freed synchronously;
//  - only when a new block cannot be had (out of memory), the allocating stream is made to wait
//    for that event (REUSE_ALLOW_INTERNAL_DEPENDENCIES), as the driver does.
// Otherwise a new block is allocated. Cached blocks above the pool's release threshold whose
// frees have completed are given back to the device after a stream or context synchronize
// and before a pool grows; cuMemPoolTrimTo gives back what it may, waiting for the frees'
// events. A primary context reset ends the
// device's allocations and events: the pools forget them (forget_mem_pools).
#pragma once
#include <cuda.h>

#include <cstddef>
#include <cstdint>

namespace vgpu::cuda {

// The device's default pool and its current one (cuDeviceSetMemPool); device checked by the
// caller (below device_count()).
CUmemoryPool default_mem_pool(uint32_t device);
CUmemoryPool current_mem_pool(uint32_t device);
// CUDA_ERROR_INVALID_VALUE for a pool that is not one of `device`'s.
CUresult set_current_mem_pool(uint32_t device, CUmemoryPool pool);

// cuMemPoolCreate with checked properties (a device pool of pinned memory, no IPC handles);
// max_size 0: no bound but the device's.
CUresult create_mem_pool(uint32_t device, size_t max_size, CUmemoryPool* out);
// cuMemPoolDestroy: CUDA_ERROR_INVALID_VALUE for a default pool or a handle that is not a pool.
CUresult destroy_mem_pool(CUmemoryPool pool);
// The pool's device; false for a handle that is not a live pool.
bool mem_pool_device(CUmemoryPool pool, uint32_t* device);

// cuMemAllocFromPoolAsync (pool null: the current pool of the stream's device, cuMemAllocAsync).
// Runs in the calling thread's context.
CUresult pool_alloc_async(CUdeviceptr* out, size_t size, CUmemoryPool pool, CUstream stream);
// cuMemFreeAsync of a block of a pool. *handled false: `ptr` is no pool's, nothing was done.
CUresult pool_free_async(CUdeviceptr ptr, CUstream stream, bool* handled);
// cuMemFree of a block of a pool: the block leaves its pool and is freed as any allocation
// (cuMemFree waits for the device). *handled false: `ptr` is no pool's.
CUresult free_pool_block(CUdeviceptr ptr, bool* handled);

CUresult trim_mem_pool(CUmemoryPool pool, size_t min_bytes_to_keep);
CUresult set_mem_pool_attribute(CUmemoryPool pool, CUmemPool_attribute attribute, const void* value);
CUresult get_mem_pool_attribute(CUmemoryPool pool, CUmemPool_attribute attribute, void* value);

// A context synchronize on `device`, a stream synchronize, returned successfully: the frees
// queued there have completed, and the pools give back what they cache beyond their release
// thresholds, as the driver does at a synchronization.
void mem_pools_synchronized(uint32_t device);
void mem_pools_stream_synchronized(CUstream stream);

// The device's primary context was reset: its pools' blocks, and events on it, are gone.
void forget_mem_pools(uint32_t device);

}  // namespace vgpu::cuda
