// Events: create, record, wait, query, time. An event lives on the device its context was on.
#include "guest/cuda/api.h"
#include "guest/cuda/handles.h"
#include "guest/cuda/streams.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace {

CUresult event_call(proto::CallId id, CUevent event) {
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  EventObject* e = object_of<EventObject>(event, HandleKind::Event);
  if (e == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  const proto::EventRequest request{e->wire, 0};
  return to_cu_result(ch->call(id, {{&request, sizeof request}}, {}).status);
}

}  // namespace

VGPU_DRIVER_API CUresult cuEventCreate(CUevent* out, unsigned int flags) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    Context* c = nullptr;
    if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
    const proto::EventCreateRequest request{flags, 0};
    proto::EventCreateReply reply{};
    const guest::CallResult r = ch->call(proto::CallId::EventCreate, {{&request, sizeof request}},
                                         std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
    if (r.status != 0) return to_cu_result(r.status);
    auto* e = new EventObject{HandleKind::Event, reply.event, c->device, (flags & CU_EVENT_INTERPROCESS) != 0};
    register_event(e);  // a captured event node names it by id
    *out = reinterpret_cast<CUevent>(e);
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuEventDestroy_v2(CUevent event) {
  return guarded([&] {
    EventObject* e = object_of<EventObject>(event, HandleKind::Event);
    if (e == nullptr) return CUDA_ERROR_INVALID_HANDLE;
    const CUresult r = event_call(proto::CallId::EventDestroy, event);
    forget_event(e);
    e->kind = HandleKind::Dead;
    delete e;
    return r;
  });
}
VGPU_DRIVER_API CUresult cuEventDestroy(CUevent event) { return cuEventDestroy_v2(event); }

VGPU_DRIVER_API CUresult cuEventRecord(CUevent event, CUstream stream) {
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    EventObject* e = object_of<EventObject>(event, HandleKind::Event);
    proto::EventRecordRequest request{0, 0, 0};
    if (e == nullptr || !wire_stream(stream, &request.stream)) return CUDA_ERROR_INVALID_HANDLE;
    request.event = e->wire;
    // Another process may wait for this record as soon as the program says so (a pipe, shared
    // memory): natively it is on the GPU's queue when cuEventRecord returns, so here it must
    // have reached vgpud's driver, not just the ring (docs/design.md §25).
    if (e->interprocess)
      return to_cu_result(ch->call(proto::CallId::EventRecord, {{&request, sizeof request}}, {}).status);
    return to_cu_result(ch->post(proto::CallId::EventRecord, {{&request, sizeof request}}));
  });
}

VGPU_DRIVER_API CUresult cuEventSynchronize(CUevent event) {
  return guarded([&] { return event_call(proto::CallId::EventSynchronize, event); });
}
VGPU_DRIVER_API CUresult cuEventQuery(CUevent event) {
  return guarded([&] { return event_call(proto::CallId::EventQuery, event); });
}

VGPU_DRIVER_API CUresult cuEventElapsedTime_v2(float* ms, CUevent start, CUevent end) {
  if (ms == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    EventObject* a = object_of<EventObject>(start, HandleKind::Event);
    EventObject* b = object_of<EventObject>(end, HandleKind::Event);
    if (a == nullptr || b == nullptr) return CUDA_ERROR_INVALID_HANDLE;
    const proto::EventElapsedTimeRequest request{a->wire, b->wire};
    proto::EventElapsedTimeReply reply{};
    const guest::CallResult r = ch->call(proto::CallId::EventElapsedTime, {{&request, sizeof request}},
                                         std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
    if (r.status != 0) return to_cu_result(r.status);
    *ms = reply.milliseconds;
    return CUDA_SUCCESS;
  });
}
VGPU_DRIVER_API CUresult cuEventElapsedTime(float* ms, CUevent start, CUevent end) {
  return cuEventElapsedTime_v2(ms, start, end);
}

// CU_EVENT_RECORD_EXTERNAL only means something inside a stream capture, which vgpu does not
// do: recorded on a stream, both flags record the event.
VGPU_DRIVER_API CUresult cuEventRecordWithFlags(CUevent event, CUstream stream, unsigned int flags) {
  if ((flags & ~unsigned{CU_EVENT_RECORD_EXTERNAL}) != 0) return CUDA_ERROR_INVALID_VALUE;
  return cuEventRecord(event, stream);
}
VGPU_DRIVER_API CUresult cuEventRecordWithFlags_ptsz(CUevent event, CUstream stream, unsigned int flags) {
  return cuEventRecordWithFlags(event, per_thread(stream), flags);
}
