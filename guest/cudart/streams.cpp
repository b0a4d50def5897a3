// cudaStream* entry points, and the mapping of stream handles to wire ids.
#include "guest/cudart/streams.h"

#include <algorithm>
#include <span>

#include "guest/client/log.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/status_map.h"
#include "guest/cudart/stream_handle.h"

namespace vgpu::cudart {
namespace {

using guest::trace_api;

// CUDA's stream priority range: 0 is the least priority, -5 the greatest.
constexpr int kLeastPriority = 0;
constexpr int kGreatestPriority = -5;

// The calling thread's per-thread default stream on each device. Trivially destructible:
// threads may exit at any time. A stream whose generation is stale died with cudaDeviceReset.
struct PerThreadStream {
  uint64_t generation;
  uint64_t id;
};
thread_local PerThreadStream t_per_thread[limits::kMaxDevices];

cudaError_t create_stream(guest::Channel& channel, unsigned flags, int priority, uint64_t* id) {
  proto::StreamCreateRequest request{flags, priority};
  proto::StreamCreateReply reply{};
  guest::CallResult r = channel.call(proto::CallId::StreamCreate, {{&request, sizeof request}},
                                     std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
  if (r.status != 0) return to_cuda_error(r.status);
  if (r.payload_size < sizeof reply) return cudaErrorUnknown;
  *id = reply.stream;
  return cudaSuccess;
}

cudaError_t create_stream_api(cudaStream_t* stream, unsigned flags, int priority) {
  static_assert(cudaStreamNonBlocking == CU_STREAM_NON_BLOCKING);
  return remote_call([&](Runtime& rt) {
    if (stream == nullptr || (flags & ~unsigned{cudaStreamNonBlocking}) != 0) return cudaErrorInvalidValue;
    // CUDA clamps priorities outside the range rather than failing.
    int clamped = std::clamp(priority, kGreatestPriority, kLeastPriority);
    uint64_t id = 0;
    if (cudaError_t e = create_stream(*rt.channel, flags, clamped, &id); e != cudaSuccess) return e;
    *stream = stream_handle(id);
    return cudaSuccess;
  });
}

cudaError_t stream_call(proto::CallId call, cudaStream_t stream, bool per_thread_default) {
  return remote_call([&](Runtime& rt) {
    uint64_t id = 0;
    if (cudaError_t e = wire_stream(rt, stream, per_thread_default, &id); e != cudaSuccess) return e;
    proto::StreamRequest request{id};
    return to_cuda_error(rt.channel->call(call, {{&request, sizeof request}}, {}).status);
  });
}

cudaError_t wait_event(cudaStream_t stream, cudaEvent_t event, unsigned flags, bool per_thread_default) {
  return remote_call([&](Runtime& rt) {
    auto event_id = reinterpret_cast<uintptr_t>(event);
    if (event_id == 0 || event_id > UINT32_MAX) return cudaErrorInvalidResourceHandle;
    uint64_t id = 0;
    if (cudaError_t e = wire_stream(rt, stream, per_thread_default, &id); e != cudaSuccess) return e;
    proto::StreamWaitEventRequest request{id, static_cast<uint32_t>(event_id), flags};
    return to_cuda_error(rt.channel->post(proto::CallId::StreamWaitEvent, {{&request, sizeof request}}));
  });
}

cudaError_t is_capturing(cudaStreamCaptureStatus* status) {
  // vgpu does not capture graphs (cudaStreamBeginCapture is unsupported): never capturing.
  return local_call([&](Runtime&) {
    if (status == nullptr) return cudaErrorInvalidValue;
    *status = cudaStreamCaptureStatusNone;
    return cudaSuccess;
  });
}

}  // namespace

cudaError_t wire_stream(Runtime& rt, cudaStream_t stream, bool per_thread_default, uint64_t* out) {
  StreamRef ref = classify_stream(stream, per_thread_default);
  if (ref.kind != StreamKind::PerThread) {
    *out = ref.kind == StreamKind::Legacy ? proto::kStreamLegacy : ref.id;
    return cudaSuccess;
  }
  uint32_t device = guest::Channel::thread_device();
  if (device >= limits::kMaxDevices) return cudaErrorInvalidDevice;
  PerThreadStream& mine = t_per_thread[device];
  uint64_t generation = rt.stream_generation[device].load(std::memory_order_acquire);
  if (mine.id == 0 || mine.generation != generation) {
    // A blocking stream, like CUDA's per-thread default stream: it synchronizes with the
    // legacy default stream.
    uint64_t id = 0;
    if (cudaError_t e = create_stream(*rt.channel, CU_STREAM_DEFAULT, 0, &id); e != cudaSuccess) return e;
    mine = PerThreadStream{generation, id};
  }
  *out = mine.id;
  return cudaSuccess;
}

}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;
namespace proto = vgpu::proto;

VGPU_EXPORT cudaError_t cudaStreamCreate(cudaStream_t* pStream) {
  trace_api("cudaStreamCreate");
  return create_stream_api(pStream, cudaStreamDefault, kLeastPriority);
}

VGPU_EXPORT cudaError_t cudaStreamCreateWithFlags(cudaStream_t* pStream, unsigned int flags) {
  trace_api("cudaStreamCreateWithFlags flags=%u", flags);
  return create_stream_api(pStream, flags, kLeastPriority);
}

VGPU_EXPORT cudaError_t cudaStreamCreateWithPriority(cudaStream_t* pStream, unsigned int flags, int priority) {
  trace_api("cudaStreamCreateWithPriority flags=%u priority=%d", flags, priority);
  return create_stream_api(pStream, flags, priority);
}

VGPU_EXPORT cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  trace_api("cudaStreamDestroy stream=%p", static_cast<void*>(stream));
  return remote_call([&](Runtime& rt) {
    StreamRef ref = classify_stream(stream, false);
    if (ref.kind != StreamKind::Created) return cudaErrorInvalidResourceHandle;  // default streams live on
    proto::StreamRequest request{ref.id};
    return to_cuda_error(rt.channel->call(proto::CallId::StreamDestroy, {{&request, sizeof request}}, {}).status);
  });
}

