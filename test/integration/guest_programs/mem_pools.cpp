// Stream-ordered memory pools through vgpu's libcuda.so.1 and a real vgpud (fake driver, two
// GPUs): blocks freed and reused on one stream (the same pointer back) and across streams once
// the free completed; the reuse attributes (opportunistic, following the legacy stream's order);
// data through memsets and copies; the pool's byte counts and high watermarks, a release
// threshold (what is cached is given back at a synchronize), trimming (cuMemGetInfo sees the
// memory given back); an explicit pool, the device's current pool; a pool destroyed with a
// block in use; cuMemFree of a pool's block; a pool on
// one device used from a stream of the other, and a reset of that other device; capture,
// bad handles, other devices' access, IPC and a default pool's destruction refused.
//
// "limit" (a tenant with 8 MiB of device memory): what a pool caches counts against the limit,
// so a larger allocation fails with CUDA_ERROR_OUT_OF_MEMORY until the pool is trimmed; a block
// another stream freed is reused through a dependency when nothing else fits.
#include <cuda.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "guest_check.h"

// The per-thread-default-stream entry points (cuda.h maps the plain names to them only under
// CUDA_API_PER_THREAD_DEFAULT_STREAM).
extern "C" CUresult cuMemAllocAsync_ptsz(CUdeviceptr* dptr, size_t bytesize, CUstream hStream);
extern "C" CUresult cuMemFreeAsync_ptsz(CUdeviceptr dptr, CUstream hStream);

