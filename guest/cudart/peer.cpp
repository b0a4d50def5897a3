// Several devices in one process: peer access between them and copies from one to another.
//
// Copies between devices take the ordinary device-to-device path (MemcpyDtoD): vgpud knows on which device each allocation
// lives, so it alone decides between a copy inside one GPU and one between two (which the
// driver makes directly over the peer link where the host allows it, through host memory
// otherwise). The device arguments of cudaMemcpyPeer are therefore only checked for range, as
// under unified addressing the pointers already say where the bytes are.
#include "guest/client/log.h"
#include "guest/cudart/copy.h"
#include "guest/cudart/entry.h"

namespace vgpu::cudart {
namespace {

cudaError_t peer_access(bool enable, int peer, unsigned flags) {
  return context_call([&](Runtime& rt) {
    if (!rt.has_device(peer)) return cudaErrorInvalidDevice;
    // A device is not its own peer: CUDA answers that access is unsupported (measured on an
    // H100), and so it was never enabled either.
    if (peer == thread_device()) return enable ? cudaErrorPeerAccessUnsupported : cudaErrorPeerAccessNotEnabled;
    if (flags != 0) return cudaErrorInvalidValue;  // CUDA defines no flag yet
    CUcontext peer_context = nullptr;
    if (cudaError_t e = rt.primary(peer, &peer_context); e != cudaSuccess) return e;
    return to_cuda_error(enable ? cuCtxEnablePeerAccess(peer_context, 0) : cuCtxDisablePeerAccess(peer_context));
  });
}

cudaError_t copy_peer(void* dst, int dst_device, const void* src, int src_device, size_t count, cudaStream_t stream,
                      bool per_thread_default) {
  return context_call([&](Runtime& rt) {
    if (!rt.has_device(dst_device) || !rt.has_device(src_device)) return cudaErrorInvalidDevice;
    // The ordinary device-to-device copy: stream-ordered (copy.h).
    return copy_memory(CopyArgs{dst, src, count, cudaMemcpyDeviceToDevice, stream, per_thread_default,
                                /*async=*/true});
  });
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT cudaError_t cudaDeviceCanAccessPeer(int* canAccessPeer, int device, int peerDevice) {
  trace_api("cudaDeviceCanAccessPeer device=%d peer=%d", device, peerDevice);
  return local_call([&](Runtime& rt) {
    if (canAccessPeer == nullptr) return cudaErrorInvalidValue;
    if (!rt.has_device(device) || !rt.has_device(peerDevice)) return cudaErrorInvalidDevice;
    return to_cuda_error(cuDeviceCanAccessPeer(canAccessPeer, device, peerDevice));
  });
}

VGPU_EXPORT cudaError_t cudaDeviceEnablePeerAccess(int peerDevice, unsigned int flags) {
  trace_api("cudaDeviceEnablePeerAccess peer=%d flags=%u", peerDevice, flags);
  return peer_access(true, peerDevice, flags);
}

VGPU_EXPORT cudaError_t cudaDeviceDisablePeerAccess(int peerDevice) {
  trace_api("cudaDeviceDisablePeerAccess peer=%d", peerDevice);
  return peer_access(false, peerDevice, 0);
}

VGPU_EXPORT cudaError_t cudaMemcpyPeer(void* dst, int dstDevice, const void* src, int srcDevice, size_t count) {
  trace_api("cudaMemcpyPeer dst=%p device=%d src=%p device=%d count=%zu", dst, dstDevice, src, srcDevice, count);
  return copy_peer(dst, dstDevice, src, srcDevice, count, nullptr, false);
}

VGPU_EXPORT cudaError_t cudaMemcpyPeerAsync(void* dst, int dstDevice, const void* src, int srcDevice, size_t count,
                                            cudaStream_t stream) {
  trace_api("cudaMemcpyPeerAsync dst=%p device=%d src=%p device=%d count=%zu stream=%p", dst, dstDevice, src,
            srcDevice, count, static_cast<void*>(stream));
  return copy_peer(dst, dstDevice, src, srcDevice, count, stream, false);
}
