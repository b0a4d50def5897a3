// The state of the guest's stream-ordered memory pools (docs/design.md §21), shared by the
// stream-ordered path (mem_pools.cpp: allocations, frees, reuse) and the pools' administration
// (mem_pool_admin.cpp: create, destroy, attributes, trim, device reset). Only those two include it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "guest/cuda/api.h"
#include "guest/cuda/context.h"
#include "guest/cuda/handles.h"
#include "vgpu/protocol/limits.h"

namespace vgpu::cuda::pool_state {

// A stream as the pools tell streams apart: vgpud's id, on the device whose legacy stream
// kStreamLegacy names.
struct StreamKey {
  uint32_t device = 0;
  uint64_t wire = 0;
  bool legacy = false;
  bool blocking = false;  // ordered with the legacy stream (not CU_STREAM_NON_BLOCKING)
  bool same(const StreamKey& o) const { return device == o.device && wire == o.wire; }
};

// One of vgpud's events (CU_EVENT_DISABLE_TIMING), made on a device in a generation of it (a
// reset ends it); wire 0: none.
struct FreeEvent {
  uint32_t wire = 0;
  uint32_t device = 0;
  uint64_t generation = 0;
  bool valid() const { return wire != 0 && generation == device_generation(device); }
};

struct Block {
  size_t size = 0;
  size_t used = 0;  // while in use: the bytes asked for (USED_MEM counts those, as the driver's)
  bool in_use = true;
  StreamKey freed_on;  // the stream of its last free
  bool idle = false;   // cached, and nothing queued before its free is left (its event completed)
  FreeEvent event;     // recorded on freed_on at the free; kept for the block's next free
};

struct Pool {
  HandleKind kind = HandleKind::MemPool;  // Dead once destroyed, while blocks are still in use
  uint32_t device = 0;
  bool is_default = false;
  size_t max_size = 0;  // CUmemPoolProps::maxSize; 0: none
  bool follow_event_dependencies = true;
  bool allow_opportunistic = true;
  bool allow_internal_dependencies = true;
  uint64_t release_threshold = 0;
  uint64_t used = 0, used_high = 0, reserved = 0, reserved_high = 0;
  std::map<CUdeviceptr, Block> blocks;        // in use and cached
  std::multimap<size_t, CUdeviceptr> cached;  // the cached ones, by size
  uint64_t cached_bytes = 0;                  // their sizes' sum
};

// Never destroyed (pools()): programs free stream-ordered memory from atexit handlers.
struct Pools {
  std::mutex mutex;
  std::unordered_set<Pool*> live;  // every pool object, the destroyed ones with blocks in use too
  std::unordered_map<CUdeviceptr, Pool*> owners;  // every block's pool
  Pool* defaults[limits::kMaxDevices] = {};
  Pool* current[limits::kMaxDevices] = {};
  std::vector<FreeEvent> spare_events[limits::kMaxDevices];  // made, held by no block
};
Pools& pools();
using Lock = std::unique_lock<std::mutex>;

// A block taken out of its pool, to be freed (after waiting for its free's event).
struct Released {
  CUdeviceptr ptr = 0;
  FreeEvent event;
  bool wait = false;
};

// ---- under the mutex (defined in mem_pools.cpp)

// The pool `handle` names, if it is live and not destroyed.
Pool* live_pool(Pools& all, CUmemoryPool handle);
inline CUmemoryPool handle_of(Pool* p) { return reinterpret_cast<CUmemoryPool>(p); }
// The device's default pool, made at first use.
Pool* default_pool_locked(Pools& all, uint32_t device);
Pool* current_pool_locked(Pools& all, uint32_t device);
// An event no block holds any more, kept for the next block that needs one.
void spare(Pools& all, const FreeEvent& e);
// Takes a block out of its pool (a cached one or, wait false, one in use); deletes a destroyed
// pool with it when it was the last (pool is then nullptr).
Released take_locked(Pools& all, Pool*& pool, CUdeviceptr ptr, bool wait);

// ---- without the mutex

// Frees what was taken out, each block after its free's event; then its event is spare.
CUresult release(Pools& all, const std::vector<Released>& blocks);

}  // namespace vgpu::cuda::pool_state
