// cudaEvent* entry points. A cudaEvent_t is vgpud's event id cast to a pointer.
#include <span>

#include "guest/client/log.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/status_map.h"
#include "guest/cudart/streams.h"

namespace vgpu::cudart {
namespace {

constexpr unsigned kKnownEventFlags = cudaEventBlockingSync | cudaEventDisableTiming | cudaEventInterprocess;
static_assert(cudaEventBlockingSync == CU_EVENT_BLOCKING_SYNC && cudaEventDisableTiming == CU_EVENT_DISABLE_TIMING &&
              cudaEventInterprocess == CU_EVENT_INTERPROCESS);

// vgpud's id, or 0 for a handle that cannot be one.
uint32_t event_id(cudaEvent_t event) {
  auto raw = reinterpret_cast<uintptr_t>(event);
  return raw <= UINT32_MAX ? static_cast<uint32_t>(raw) : 0;
}

cudaError_t create_event(cudaEvent_t* event, unsigned flags) {
  return remote_call([&](Runtime& rt) {
    if (event == nullptr || (flags & ~kKnownEventFlags) != 0) return cudaErrorInvalidValue;
    proto::EventCreateRequest request{flags, 0};
    proto::EventCreateReply reply{};
    guest::CallResult r = rt.channel->call(proto::CallId::EventCreate, {{&request, sizeof request}},
                                           std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
    if (r.status != 0) return to_cuda_error(r.status);
    if (r.payload_size < sizeof reply) return cudaErrorUnknown;
    *event = reinterpret_cast<cudaEvent_t>(static_cast<uintptr_t>(reply.event));
    return cudaSuccess;
  });
}

cudaError_t record_event(cudaEvent_t event, cudaStream_t stream, bool per_thread_default) {
  return remote_call([&](Runtime& rt) {
    uint32_t id = event_id(event);
    if (id == 0) return cudaErrorInvalidResourceHandle;
    uint64_t wire = 0;
    if (cudaError_t e = wire_stream(rt, stream, per_thread_default, &wire); e != cudaSuccess) return e;
    proto::EventRecordRequest request{id, 0, wire};
    return to_cuda_error(rt.channel->post(proto::CallId::EventRecord, {{&request, sizeof request}}));
  });
}

// EventDestroy, EventSynchronize, EventQuery: an EventRequest, no reply payload.
cudaError_t event_call(proto::CallId call, cudaEvent_t event) {
  return remote_call([&](Runtime& rt) {
    uint32_t id = event_id(event);
    if (id == 0) return cudaErrorInvalidResourceHandle;
    proto::EventRequest request{id, 0};
    return to_cuda_error(rt.channel->call(call, {{&request, sizeof request}}, {}).status);
  });
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;
using vgpu::proto::CallId;

VGPU_EXPORT cudaError_t cudaEventCreate(cudaEvent_t* event) {
  trace_api("cudaEventCreate");
  return create_event(event, cudaEventDefault);
}

VGPU_EXPORT cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  trace_api("cudaEventCreateWithFlags flags=%u", flags);
  return create_event(event, flags);
}

VGPU_EXPORT cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  trace_api("cudaEventRecord event=%p stream=%p", static_cast<void*>(event), static_cast<void*>(stream));
  return record_event(event, stream, false);
}

VGPU_EXPORT cudaError_t cudaEventRecord_ptsz(cudaEvent_t event, cudaStream_t stream) {
  trace_api("cudaEventRecord_ptsz event=%p stream=%p", static_cast<void*>(event), static_cast<void*>(stream));
  return record_event(event, stream, true);
}

// The only flag, cudaEventRecordExternal, matters inside graph capture, which vgpu does not do.
VGPU_EXPORT cudaError_t cudaEventRecordWithFlags(cudaEvent_t event, cudaStream_t stream, unsigned int flags) {
  trace_api("cudaEventRecordWithFlags event=%p stream=%p flags=%u", static_cast<void*>(event),
            static_cast<void*>(stream), flags);
  return record_event(event, stream, false);
}

VGPU_EXPORT cudaError_t cudaEventRecordWithFlags_ptsz(cudaEvent_t event, cudaStream_t stream, unsigned int flags) {
  trace_api("cudaEventRecordWithFlags_ptsz event=%p stream=%p flags=%u", static_cast<void*>(event),
            static_cast<void*>(stream), flags);
  return record_event(event, stream, true);
}

VGPU_EXPORT cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  trace_api("cudaEventSynchronize event=%p", static_cast<void*>(event));
  return event_call(CallId::EventSynchronize, event);
}

VGPU_EXPORT cudaError_t cudaEventQuery(cudaEvent_t event) {
  trace_api("cudaEventQuery event=%p", static_cast<void*>(event));
  return event_call(CallId::EventQuery, event);
}

VGPU_EXPORT cudaError_t cudaEventDestroy(cudaEvent_t event) {
  trace_api("cudaEventDestroy event=%p", static_cast<void*>(event));
  return event_call(CallId::EventDestroy, event);
}

VGPU_EXPORT cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  trace_api("cudaEventElapsedTime start=%p end=%p", static_cast<void*>(start), static_cast<void*>(end));
  return remote_call([&](Runtime& rt) {
    if (ms == nullptr) return cudaErrorInvalidValue;
    uint32_t start_id = event_id(start);
    uint32_t end_id = event_id(end);
    if (start_id == 0 || end_id == 0) return cudaErrorInvalidResourceHandle;
    vgpu::proto::EventElapsedTimeRequest request{start_id, end_id};
    vgpu::proto::EventElapsedTimeReply reply{};
    vgpu::guest::CallResult r = rt.channel->call(CallId::EventElapsedTime, {{&request, sizeof request}},
                                                 std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
    if (r.status != 0) return to_cuda_error(r.status);
    if (r.payload_size < sizeof reply) return cudaErrorUnknown;
    *ms = reply.milliseconds;
    return cudaSuccess;
  });
}
