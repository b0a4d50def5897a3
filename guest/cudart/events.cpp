// cudaEvent* entry points, over the driver's events: a cudaEvent_t is a CUevent.
#include "guest/client/log.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/streams.h"

namespace vgpu::cudart {
namespace {

constexpr unsigned kKnownEventFlags = cudaEventBlockingSync | cudaEventDisableTiming | cudaEventInterprocess;
static_assert(cudaEventBlockingSync == CU_EVENT_BLOCKING_SYNC && cudaEventDisableTiming == CU_EVENT_DISABLE_TIMING &&
              cudaEventInterprocess == CU_EVENT_INTERPROCESS);

cudaError_t create_event(cudaEvent_t* event, unsigned flags) {
  return context_call([&](Runtime&) {
    if (event == nullptr || (flags & ~kKnownEventFlags) != 0) return cudaErrorInvalidValue;
    return to_cuda_error(cuEventCreate(reinterpret_cast<CUevent*>(event), flags));
  });
}

// The only flag, cudaEventRecordExternal, matters inside graph capture, which vgpu does not do.
cudaError_t record_event(cudaEvent_t event, cudaStream_t stream, bool per_thread_default) {
  return context_call([&](Runtime&) {
    if (event == nullptr) return cudaErrorInvalidResourceHandle;
    return to_cuda_error(cuEventRecord(event, driver_stream(stream, per_thread_default)));
  });
}

template <typename Call>
cudaError_t event_call(Call call, cudaEvent_t event) {
  return context_call([&](Runtime&) {
    if (event == nullptr) return cudaErrorInvalidResourceHandle;
    return to_cuda_error(call(event));
  });
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

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
  return event_call(cuEventSynchronize, event);
}

VGPU_EXPORT cudaError_t cudaEventQuery(cudaEvent_t event) {
  trace_api("cudaEventQuery event=%p", static_cast<void*>(event));
  return event_call(cuEventQuery, event);
}

VGPU_EXPORT cudaError_t cudaEventDestroy(cudaEvent_t event) {
  trace_api("cudaEventDestroy event=%p", static_cast<void*>(event));
  return event_call([](CUevent e) { return cuEventDestroy(e); }, event);
}

VGPU_EXPORT cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  trace_api("cudaEventElapsedTime start=%p end=%p", static_cast<void*>(start), static_cast<void*>(end));
  return context_call([&](Runtime&) {
    if (ms == nullptr) return cudaErrorInvalidValue;
    if (start == nullptr || end == nullptr) return cudaErrorInvalidResourceHandle;
    return to_cuda_error(cuEventElapsedTime(ms, start, end));
  });
}