VGPU_EXPORT cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  trace_api("cudaStreamSynchronize stream=%p", static_cast<void*>(stream));
  return stream_call(proto::CallId::StreamSynchronize, stream, false);
}

VGPU_EXPORT cudaError_t cudaStreamSynchronize_ptsz(cudaStream_t stream) {
  trace_api("cudaStreamSynchronize_ptsz stream=%p", static_cast<void*>(stream));
  return stream_call(proto::CallId::StreamSynchronize, stream, true);
}

VGPU_EXPORT cudaError_t cudaStreamQuery(cudaStream_t stream) {
  trace_api("cudaStreamQuery stream=%p", static_cast<void*>(stream));
  return stream_call(proto::CallId::StreamQuery, stream, false);
}

VGPU_EXPORT cudaError_t cudaStreamQuery_ptsz(cudaStream_t stream) {
  trace_api("cudaStreamQuery_ptsz stream=%p", static_cast<void*>(stream));
  return stream_call(proto::CallId::StreamQuery, stream, true);
}

VGPU_EXPORT cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags) {
  trace_api("cudaStreamWaitEvent stream=%p event=%p", static_cast<void*>(stream), static_cast<void*>(event));
  return wait_event(stream, event, flags, false);
}

VGPU_EXPORT cudaError_t cudaStreamWaitEvent_ptsz(cudaStream_t stream, cudaEvent_t event, unsigned int flags) {
  trace_api("cudaStreamWaitEvent_ptsz stream=%p event=%p", static_cast<void*>(stream), static_cast<void*>(event));
  return wait_event(stream, event, flags, true);
}

VGPU_EXPORT cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* pCaptureStatus) {
  trace_api("cudaStreamIsCapturing stream=%p", static_cast<void*>(stream));
  return is_capturing(pCaptureStatus);
}

VGPU_EXPORT cudaError_t cudaStreamIsCapturing_ptsz(cudaStream_t stream, cudaStreamCaptureStatus* pCaptureStatus) {
  trace_api("cudaStreamIsCapturing_ptsz stream=%p", static_cast<void*>(stream));
  return is_capturing(pCaptureStatus);
}
