// Streams and events. The legacy default stream (null, CU_STREAM_LEGACY) is vgpud's legacy
// stream; CU_STREAM_PER_THREAD is taken as the legacy stream for now (stricter ordering, the
// same results).
#include "guest/cuda/api.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/handles.h"
#include "guest/cuda/streams.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace vgpu::cuda {

bool wire_stream(CUstream stream, uint64_t* wire) noexcept {
  if (stream == nullptr || stream == CU_STREAM_LEGACY || stream == CU_STREAM_PER_THREAD) {
    *wire = proto::kStreamLegacy;
    return true;
  }
  StreamObject* s = object_of<StreamObject>(stream, HandleKind::Stream);
  if (s == nullptr) return false;
  *wire = s->wire;
  return true;
}

namespace {
StreamObject g_legacy_stream{HandleKind::Stream, proto::kStreamLegacy, 0};
StreamObject g_per_thread_stream{HandleKind::Stream, proto::kStreamLegacy, 0};
}  // namespace

StreamObject* stream_object(CUstream stream) noexcept {
  if (stream == nullptr || stream == CU_STREAM_LEGACY) return &g_legacy_stream;
  if (stream == CU_STREAM_PER_THREAD) return &g_per_thread_stream;
  return object_of<StreamObject>(stream, HandleKind::Stream);
}

uint64_t stream_id_of(const StreamObject& stream) noexcept {
  // Created streams' wire ids start at kFirstStreamId, above these two.
  if (&stream == &g_legacy_stream) return 1;
  if (&stream == &g_per_thread_stream) return 2;
  return stream.wire;
}

}  // namespace vgpu::cuda

namespace {

CUresult stream_call(proto::CallId id, CUstream stream) {
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  proto::StreamRequest request{};
  if (!wire_stream(stream, &request.stream)) return CUDA_ERROR_INVALID_HANDLE;
  return to_cu_result(ch->call(id, {{&request, sizeof request}}, {}).status);
}

CUresult event_call(proto::CallId id, CUevent event) {
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  EventObject* e = object_of<EventObject>(event, HandleKind::Event);
  if (e == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  const proto::EventRequest request{e->wire, 0};
  return to_cu_result(ch->call(id, {{&request, sizeof request}}, {}).status);
}

}  // namespace

VGPU_DRIVER_API CUresult cuStreamCreateWithPriority(CUstream* out, unsigned int flags, int priority) {
  if (out == nullptr) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    guest::Channel* ch = nullptr;
    Context* c = nullptr;
    if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
    const proto::StreamCreateRequest request{flags, priority};
    proto::StreamCreateReply reply{};
    const guest::CallResult r = ch->call(proto::CallId::StreamCreate, {{&request, sizeof request}},
                                         std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
    if (r.status != 0) return to_cu_result(r.status);
    *out = reinterpret_cast<CUstream>(new StreamObject{HandleKind::Stream, reply.stream, c->device});
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuStreamCreate(CUstream* out, unsigned int flags) { return cuStreamCreateWithPriority(out, flags, 0); }

VGPU_DRIVER_API CUresult cuStreamDestroy_v2(CUstream stream) {
  return guarded([&] {
    StreamObject* s = object_of<StreamObject>(stream, HandleKind::Stream);
    if (s == nullptr) return CUDA_ERROR_INVALID_HANDLE;
    const CUresult r = stream_call(proto::CallId::StreamDestroy, stream);
    s->kind = HandleKind::Dead;
    delete s;
    return r;
  });
}
VGPU_DRIVER_API CUresult cuStreamDestroy(CUstream stream) { return cuStreamDestroy_v2(stream); }

VGPU_DRIVER_API CUresult cuStreamSynchronize(CUstream stream) {
  return guarded([&] { return stream_call(proto::CallId::StreamSynchronize, stream); });
}
VGPU_DRIVER_API CUresult cuStreamQuery(CUstream stream) {
  return guarded([&] { return stream_call(proto::CallId::StreamQuery, stream); });
}

VGPU_DRIVER_API CUresult cuStreamWaitEvent(CUstream stream, CUevent event, unsigned int flags) {
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    EventObject* e = object_of<EventObject>(event, HandleKind::Event);
    proto::StreamWaitEventRequest request{0, 0, flags};
    if (e == nullptr || !wire_stream(stream, &request.stream)) return CUDA_ERROR_INVALID_HANDLE;
    request.event = e->wire;
    return to_cu_result(ch->post(proto::CallId::StreamWaitEvent, {{&request, sizeof request}}));
  });
}

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
    *out = reinterpret_cast<CUevent>(new EventObject{HandleKind::Event, reply.event, c->device});
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuEventDestroy_v2(CUevent event) {
  return guarded([&] {
    EventObject* e = object_of<EventObject>(event, HandleKind::Event);
    if (e == nullptr) return CUDA_ERROR_INVALID_HANDLE;
    const CUresult r = event_call(proto::CallId::EventDestroy, event);
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

VGPU_DRIVER_API CUresult cuStreamGetId(CUstream stream, unsigned long long* id) {
  if (id == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (init_status() != CUDA_SUCCESS) return init_status();
  StreamObject* s = stream_object(stream);
  if (s == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  *id = stream_id_of(*s);
  return CUDA_SUCCESS;
}