namespace {

constexpr size_t kMiB = size_t{1} << 20;

cuuint64_t attr(CUmemoryPool pool, CUmemPool_attribute a) {
  cuuint64_t v = 0;
  CU_CHECK(cuMemPoolGetAttribute(pool, a, &v));
  return v;
}
int flag(CUmemoryPool pool, CUmemPool_attribute a) {
  int v = -1;
  CU_CHECK(cuMemPoolGetAttribute(pool, a, &v));
  return v;
}
void set_flag(CUmemoryPool pool, CUmemPool_attribute a, int v) { CU_CHECK(cuMemPoolSetAttribute(pool, a, &v)); }
void set_bytes(CUmemoryPool pool, CUmemPool_attribute a, cuuint64_t v) { CU_CHECK(cuMemPoolSetAttribute(pool, a, &v)); }
cuuint64_t reserved(CUmemoryPool pool) { return attr(pool, CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT); }
cuuint64_t used(CUmemoryPool pool) { return attr(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT); }

CUdeviceptr alloc(size_t bytes, CUstream s) {
  CUdeviceptr p = 0;
  CU_CHECK(cuMemAllocAsync(&p, bytes, s));
  return p;
}

// Fills `bytes` at p with `value` on stream s and reads them back there.
void fill_and_check(CUdeviceptr p, size_t bytes, uint32_t value, CUstream s) {
  CU_CHECK(cuMemsetD32Async(p, value, bytes / 4, s));
  std::vector<uint32_t> host(bytes / 4);
  CU_CHECK(cuMemcpyDtoHAsync(host.data(), p, bytes, s));
  CU_CHECK(cuStreamSynchronize(s));
  for (uint32_t v : host) EXPECT(v == value);
}

size_t free_memory() {
  size_t free = 0, total = 0;
  CU_CHECK(cuMemGetInfo(&free, &total));
  return free;
}

CUmemoryPool make_pool(int device) {
  CUmemPoolProps props{};
  props.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
  props.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  props.location.id = device;
  CUmemoryPool pool = nullptr;
  CU_CHECK(cuMemPoolCreate(&pool, &props));
  return pool;
}

// One stream: the block comes back; another: once its free completed; the counts follow.
// (A release threshold keeps the blocks across synchronizes.)
void reuse(CUmemoryPool pool, CUstream s1, CUstream s2) {
  set_bytes(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, ~cuuint64_t{0});  // keep blocks across synchronizes
  const CUdeviceptr a = alloc(kMiB, s1);
  EXPECT(used(pool) == kMiB && reserved(pool) == kMiB);
  fill_and_check(a, kMiB, 7, s1);
  CU_CHECK(cuMemFreeAsync(a, s1));
  EXPECT(used(pool) == 0 && reserved(pool) == kMiB);
  EXPECT_RC(cuMemFreeAsync(a, s1), CUDA_ERROR_INVALID_VALUE);  // freed already
  const CUdeviceptr b = alloc(kMiB, s1);
  EXPECT(b == a);
  fill_and_check(b, kMiB, 9, s1);
  // A copy between two blocks of the pool.
  const CUdeviceptr other = alloc(kMiB, s1);
  EXPECT(other != b && reserved(pool) == 2 * kMiB);
  CU_CHECK(cuMemcpyDtoDAsync(other, b, kMiB, s1));
  std::vector<uint32_t> host(kMiB / 4);
  CU_CHECK(cuMemcpyDtoHAsync(host.data(), other, kMiB, s1));
  CU_CHECK(cuStreamSynchronize(s1));
  for (uint32_t v : host) EXPECT(v == 9);
  CU_CHECK(cuMemFreeAsync(other, s1));
  CU_CHECK(cuMemFreeAsync(b, s1));
  CU_CHECK(cuStreamSynchronize(s1));
  // Another stream gets a block once its free has completed (opportunistic reuse); the pool's
  // used bytes are those asked for, its reserved ones the blocks'.
  const CUdeviceptr c = alloc(kMiB - 4096, s2);
  EXPECT((c == a || c == other) && used(pool) == kMiB - 4096 && reserved(pool) == 2 * kMiB);
  fill_and_check(c, kMiB - 4096, 11, s2);
  CU_CHECK(cuMemFreeAsync(c, s2));
  CU_CHECK(cuStreamSynchronize(s2));
  CU_CHECK(cuMemPoolTrimTo(pool, 0));
  EXPECT(reserved(pool) == 0);
  set_bytes(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, 0);
  std::printf("reuse ok\n");
}

// Without opportunistic reuse another stream gets a new block; the same stream, and a blocking
// stream after the legacy stream, get the cached one. Counts, watermarks, trimming.
void attributes(CUmemoryPool pool, CUstream s1, CUstream s2, CUstream blocking) {
  EXPECT(flag(pool, CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES) == 1);
  EXPECT(flag(pool, CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC) == 1);
  EXPECT(flag(pool, CU_MEMPOOL_ATTR_REUSE_ALLOW_INTERNAL_DEPENDENCIES) == 1);
  EXPECT(attr(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD) == 0);
  set_flag(pool, CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC, 0);
  set_flag(pool, CU_MEMPOOL_ATTR_REUSE_ALLOW_INTERNAL_DEPENDENCIES, 0);
  set_bytes(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, ~cuuint64_t{0});  // keep what is cached
  EXPECT(flag(pool, CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC) == 0);
  EXPECT(attr(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD) == ~cuuint64_t{0});

  const CUdeviceptr a = alloc(kMiB, s2);
  CU_CHECK(cuMemFreeAsync(a, s2));
  CU_CHECK(cuStreamSynchronize(s2));
  const CUdeviceptr d = alloc(kMiB, s1);  // not s2's order: a new block
  EXPECT(d != a && used(pool) == kMiB && reserved(pool) == 2 * kMiB);
  const CUdeviceptr e = alloc(kMiB, s2);  // s2's own
  EXPECT(e == a && used(pool) == 2 * kMiB && reserved(pool) == 2 * kMiB);
  EXPECT(attr(pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH) == 2 * kMiB);
  EXPECT(attr(pool, CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH) == 2 * kMiB);
  CU_CHECK(cuMemFreeAsync(d, s1));
  CU_CHECK(cuMemFreeAsync(e, s2));
  // Freed on the legacy stream, taken by a blocking stream: ordered after it.
  const CUdeviceptr l = alloc(kMiB, nullptr);
  EXPECT(used(pool) == kMiB);
  CU_CHECK(cuMemFreeAsync(l, nullptr));
  const CUdeviceptr f = alloc(kMiB, blocking);
  EXPECT(f == l);
  CU_CHECK(cuMemFreeAsync(f, blocking));
  set_flag(pool, CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES, 0);
  const CUdeviceptr g = alloc(kMiB, nullptr);  // the legacy stream no longer follows the blocking one
  EXPECT(g != f && reserved(pool) == 4 * kMiB);
  CU_CHECK(cuMemFreeAsync(g, nullptr));
  set_flag(pool, CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES, 1);
  CU_CHECK(cuCtxSynchronize());

  // Watermarks are reset with 0 (to what is held now); the current amounts are read-only.
  EXPECT(used(pool) == 0 && attr(pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH) == 2 * kMiB);
  set_bytes(pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH, 0);
  EXPECT(attr(pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH) == 0);
  set_bytes(pool, CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH, 0);
  EXPECT(attr(pool, CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH) == 4 * kMiB);
  cuuint64_t five = 5;
  EXPECT_RC(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH, &five), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT, &five), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT, &five), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(cuMemPoolGetAttribute(pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH, nullptr), CUDA_ERROR_INVALID_VALUE);

  // Trimming keeps at least what is asked for (blocks are not split) and gives the rest back.
  const size_t before = free_memory();
  CU_CHECK(cuMemPoolTrimTo(pool, kMiB));
  EXPECT(reserved(pool) == kMiB);
  CU_CHECK(cuMemPoolTrimTo(pool, 0));
  EXPECT(reserved(pool) == 0);
  EXPECT(free_memory() - before == 4 * kMiB);

  // Threshold 0: what is cached is given back at a synchronize of the stream that freed it, or
  // of its context, and before the pool grows once the free has completed.
  set_flag(pool, CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC, 1);
  set_flag(pool, CU_MEMPOOL_ATTR_REUSE_ALLOW_INTERNAL_DEPENDENCIES, 1);
  set_bytes(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, 0);
  const CUdeviceptr small = alloc(kMiB, s1);
  CU_CHECK(cuMemFreeAsync(small, s1));
  EXPECT(reserved(pool) == kMiB);
  CU_CHECK(cuStreamSynchronize(s2));  // another stream
  EXPECT(reserved(pool) == kMiB);
  CU_CHECK(cuStreamSynchronize(s1));
  EXPECT(reserved(pool) == 0);
  const CUdeviceptr x = alloc(kMiB, s2);
  CU_CHECK(cuMemFreeAsync(x, s2));  // completes at once on the fake driver
  const CUdeviceptr big = alloc(4 * kMiB, s1);
  EXPECT(reserved(pool) == 4 * kMiB && used(pool) == 4 * kMiB);
  fill_and_check(big, 4 * kMiB, 3, s1);
  CU_CHECK(cuMemFreeAsync(big, s1));
  CU_CHECK(cuCtxSynchronize());
  EXPECT(reserved(pool) == 0);
  std::printf("attributes ok\n");
}

