// Streams. The legacy default stream (null, CU_STREAM_LEGACY) is vgpud's legacy stream;
// CU_STREAM_PER_THREAD (and null in a _ptsz/_ptds entry point) is the calling thread's
// per-thread default stream: a blocking stream of vgpud's, made on the thread's first use of it
// on a device.
#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>

#include "guest/cuda/api.h"
#include "guest/cuda/context.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/handles.h"
#include "guest/cuda/mem_pools.h"
#include "guest/cuda/streams.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace vgpu::cuda {

namespace {

// The calling thread's per-thread default stream on each device, and the device generation it
// was made in (a reset of the device ends it). Trivially destructible: threads exit at any time.
struct PerThreadStream {
  uint64_t generation;
  uint64_t wire;
};
thread_local PerThreadStream t_per_thread[limits::kMaxDevices];

// On the channel's thread device, which enter_context set to the current context's device.
bool per_thread_wire(uint64_t* wire) noexcept {
  const uint32_t device = guest::Channel::thread_device();
  guest::Channel* ch = channel();
  if (device >= limits::kMaxDevices || ch == nullptr) return false;
  PerThreadStream& mine = t_per_thread[device];
  const uint64_t generation = device_generation(device);
  if (mine.wire == 0 || mine.generation != generation) {
    // Blocking, like the driver's per-thread stream: it synchronizes with the legacy stream.
    const proto::StreamCreateRequest request{CU_STREAM_DEFAULT, 0};
    proto::StreamCreateReply reply{};
    const guest::CallResult r = ch->call(proto::CallId::StreamCreate, {{&request, sizeof request}},
                                         std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
    if (r.status != 0 || r.payload_size < sizeof reply) return false;
    mine = PerThreadStream{generation, reply.stream};
  }
  *wire = mine.wire;
  return true;
}

}  // namespace

bool wire_stream(CUstream stream, uint64_t* wire) noexcept {
  if (stream == CU_STREAM_PER_THREAD) return per_thread_wire(wire);
  if (stream == nullptr || stream == CU_STREAM_LEGACY) {
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
  // Created streams' wire ids start at kFirstStreamId, above the legacy stream's 1. A thread's
  // per-thread stream is one of vgpud's, so its id is its own; 2 only if it cannot be made.
  if (&stream == &g_legacy_stream) return 1;
  if (&stream == &g_per_thread_stream) {
    if (Context* c = current_context()) guest::Channel::set_thread_device(c->device);
    uint64_t wire = 0;
    return per_thread_wire(&wire) ? wire : 2;
  }
  return stream.wire;
}

}  // namespace vgpu::cuda

namespace {

void forget_stream_attributes(const StreamObject* s);

CUresult stream_call(proto::CallId id, CUstream stream) {
  guest::Channel* ch = nullptr;
  if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
  proto::StreamRequest request{};
  if (!wire_stream(stream, &request.stream)) return CUDA_ERROR_INVALID_HANDLE;
  return to_cu_result(ch->call(id, {{&request, sizeof request}}, {}).status);
}


}  // namespace

VGPU_DRIVER_API CUresult cuStreamCreateWithPriority(CUstream* out, unsigned int flags, int priority) {
  if (out == nullptr || (flags & ~unsigned{CU_STREAM_NON_BLOCKING}) != 0) return CUDA_ERROR_INVALID_VALUE;
  // The driver clamps a priority outside the device's range rather than failing.
  priority = std::clamp(priority, kGreatestPriority, kLeastPriority);
  return guarded([&] {
    guest::Channel* ch = nullptr;
    Context* c = nullptr;
    if (CUresult r = enter_context(&ch, &c); r != CUDA_SUCCESS) return r;
    const proto::StreamCreateRequest request{flags, priority};
    proto::StreamCreateReply reply{};
    const guest::CallResult r = ch->call(proto::CallId::StreamCreate, {{&request, sizeof request}},
                                         std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
    if (r.status != 0) return to_cu_result(r.status);
    *out = reinterpret_cast<CUstream>(new StreamObject{HandleKind::Stream, reply.stream, c->device, flags, priority, c});
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuStreamCreate(CUstream* out, unsigned int flags) { return cuStreamCreateWithPriority(out, flags, 0); }

VGPU_DRIVER_API CUresult cuStreamDestroy_v2(CUstream stream) {
  return guarded([&] {
    StreamObject* s = object_of<StreamObject>(stream, HandleKind::Stream);
    if (s == nullptr) return CUDA_ERROR_INVALID_HANDLE;
    const CUresult r = stream_call(proto::CallId::StreamDestroy, stream);
    forget_stream_attributes(s);
    s->kind = HandleKind::Dead;
    delete s;
    return r;
  });
}
VGPU_DRIVER_API CUresult cuStreamDestroy(CUstream stream) { return cuStreamDestroy_v2(stream); }

VGPU_DRIVER_API CUresult cuStreamSynchronize(CUstream stream) {
  return guarded([&] {
    const CUresult r = stream_call(proto::CallId::StreamSynchronize, stream);
    if (r == CUDA_SUCCESS) mem_pools_stream_synchronized(stream);
    return r;
  });
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

VGPU_DRIVER_API CUresult cuStreamGetId(CUstream stream, unsigned long long* id) {
  if (id == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (init_status() != CUDA_SUCCESS) return init_status();
  StreamObject* s = stream_object(stream);
  if (s == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  *id = stream_id_of(*s);
  return CUDA_SUCCESS;
}

// ---- what a stream is

namespace {

// A stream and its context: a created stream's own; a default stream's is the calling
// thread's current context.
CUresult stream_facts(CUstream stream, StreamObject** out, Context** context) {
  if (init_status() != CUDA_SUCCESS) return init_status();
  StreamObject* s = stream_object(stream);
  if (s == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  Context* c = s->context != nullptr ? s->context : current_context();
  if (c == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  *out = s;
  if (context != nullptr) *context = c;
  return CUDA_SUCCESS;
}

}  // namespace

VGPU_DRIVER_API CUresult cuStreamGetPriority(CUstream stream, int* priority) {
  if (priority == nullptr) return CUDA_ERROR_INVALID_VALUE;
  StreamObject* s = nullptr;
  if (CUresult r = stream_facts(stream, &s, nullptr); r != CUDA_SUCCESS) return r;
  *priority = s->priority;
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuStreamGetFlags(CUstream stream, unsigned int* flags) {
  if (flags == nullptr) return CUDA_ERROR_INVALID_VALUE;
  StreamObject* s = nullptr;
  if (CUresult r = stream_facts(stream, &s, nullptr); r != CUDA_SUCCESS) return r;
  *flags = s->flags;
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuStreamGetCtx(CUstream stream, CUcontext* context) {
  if (context == nullptr) return CUDA_ERROR_INVALID_VALUE;
  StreamObject* s = nullptr;
  Context* c = nullptr;
  if (CUresult r = stream_facts(stream, &s, &c); r != CUDA_SUCCESS) return r;
  *context = handle_of(c);
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuStreamGetDevice(CUstream stream, CUdevice* device) {
  if (device == nullptr) return CUDA_ERROR_INVALID_VALUE;
  StreamObject* s = nullptr;
  Context* c = nullptr;
  if (CUresult r = stream_facts(stream, &s, &c); r != CUDA_SUCCESS) return r;
  *device = static_cast<CUdevice>(c->device);
  return CUDA_SUCCESS;
}

// ---- stream attributes

// What cuStreamSetAttribute stored, per stream. The attributes are hints to the GPU's scheduler
// and caches (L2 access policy windows, synchronization policy, memory sync domains) that vgpud
// does not apply yet; a program reads back what it set, as from the driver.
namespace {
struct StreamAttributes {
  std::mutex mutex;
  std::map<std::pair<const StreamObject*, int>, CUstreamAttrValue> values;
};
StreamAttributes& stream_attributes() {
  static auto* a = new StreamAttributes;  // never destroyed, like the streams' users at exit
  return *a;
}
void forget_stream_attributes(const StreamObject* s) {
  StreamAttributes& a = stream_attributes();
  std::lock_guard lock(a.mutex);
  for (auto it = a.values.begin(); it != a.values.end();) it = it->first.first == s ? a.values.erase(it) : std::next(it);
}
}  // namespace

VGPU_DRIVER_API CUresult cuStreamSetAttribute(CUstream stream, CUstreamAttrID attr, const CUstreamAttrValue* value) {
  if (value == nullptr) return CUDA_ERROR_INVALID_VALUE;
  StreamObject* s = nullptr;
  if (CUresult r = stream_facts(stream, &s, nullptr); r != CUDA_SUCCESS) return r;
  return guarded([&] {
    StreamAttributes& a = stream_attributes();
    std::lock_guard lock(a.mutex);
    a.values[{s, static_cast<int>(attr)}] = *value;
    return CUDA_SUCCESS;
  });
}

VGPU_DRIVER_API CUresult cuStreamGetAttribute(CUstream stream, CUstreamAttrID attr, CUstreamAttrValue* value) {
  if (value == nullptr) return CUDA_ERROR_INVALID_VALUE;
  StreamObject* s = nullptr;
  if (CUresult r = stream_facts(stream, &s, nullptr); r != CUDA_SUCCESS) return r;
  return guarded([&] {
    StreamAttributes& a = stream_attributes();
    std::lock_guard lock(a.mutex);
    auto it = a.values.find({s, static_cast<int>(attr)});
    if (it != a.values.end()) {
      *value = it->second;
    } else {
      std::memset(value, 0, sizeof *value);
      if (attr == CU_LAUNCH_ATTRIBUTE_PRIORITY) value->priority = s->priority;
    }
    return CUDA_SUCCESS;
  });
}
VGPU_DRIVER_API CUresult cuStreamSetAttribute_ptsz(CUstream stream, CUstreamAttrID attr, const CUstreamAttrValue* value) {
  return cuStreamSetAttribute(per_thread(stream), attr, value);
}
VGPU_DRIVER_API CUresult cuStreamGetAttribute_ptsz(CUstream stream, CUstreamAttrID attr, CUstreamAttrValue* value) {
  return cuStreamGetAttribute(per_thread(stream), attr, value);
}

