// fake-cuda (test double, never ships): peer access between contexts and copies between them.
// Every pair of distinct devices can access each other unless FAKE_CUDA_PEER_ACCESS=0. Access
// is one-way (the current context's kernels may touch the peer's memory) and only matters to
// kernels: copies see all memory of the process, as the real driver's do (it stages a peer copy
// through the host when the devices cannot reach each other).
#include "graph.h"

#include <cstring>

using namespace vgpu::fake;

namespace vgpu::fake {

bool can_access_peer(CUdevice dev, CUdevice peer_dev) {
  // The real driver answers 0 for a device and itself: it needs no peer access to its own memory.
  return dev != peer_dev && config().peer_access;
}

void forget_peer(CUcontext gone) {
  for (const auto& ctx : live_contexts()) {
    std::lock_guard<std::mutex> g(ctx->mu);
    ctx->peers.erase(gone);
  }
}

}  // namespace vgpu::fake

namespace {

CUresult copy_peer(CUdeviceptr dst, CUcontext dst_ctx, CUdeviceptr src, CUcontext src_ctx, std::size_t n,
                   CUstream stream) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (!stream_ok(*l.ctx, stream)) return CUDA_ERROR_INVALID_HANDLE;
  // Taking the registry's lock under a Context::mu is fine: nothing waits for a context while
  // holding it.
  if (!find_context(dst_ctx) || !find_context(src_ctx)) return CUDA_ERROR_INVALID_CONTEXT;
  if (n == 0) return CUDA_SUCCESS;
  // Found through the index, not under the contexts' own locks: this thread already holds the
  // current context's, and taking a second Context::mu could deadlock with a copy the other way.
  const RegionReader held = read_regions();
  if (region_owner(held, dst, n) != dst_ctx || region_owner(held, src, n) != src_ctx) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  // cuMemcpyPeer runs on the legacy stream, which may not depend on a capturing blocking
  // stream; cuMemcpyPeerAsync on a capturing stream is recorded as a copy.
  std::shared_ptr<Capture> cap;
  if (CUresult r = capture_gate(*l.ctx, stream, cap); r != CUDA_SUCCESS) return r;
  if (cap) {
    capture_record(*cap, stream, CopyNode{dst, src, n, true, true});
    return CUDA_SUCCESS;
  }
  std::memmove(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), n);
  return CUDA_SUCCESS;
}

}  // namespace

FAKE_CUDA_API CUresult CUDAAPI cuDeviceCanAccessPeer(int* canAccessPeer, CUdevice dev, CUdevice peerDev) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (canAccessPeer == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const int count = config().device_count;
  if (dev < 0 || dev >= count || peerDev < 0 || peerDev >= count) return CUDA_ERROR_INVALID_DEVICE;
  *canAccessPeer = can_access_peer(dev, peerDev) ? 1 : 0;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuCtxEnablePeerAccess(CUcontext peerContext, unsigned int Flags) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (Flags != 0) return CUDA_ERROR_INVALID_VALUE;
  const auto peer = find_context(peerContext);
  // cuda.h: INVALID_CONTEXT also when the peer is the current context itself.
  if (!peer || peer == l.ctx) return CUDA_ERROR_INVALID_CONTEXT;
  if (!can_access_peer(l->device, peer->device)) return CUDA_ERROR_PEER_ACCESS_UNSUPPORTED;
  if (!l->peers.insert(peerContext).second) return CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED;
  // The peer may have been destroyed since find_context, its forget_peer sweep already past this
  // context. destroy_context drops it from the registry before sweeping, so looking again (under
  // this context's lock, which the sweep needs) tells which came first.
  if (!find_context(peerContext)) {
    l->peers.erase(peerContext);
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuCtxDisablePeerAccess(CUcontext peerContext) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (!find_context(peerContext)) return CUDA_ERROR_INVALID_CONTEXT;
  if (l->peers.erase(peerContext) == 0) return CUDA_ERROR_PEER_ACCESS_NOT_ENABLED;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuMemcpyPeer(CUdeviceptr dstDevice, CUcontext dstContext, CUdeviceptr srcDevice,
                                            CUcontext srcContext, size_t ByteCount) {
  return copy_peer(dstDevice, dstContext, srcDevice, srcContext, ByteCount, nullptr);
}

FAKE_CUDA_API CUresult CUDAAPI cuMemcpyPeerAsync(CUdeviceptr dstDevice, CUcontext dstContext, CUdeviceptr srcDevice,
                                                 CUcontext srcContext, size_t ByteCount, CUstream hStream) {
  return copy_peer(dstDevice, dstContext, srcDevice, srcContext, ByteCount, hStream);
}