// An explicit pool: allocations from it, as the device's current pool, destroyed while a block
// is in use (that block goes when it is freed).
void explicit_pool(CUmemoryPool default_pool, CUstream s1, CUstream s2) {
  CUmemoryPool own = make_pool(0);
  EXPECT(own != default_pool);
  CUdeviceptr h = 0;
  CU_CHECK(cuMemAllocFromPoolAsync(&h, 2 * kMiB, own, s1));
  EXPECT(used(own) == 2 * kMiB && used(default_pool) == 0);
  fill_and_check(h, 2 * kMiB, 5, s1);
  CUmemLocation here{CU_MEM_LOCATION_TYPE_DEVICE, 0};
  CUmemAccess_flags access = CU_MEM_ACCESS_FLAGS_PROT_NONE;
  CU_CHECK(cuMemPoolGetAccess(&access, own, &here));
  EXPECT(access == CU_MEM_ACCESS_FLAGS_PROT_READWRITE);
  const CUmemAccessDesc rw{here, CU_MEM_ACCESS_FLAGS_PROT_READWRITE};
  CU_CHECK(cuMemPoolSetAccess(own, &rw, 1));

  CU_CHECK(cuDeviceSetMemPool(0, own));
  CUmemoryPool current = nullptr;
  CU_CHECK(cuDeviceGetMemPool(&current, 0));
  EXPECT(current == own);
  CU_CHECK(cuMemGetMemPool(&current, &here, CU_MEM_ALLOCATION_TYPE_PINNED));
  EXPECT(current == own);
  const CUdeviceptr i = alloc(kMiB, s2);
  EXPECT(used(own) == 3 * kMiB && used(default_pool) == 0);
  CU_CHECK(cuMemFreeAsync(h, s1));

  const size_t before = free_memory();
  CU_CHECK(cuMemPoolDestroy(own));  // h, cached, goes now; i when it is freed
  EXPECT(free_memory() - before == 2 * kMiB);
  CU_CHECK(cuDeviceGetMemPool(&current, 0));
  EXPECT(current == default_pool);  // as the driver: the default is current again
  cuuint64_t v = 0;
  EXPECT_RC(cuMemPoolGetAttribute(own, CU_MEMPOOL_ATTR_USED_MEM_CURRENT, &v), CUDA_ERROR_INVALID_VALUE);
  fill_and_check(i, kMiB, 6, s2);
  CU_CHECK(cuMemFreeAsync(i, s2));
  EXPECT(free_memory() - before == 3 * kMiB);

  // cuMemFree of a pool's block frees it; its pool forgets it.
  const CUdeviceptr j = alloc(kMiB, s1);
  CU_CHECK(cuStreamSynchronize(s1));
  CU_CHECK(cuMemFree(j));
  EXPECT(used(default_pool) == 0 && reserved(default_pool) == 0);
  EXPECT_RC(cuMemFree(j), CUDA_ERROR_INVALID_VALUE);
  // cuMemFreeAsync of memory from cuMemAlloc: as before pools.
  CUdeviceptr plain = 0;
  CU_CHECK(cuMemAlloc(&plain, kMiB));
  CU_CHECK(cuMemFreeAsync(plain, s1));
  EXPECT_RC(cuMemFree(plain), CUDA_ERROR_INVALID_VALUE);
  std::printf("explicit pool ok\n");
}

