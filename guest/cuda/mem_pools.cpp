// Stream-ordered memory pools, in the guest (docs/design.md §21; the rules are in mem_pools.h).
//
// Why here and not in vgpud: a pool is bookkeeping over ordinary allocations and events, which
// the protocol already carries and vgpud already charges to the tenant; the guest knows which
// stream freed what, so most allocations are answered without a round trip (a block freed on
// the same stream), and a free is one posted event record.
//
// One mutex guards every pool. It is held across short answered calls (an event made or
// queried) but not across a wait (a stream or event synchronize) or an allocation or free of
// device memory: blocks are taken out of their pool first, then waited for and freed.
#include "guest/cuda/mem_pools.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "guest/client/log.h"
#include "guest/cuda/api.h"
#include "guest/cuda/capture.h"
#include "guest/cuda/graph_memory.h"
#include "guest/cuda/context.h"
#include "guest/cuda/device_memory.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/handles.h"
#include "guest/cuda/mem_pool_state.h"
#include "guest/cuda/streams.h"
#include "vgpu/protocol/limits.h"
#include "vgpu/protocol/messages.h"

namespace vgpu::cuda {
using namespace pool_state;

namespace {

// How many events one allocation asks vgpud about (an EVENT_QUERY each): bounds its cost when
// many cached blocks wait for other streams.
constexpr int kMaxQueries = 8;
// A cached block serves a request of at least half its size, or one at most this much smaller:
// blocks are never split, and a small request should not pin a large block.
constexpr size_t kReuseSlack = size_t{1} << 20;

// ---- vgpud's streams and events, on their own devices

CUresult make_event(uint32_t device, FreeEvent* out) {
  guest::Channel::set_thread_device(device);
  const proto::EventCreateRequest request{CU_EVENT_DISABLE_TIMING, 0};
  proto::EventCreateReply reply{};
  const guest::CallResult r = channel()->call(proto::CallId::EventCreate, {{&request, sizeof request}},
                                              std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
  if (r.status != 0) return to_cu_result(r.status);
  if (r.payload_size < sizeof reply || reply.event == 0) return CUDA_ERROR_UNKNOWN;
  *out = FreeEvent{reply.event, device, device_generation(device)};
  return CUDA_SUCCESS;
}

CUresult event_call(proto::CallId id, const FreeEvent& e) {
  guest::Channel::set_thread_device(e.device);
  const proto::EventRequest request{e.wire, 0};
  return to_cu_result(channel()->call(id, {{&request, sizeof request}}, {}).status);
}

int32_t post_record(const FreeEvent& e, const StreamKey& s) {
  guest::Channel::set_thread_device(s.device);
  proto::EventRecordRequest request{};
  request.event = e.wire;
  request.stream = s.wire;
  return channel()->post(proto::CallId::EventRecord, {{&request, sizeof request}});
}

// The allocating stream `s` waits for `e`: on the GPU when both are on one device, else here.
CUresult wait_for(const StreamKey& s, const FreeEvent& e) {
  if (e.device != s.device) return event_call(proto::CallId::EventSynchronize, e);
  guest::Channel::set_thread_device(s.device);
  const proto::StreamWaitEventRequest request{s.wire, e.wire, 0};
  return to_cu_result(channel()->post(proto::CallId::StreamWaitEvent, {{&request, sizeof request}}));
}

CUresult synchronize(const StreamKey& s) {
  guest::Channel::set_thread_device(s.device);
  const proto::StreamRequest request{s.wire};
  return to_cu_result(channel()->call(proto::CallId::StreamSynchronize, {{&request, sizeof request}}, {}).status);
}

// Call after enter_context: a default stream is the current context's device's.
CUresult stream_key(CUstream stream, const Context& c, StreamKey* key) {
  const StreamObject* s = stream_object(stream);
  if (s == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  const bool legacy = stream == nullptr || stream == CU_STREAM_LEGACY;
  const bool created = !legacy && stream != CU_STREAM_PER_THREAD;
  key->device = created ? s->device : c.device;
  key->legacy = legacy;
  key->blocking = !created || (s->flags & CU_STREAM_NON_BLOCKING) == 0;
  guest::Channel::set_thread_device(key->device);
  return wire_stream(stream, &key->wire) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

// ---- the pools, under the mutex




// Gives `b` an event on `key`'s device; false when none could be made.
bool ensure_event_locked(Pools& all, Block& b, const StreamKey& key) {
  if (b.event.valid() && b.event.device == key.device) return true;
  spare(all, b.event);
  b.event = FreeEvent{};
  std::vector<FreeEvent>& spares = all.spare_events[key.device];
  while (!spares.empty()) {
    const FreeEvent e = spares.back();
    spares.pop_back();
    if (e.valid()) {
      b.event = e;
      return true;
    }
  }
  return make_event(key.device, &b.event) == CUDA_SUCCESS;
}

// Whether work on `alloc` queued from now on runs after everything queued before `freed_on`'s free.
bool ordered_after(const Pool& pool, const StreamKey& freed_on, const StreamKey& alloc) {
  if (freed_on.same(alloc)) return true;
  if (!pool.follow_event_dependencies || freed_on.device != alloc.device) return false;
  return (freed_on.legacy && alloc.blocking) || (alloc.legacy && freed_on.blocking);
}

bool fits(size_t block, size_t size) { return block >= size && (block / 2 <= size || block - size <= kReuseSlack); }

// A cached block (at `it`) leaves the cache, to the program (`size` bytes asked for) or to be freed.
void uncache(Pool& pool, std::multimap<size_t, CUdeviceptr>::iterator it) {
  pool.cached_bytes -= it->first;
  pool.cached.erase(it);
}
void hand_out(Pool& pool, Block& b, size_t size) {
  b.in_use = true;
  b.used = size;
  pool.used += size;
  pool.used_high = std::max(pool.used_high, pool.used);
}

// The best-fitting cached block that `key` may use at once: freed in its stream order, or
// (opportunistically) whose free has completed.
bool reuse_locked(Pool& pool, size_t size, const StreamKey& key, CUdeviceptr* out) {
  int queries = 0;
  for (auto it = pool.cached.lower_bound(size); it != pool.cached.end() && fits(it->first, size); ++it) {
    Block& b = pool.blocks.at(it->second);
    bool usable = ordered_after(pool, b.freed_on, key);
    if (!usable && pool.allow_opportunistic) {
      if (!b.idle && b.event.valid() && queries < kMaxQueries) {
        ++queries;
        b.idle = event_call(proto::CallId::EventQuery, b.event) == CUDA_SUCCESS;
      }
      usable = b.idle;
    }
    if (!usable) continue;
    *out = it->second;
    uncache(pool, it);
    hand_out(pool, b, size);
    return true;
  }
  return false;
}

// Any cached block that fits, for a stream that will wait for its free (internal dependency).
bool reuse_after_wait_locked(Pool& pool, size_t size, const StreamKey& key, CUdeviceptr* out, FreeEvent* wait) {
  auto it = pool.cached.lower_bound(size);
  if (it == pool.cached.end() || !fits(it->first, size)) return false;
  Block& b = pool.blocks.at(it->second);
  *wait = b.idle || ordered_after(pool, b.freed_on, key) || !b.event.valid() ? FreeEvent{} : b.event;
  *out = it->second;
  uncache(pool, it);
  hand_out(pool, b, size);
  return true;
}


// Cached blocks above the release threshold whose frees have completed (asking vgpud at most
// `queries` times), largest first.
std::vector<Released> take_releasable_locked(Pools& all, Pool& pool, int queries) {
  std::vector<Released> out;
  if (pool.cached_bytes <= pool.release_threshold) return out;
  std::vector<CUdeviceptr> largest_first;
  for (auto it = pool.cached.rbegin(); it != pool.cached.rend(); ++it) largest_first.push_back(it->second);
  Pool* p = &pool;
  for (CUdeviceptr ptr : largest_first) {
    if (p == nullptr || p->cached_bytes <= p->release_threshold) break;
    Block& b = p->blocks.at(ptr);
    if (!b.idle && b.event.valid() && queries > 0) {
      --queries;
      b.idle = event_call(proto::CallId::EventQuery, b.event) == CUDA_SUCCESS;
    }
    if (b.idle) out.push_back(take_locked(all, p, ptr, false));
  }
  return out;
}


// After a synchronize: cached blocks `done` says are complete are idle, and every pool gives
// back what it caches beyond its release threshold, as the driver does at a synchronization.
template <typename Done>
void release_completed(Done done) {
  Pools& all = pools();
  Lock lock(all.mutex);
  std::vector<Released> released;
  for (Pool* p : all.live) {
    if (p->kind != HandleKind::MemPool || p->cached.empty()) continue;  // a live pool is never deleted here
    for (auto& entry : p->blocks)
      if (!entry.second.in_use && done(entry.second)) entry.second.idle = true;
    for (const Released& r : take_releasable_locked(all, *p, 0)) released.push_back(r);
  }
  lock.unlock();
  if (!released.empty()) (void)release(all, released);
}

}  // namespace

// ---- the pools' state (mem_pool_state.h), shared with mem_pool_admin.cpp

// Never destroyed: programs free stream-ordered memory from atexit handlers.
Pools& pool_state::pools() {
  static auto* p = new Pools;
  return *p;
}

Pool* pool_state::live_pool(Pools& all, CUmemoryPool handle) {
  auto* p = reinterpret_cast<Pool*>(handle);
  return p != nullptr && all.live.count(p) != 0 && p->kind == HandleKind::MemPool ? p : nullptr;
}

Pool* pool_state::default_pool_locked(Pools& all, uint32_t device) {
  if (all.defaults[device] == nullptr) {
    auto* p = new Pool;
    p->device = device;
    p->is_default = true;
    all.live.insert(p);
    all.defaults[device] = p;
    all.current[device] = p;
  }
  return all.defaults[device];
}

Pool* pool_state::current_pool_locked(Pools& all, uint32_t device) {
  default_pool_locked(all, device);
  return all.current[device];
}

void pool_state::spare(Pools& all, const FreeEvent& e) {
  if (e.valid()) all.spare_events[e.device].push_back(e);
}

// Takes a block out of its pool (a cached one or, wait false, one in use); deletes a destroyed
// pool with it when it was the last.
Released pool_state::take_locked(Pools& all, Pool*& pool, CUdeviceptr ptr, bool wait) {
  auto it = pool->blocks.find(ptr);
  Block& b = it->second;
  if (!b.in_use) {
    auto range = pool->cached.equal_range(b.size);
    for (auto c = range.first; c != range.second; ++c)
      if (c->second == ptr) {
        uncache(*pool, c);
        break;
      }
  } else {
    pool->used -= b.used;
  }
  pool->reserved -= b.size;
  Released r{ptr, b.event, wait && !b.idle && b.event.valid()};
  if (!r.wait) {
    spare(all, b.event);
    r.event = FreeEvent{};
  }
  pool->blocks.erase(it);
  all.owners.erase(ptr);
  if (pool->kind == HandleKind::Dead && pool->blocks.empty()) {
    all.live.erase(pool);
    delete pool;
    pool = nullptr;
  }
  return r;
}

// Frees what was taken out, each block after its free's event; then its event is spare.
CUresult pool_state::release(Pools& all, const std::vector<Released>& blocks) {
  CUresult first = CUDA_SUCCESS;
  for (const Released& r : blocks) {
    if (r.wait) (void)event_call(proto::CallId::EventSynchronize, r.event);
    if (CUresult e = free_device_memory(r.ptr); e != CUDA_SUCCESS && first == CUDA_SUCCESS) first = e;
  }
  Lock lock(all.mutex);
  for (const Released& r : blocks) spare(all, r.event);
  return first;
}

void mem_pools_synchronized(uint32_t device) {
  release_completed([&](const Block& b) { return b.freed_on.device == device; });
}

void mem_pools_stream_synchronized(CUstream stream) {
  Context* c = current_context();
  StreamKey key;
  if (c == nullptr || stream_key(stream, *c, &key) != CUDA_SUCCESS) return;
  release_completed([&](const Block& b) { return b.freed_on.same(key); });
}

CUresult pool_alloc_async(CUdeviceptr* out, size_t size, CUmemoryPool handle, CUstream stream) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  guest::Channel* ch = nullptr;
  Context* c = nullptr;
  if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
  StreamKey key;
  if (CUresult r = stream_key(stream, *c, &key); r != CUDA_SUCCESS) return r;
  if (size == 0) {  // as the driver: nothing, and a null pointer
    *out = 0;
    return CUDA_SUCCESS;
  }
  // In a capture, an allocation node of the capture's graph, made by vgpud's driver
  // (graph_memory.h): outside the pools, as the driver's. The capture check is a round trip only
  // while a capture is open.
  uint64_t capture = 0;
  if (CUresult r = capture_of_stream(key.wire, &capture); r != CUDA_SUCCESS) return r;
  if (capture != 0) return capture_graph_memory(c, key.device, key.wire, size, out);
  Pools& all = pools();
  Lock lock(all.mutex);
  Pool* pool = handle == nullptr ? current_pool_locked(all, key.device) : live_pool(all, handle);
  if (pool == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (reuse_locked(*pool, size, key, out)) return CUDA_SUCCESS;

  // A new block, in the pool's device's context; first what the pool holds beyond its threshold goes.
  const uint32_t device = pool->device;
  const bool over_max = pool->max_size != 0 && pool->reserved + size > pool->max_size;
  const std::vector<Released> released = take_releasable_locked(all, *pool, kMaxQueries);
  lock.unlock();
  CUresult r = release(all, released);
  CUdeviceptr ptr = 0;
  if (r == CUDA_SUCCESS)
    r = over_max ? CUDA_ERROR_OUT_OF_MEMORY
                 : allocate_device_memory(c->device == device ? c : primary_context(device), size, &ptr);
  lock.lock();
  pool = handle == nullptr ? current_pool_locked(all, key.device) : live_pool(all, handle);
  if (r == CUDA_SUCCESS) {
    if (pool == nullptr || pool->device != device) {  // destroyed meanwhile by another thread
      lock.unlock();
      (void)free_device_memory(ptr);
      return CUDA_ERROR_INVALID_VALUE;
    }
    Block& b = pool->blocks[ptr];
    b.size = size;
    pool->reserved += size;
    pool->reserved_high = std::max(pool->reserved_high, pool->reserved);
    hand_out(*pool, b, size);
    all.owners[ptr] = pool;
    *out = ptr;
    return CUDA_SUCCESS;
  }
  // Out of memory: a block whose free another stream has yet to reach, after that stream.
  FreeEvent wait;
  if (r != CUDA_ERROR_OUT_OF_MEMORY || pool == nullptr || !pool->allow_internal_dependencies ||
      !reuse_after_wait_locked(*pool, size, key, out, &wait))
    return r;
  lock.unlock();
  return wait.wire != 0 ? wait_for(key, wait) : CUDA_SUCCESS;
}

CUresult pool_free_async(CUdeviceptr ptr, CUstream stream, bool* handled) {
  *handled = true;
  guest::Channel* ch = nullptr;
  Context* c = nullptr;
  if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
  StreamKey key;
  if (CUresult r = stream_key(stream, *c, &key); r != CUDA_SUCCESS) return r;
  // In a capture the driver would make a node that frees the memory at each launch; vgpu frees
  // memory that is not graph memory when the graph and the executable graphs made from it are
  // gone.
  uint64_t capture = 0;
  if (CUresult r = capture_of_stream(key.wire, &capture); r != CUDA_SUCCESS) return r;
  if (capture != 0) {
    if (ptr == 0) return CUDA_SUCCESS;
    // Graph memory: a free node of the capture's graph, made by cuMemFreeAsync (graph_memory.h).
    if (is_graph_memory(ptr)) {
      *handled = false;
      return CUDA_SUCCESS;
    }
    const uint64_t id = add_graph_resource(
        [](void* p) { (void)cuMemFree_v2(static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(p))); },
        reinterpret_cast<void*>(static_cast<uintptr_t>(ptr)));
    capture_keeps_host_function(capture, id, /*runs=*/false);
    return CUDA_SUCCESS;
  }
  if (ptr == 0) return CUDA_SUCCESS;
  Pools& all = pools();
  Lock lock(all.mutex);
  auto owner = all.owners.find(ptr);
  if (owner == all.owners.end()) {
    *handled = false;
    return CUDA_SUCCESS;
  }
  Pool* pool = owner->second;
  Block& b = pool->blocks.at(ptr);
  if (!b.in_use) return CUDA_ERROR_INVALID_VALUE;  // freed already
  bool recorded = false;
  if (pool->kind != HandleKind::Dead && ensure_event_locked(all, b, key)) {
    if (int32_t st = post_record(b.event, key); st != 0) return to_cu_result(st);
    recorded = true;
  }
  if (!recorded) {
    // Its pool is destroyed, or no event could be made (vgpud's limit): the free waits for
    // the stream, then the block is freed or cached as idle.
    lock.unlock();
    if (CUresult r = synchronize(key); r != CUDA_SUCCESS) return r;
    lock.lock();
    owner = all.owners.find(ptr);
    if (owner == all.owners.end() || !owner->second->blocks.at(ptr).in_use) return CUDA_ERROR_INVALID_VALUE;
    pool = owner->second;
    if (pool->kind == HandleKind::Dead) {
      take_locked(all, pool, ptr, false);
      lock.unlock();
      return free_device_memory(ptr);
    }
  }
  Block& freed = pool->blocks.at(ptr);
  freed.in_use = false;
  freed.idle = !recorded;
  freed.freed_on = key;
  pool->used -= freed.used;
  pool->cached.emplace(freed.size, ptr);
  pool->cached_bytes += freed.size;
  const std::vector<Released> released = take_releasable_locked(all, *pool, 0);
  lock.unlock();
  return release(all, released);
}

CUresult free_pool_block(CUdeviceptr ptr, bool* handled) {
  Pools& all = pools();
  Lock lock(all.mutex);
  auto owner = all.owners.find(ptr);
  *handled = owner != all.owners.end();
  if (!*handled) return CUDA_SUCCESS;
  Pool* pool = owner->second;
  if (!pool->blocks.at(ptr).in_use) return CUDA_ERROR_INVALID_VALUE;  // freed already
  take_locked(all, pool, ptr, false);
  lock.unlock();
  return free_device_memory(ptr);
}

}  // namespace vgpu::cuda