// A pool of device 0 used from device 1's stream; device 1's own pool; device 1 reset.
void two_devices(CUmemoryPool pool0, CUstream s1) {
  set_bytes(pool0, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, ~cuuint64_t{0});
  CUmemoryPool pool1 = nullptr;
  CU_CHECK(cuDeviceGetDefaultMemPool(&pool1, 1));
  EXPECT(pool1 != pool0);
  EXPECT_RC(cuDeviceSetMemPool(1, pool0), CUDA_ERROR_INVALID_VALUE);  // not device 1's
  CUcontext ctx1 = nullptr, ctx0 = nullptr;
  CU_CHECK(cuCtxGetCurrent(&ctx0));
  CU_CHECK(cuDevicePrimaryCtxRetain(&ctx1, 1));
  CU_CHECK(cuCtxSetCurrent(ctx1));
  CUstream t = nullptr;
  CU_CHECK(cuStreamCreate(&t, CU_STREAM_NON_BLOCKING));
  const CUdeviceptr own = alloc(kMiB, t);  // device 1's current pool
  EXPECT(used(pool1) == kMiB && used(pool0) == 0);
  fill_and_check(own, kMiB, 21, t);
  CUdeviceptr cross = 0;
  CU_CHECK(cuMemAllocFromPoolAsync(&cross, kMiB, pool0, t));
  EXPECT(used(pool0) == kMiB);
  fill_and_check(cross, kMiB, 22, t);
  CU_CHECK(cuMemFreeAsync(cross, t));  // its event is device 1's
  CU_CHECK(cuStreamSynchronize(t));
  CU_CHECK(cuStreamDestroy(t));
  CU_CHECK(cuCtxSetCurrent(ctx0));
  const CUdeviceptr back = alloc(kMiB, s1);  // device 0's stream, once device 1's free completed
  EXPECT(back == cross);
  fill_and_check(back, kMiB, 23, s1);
  CU_CHECK(cuMemFreeAsync(back, s1));
  // Device 1's reset ends its memory and its pool's blocks (the pool itself stays).
  CU_CHECK(cuDevicePrimaryCtxReset(1));
  EXPECT(used(pool1) == 0 && reserved(pool1) == 0);
  CU_CHECK(cuCtxSetCurrent(ctx1));
  CUdeviceptr again = 0;
  CU_CHECK(cuMemAllocAsync(&again, kMiB, nullptr));
  EXPECT(used(pool1) == kMiB);
  CU_CHECK(cuMemFreeAsync(again, nullptr));
  CU_CHECK(cuCtxSynchronize());
  CU_CHECK(cuCtxSetCurrent(ctx0));
  CU_CHECK(cuMemPoolTrimTo(pool0, 0));
  CU_CHECK(cuMemPoolTrimTo(pool1, 0));
  EXPECT(reserved(pool0) == 0 && reserved(pool1) == 0);
  set_bytes(pool0, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, 0);
  std::printf("two devices ok\n");
}

void refusals(CUmemoryPool pool, CUstream s1) {
  int not_a_pool = 0;
  auto* bad = reinterpret_cast<CUmemoryPool>(&not_a_pool);
  cuuint64_t v = 0;
  CUdeviceptr p = 0;
  EXPECT_RC(cuMemPoolGetAttribute(bad, CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT, &v), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(cuMemAllocFromPoolAsync(&p, kMiB, bad, s1), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(cuMemAllocFromPoolAsync(&p, kMiB, nullptr, s1), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(cuMemPoolTrimTo(bad, 0), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(cuMemPoolDestroy(bad), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(cuMemPoolDestroy(pool), CUDA_ERROR_INVALID_VALUE);  // a default pool
  p = 1;
  CU_CHECK(cuMemAllocAsync(&p, 0, s1));  // as the driver: nothing, and a null pointer
  EXPECT(p == 0);
  CU_CHECK(cuMemFreeAsync(0, s1));
  EXPECT_RC(cuMemAllocAsync(&p, kMiB, reinterpret_cast<CUstream>(&not_a_pool)), CUDA_ERROR_INVALID_HANDLE);
  EXPECT_RC(cuDeviceGetDefaultMemPool(&pool, 2), CUDA_ERROR_INVALID_DEVICE);

  // Another device's access, IPC, host pools.
  const CUmemAccessDesc other{{CU_MEM_LOCATION_TYPE_DEVICE, 1}, CU_MEM_ACCESS_FLAGS_PROT_READWRITE};
  EXPECT_RC(cuMemPoolSetAccess(pool, &other, 1), CUDA_ERROR_NOT_SUPPORTED);
  CUmemLocation there{CU_MEM_LOCATION_TYPE_DEVICE, 1};
  CUmemAccess_flags access = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
  CU_CHECK(cuMemPoolGetAccess(&access, pool, &there));
  EXPECT(access == CU_MEM_ACCESS_FLAGS_PROT_NONE);
  const CUmemAccessDesc none_here{{CU_MEM_LOCATION_TYPE_DEVICE, 0}, CU_MEM_ACCESS_FLAGS_PROT_NONE};
  EXPECT_RC(cuMemPoolSetAccess(pool, &none_here, 1), CUDA_ERROR_INVALID_DEVICE);  // as the driver answers
  const CUmemAccessDesc missing{{CU_MEM_LOCATION_TYPE_DEVICE, 7}, CU_MEM_ACCESS_FLAGS_PROT_READWRITE};
  EXPECT_RC(cuMemPoolSetAccess(pool, &missing, 1), CUDA_ERROR_INVALID_DEVICE);
  int fd = -1;
  EXPECT_RC(cuMemPoolExportToShareableHandle(&fd, pool, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0),
            CUDA_ERROR_NOT_SUPPORTED);
  CUmemPoolPtrExportData data{};
  EXPECT_RC(cuMemPoolExportPointer(&data, 0), CUDA_ERROR_NOT_SUPPORTED);
  CUmemPoolProps props{};
  props.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
  props.location = {CU_MEM_LOCATION_TYPE_DEVICE, 0};
  props.handleTypes = CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR;
  CUmemoryPool created = nullptr;
  EXPECT_RC(cuMemPoolCreate(&created, &props), CUDA_ERROR_NOT_SUPPORTED);
  props.handleTypes = CU_MEM_HANDLE_TYPE_NONE;
  props.location = {CU_MEM_LOCATION_TYPE_HOST, 0};
  EXPECT_RC(cuMemPoolCreate(&created, &props), CUDA_ERROR_NOT_SUPPORTED);
  props.location = {CU_MEM_LOCATION_TYPE_DEVICE, 7};
  EXPECT_RC(cuMemPoolCreate(&created, &props), CUDA_ERROR_INVALID_VALUE);

  // In a capture they are graph memory nodes (design.md §19): an allocation is a node of the
  // capture's graph, outside the pools, its address the driver's.
  CU_CHECK(cuStreamBeginCapture(s1, CU_STREAM_CAPTURE_MODE_RELAXED));
  CU_CHECK(cuMemAllocAsync(&p, kMiB, s1));
  EXPECT(p != 0);
  CUgraph graph = nullptr;
  CU_CHECK(cuStreamEndCapture(s1, &graph));
  CUgraphNode only = nullptr;
  size_t nodes = 1;
  CU_CHECK(cuGraphGetNodes(graph, &only, &nodes));
  CUgraphNodeType type = CU_GRAPH_NODE_TYPE_EMPTY;
  CU_CHECK(cuGraphNodeGetType(only, &type));
  EXPECT(nodes == 1 && type == CU_GRAPH_NODE_TYPE_MEM_ALLOC);
  CU_CHECK(cuGraphDestroy(graph));
  // A free in a capture of a pool block is the graph's: the memory goes when the graph and its
  // executable graphs are gone. Of memory the capture itself allocated (cuBLAS's pattern), a
  // free node.
  const CUdeviceptr q = alloc(kMiB, s1);
  CU_CHECK(cuStreamBeginCapture(s1, CU_STREAM_CAPTURE_MODE_RELAXED));
  CUdeviceptr scratch = 0;
  CU_CHECK(cuMemAllocAsync(&scratch, kMiB, s1));
  CU_CHECK(cuMemFreeAsync(scratch, s1));
  CU_CHECK(cuMemFreeAsync(q, s1));
  CU_CHECK(cuStreamEndCapture(s1, &graph));
  CUdeviceptr base = 0;
  size_t size = 0;
  CU_CHECK(cuMemGetAddressRange(&base, &size, q));  // still there
  CU_CHECK(cuMemGetAddressRange(&base, &size, scratch));  // graph memory: the node's address
  EXPECT(size == kMiB);
  CUgraphExec exec = nullptr;
  CU_CHECK(cuGraphInstantiate(&exec, graph, 0));
  CU_CHECK(cuGraphDestroy(graph));
  CU_CHECK(cuMemGetAddressRange(&base, &size, q));  // the executable graph holds it
  CU_CHECK(cuGraphExecDestroy(exec));
  EXPECT_RC(cuMemGetAddressRange(&base, &size, q), CUDA_ERROR_NOT_FOUND);
  CU_CHECK(cuStreamSynchronize(s1));
  std::printf("refusals ok\n");
}

// A tenant with 8 MiB: what a pool caches is the tenant's.
int limit(CUmemoryPool pool, CUstream s1, CUstream s2) {
  set_bytes(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, ~cuuint64_t{0});
  const CUdeviceptr a = alloc(4 * kMiB, s1);
  CU_CHECK(cuMemFreeAsync(a, s1));
  CU_CHECK(cuStreamSynchronize(s1));
  CUdeviceptr b = 0;
  EXPECT_RC(cuMemAllocAsync(&b, 6 * kMiB, s1), CUDA_ERROR_OUT_OF_MEMORY);  // 4 cached + 6 > 8
  EXPECT(reserved(pool) == 4 * kMiB);
  CU_CHECK(cuMemPoolTrimTo(pool, 0));
  b = alloc(6 * kMiB, s1);
  fill_and_check(b, 6 * kMiB, 1, s1);
  // Nothing else fits: a block s1 freed goes to s2 after s1's free (an internal dependency).
  set_flag(pool, CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC, 0);
  CU_CHECK(cuMemFreeAsync(b, s1));
  const CUdeviceptr c = alloc(6 * kMiB, s2);
  EXPECT(c == b);
  fill_and_check(c, 6 * kMiB, 2, s2);
  CU_CHECK(cuMemFreeAsync(c, s2));
  set_flag(pool, CU_MEMPOOL_ATTR_REUSE_ALLOW_INTERNAL_DEPENDENCIES, 0);
  CUdeviceptr d = 0;
  EXPECT_RC(cuMemAllocAsync(&d, 6 * kMiB, s1), CUDA_ERROR_OUT_OF_MEMORY);
  // Under a threshold of 0, the cached block is given back before the pool grows.
  set_bytes(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, 0);
  CU_CHECK(cuStreamSynchronize(s2));
  d = alloc(7 * kMiB, s1);
  EXPECT(reserved(pool) == 7 * kMiB);
  CU_CHECK(cuMemFreeAsync(d, s1));
  CU_CHECK(cuStreamSynchronize(s1));
  CU_CHECK(cuMemPoolTrimTo(pool, 0));
  size_t free = 0, total = 0;
  CU_CHECK(cuMemGetInfo(&free, &total));
  EXPECT(free == total);
  std::printf("mem_pools limit ok\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const bool limited = argc > 1 && std::strcmp(argv[1], "limit") == 0;
  CU_CHECK(cuInit(0));
  CUcontext ctx = nullptr;
  CU_CHECK(cuDevicePrimaryCtxRetain(&ctx, 0));
  CU_CHECK(cuCtxSetCurrent(ctx));
  int supported = 0, handle_types = -1;
  CU_CHECK(cuDeviceGetAttribute(&supported, CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED, 0));
  CU_CHECK(cuDeviceGetAttribute(&handle_types, CU_DEVICE_ATTRIBUTE_MEMPOOL_SUPPORTED_HANDLE_TYPES, 0));
  EXPECT(supported == 1 && handle_types == 0);

  CUmemoryPool pool = nullptr, current = nullptr, by_location = nullptr;
  CU_CHECK(cuDeviceGetDefaultMemPool(&pool, 0));
  CU_CHECK(cuDeviceGetMemPool(&current, 0));
  CUmemLocation here{CU_MEM_LOCATION_TYPE_DEVICE, 0};
  CU_CHECK(cuMemGetDefaultMemPool(&by_location, &here, CU_MEM_ALLOCATION_TYPE_PINNED));
  EXPECT(pool != nullptr && current == pool && by_location == pool);

  CUstream s1 = nullptr, s2 = nullptr, blocking = nullptr;
  CU_CHECK(cuStreamCreate(&s1, CU_STREAM_NON_BLOCKING));
  CU_CHECK(cuStreamCreate(&s2, CU_STREAM_NON_BLOCKING));
  CU_CHECK(cuStreamCreate(&blocking, CU_STREAM_DEFAULT));
  if (limited) {
    const int rc = limit(pool, s1, s2);
    for (CUstream s : {s1, s2, blocking}) CU_CHECK(cuStreamDestroy(s));
    return rc;
  }

  reuse(pool, s1, s2);
  attributes(pool, s1, s2, blocking);
  explicit_pool(pool, s1, s2);
  two_devices(pool, s1);
  refusals(pool, s1);
  // The per-thread default stream.
  CUdeviceptr p = 0;
  CU_CHECK(cuMemAllocAsync_ptsz(&p, kMiB, nullptr));
  fill_and_check(p, kMiB, 4, CU_STREAM_PER_THREAD);
  CU_CHECK(cuMemFreeAsync_ptsz(p, nullptr));
  // Left cached at the end: the channel's end frees it with everything else.
  p = alloc(kMiB, s1);
  CU_CHECK(cuMemFreeAsync(p, s1));
  for (CUstream s : {s1, s2, blocking}) CU_CHECK(cuStreamDestroy(s));
  std::printf("mem_pools ok\n");
  return 0;
}
