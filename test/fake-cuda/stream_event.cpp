// fake-cuda (test double, never ships): streams and events. Work runs synchronously, so
// streams are only validated handles and events are timestamps. What changes while a stream
// captures (capture.cpp) is asked of capture_gate and its kin (graph.h).
#include "graph.h"

#include <type_traits>

using namespace vgpu::fake;

namespace {

Event* find_event(Context& ctx, CUevent e) {
  auto it = ctx.events.find(e);
  return it == ctx.events.end() ? nullptr : &it->second;
}

}  // namespace

FAKE_CUDA_API CUresult CUDAAPI cuStreamCreateWithPriority(CUstream* phStream, unsigned int flags, int priority) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (phStream == nullptr || (flags & ~unsigned{CU_STREAM_NON_BLOCKING}) != 0) return CUDA_ERROR_INVALID_VALUE;
  // Like the driver, clamp the priority to the device's range [-5 (greatest), 0 (least)].
  if (priority < -5) priority = -5;
  if (priority > 0) priority = 0;
  const auto h = new_handle<CUstream>();
  Stream st;
  st.flags = flags;
  st.priority = priority;
  l->streams.emplace(h, std::move(st));
  *phStream = h;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuStreamDestroy_v2(CUstream hStream) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (l->streams.count(hStream) == 0) return CUDA_ERROR_INVALID_HANDLE;
  // Ends or leaves its capture, if it takes part in one.
  const bool graph_gone = capture_forget_stream(*l.ctx, hStream);
  l->streams.erase(hStream);
  l.lock.unlock();
  if (graph_gone) write_state_file();
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuStreamSynchronize(CUstream hStream) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (!stream_ok(*l.ctx, hStream)) return CUDA_ERROR_INVALID_HANDLE;
  if (CUresult r = capture_sync_check(*l.ctx, hStream); r != CUDA_SUCCESS) return r;
  flush_printf(*l.ctx);
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuStreamQuery(CUstream hStream) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (!stream_ok(*l.ctx, hStream)) return CUDA_ERROR_INVALID_HANDLE;
  return capture_sync_check(*l.ctx, hStream);
}

FAKE_CUDA_API CUresult CUDAAPI cuStreamWaitEvent(CUstream hStream, CUevent hEvent, unsigned int Flags) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if ((Flags & ~unsigned{CU_EVENT_WAIT_EXTERNAL}) != 0) return CUDA_ERROR_INVALID_VALUE;
  Event* e = find_event(*l.ctx, hEvent);
  if (!stream_ok(*l.ctx, hStream) || e == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  // Everything before the record has run already; only a capture cares (a fork, a join).
  if ((Flags & CU_EVENT_WAIT_EXTERNAL) != 0) {
    // Joins no capture: a capture would record a wait node, which the fake has no need of.
    std::shared_ptr<Capture> cap;
    return capture_gate(*l.ctx, hStream, cap);
  }
  return capture_wait_event(*l.ctx, hStream, *e);
}

FAKE_CUDA_API CUresult CUDAAPI cuEventCreate(CUevent* phEvent, unsigned int Flags) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  constexpr unsigned kKnown = CU_EVENT_BLOCKING_SYNC | CU_EVENT_DISABLE_TIMING | CU_EVENT_INTERPROCESS;
  if (phEvent == nullptr || (Flags & ~kKnown) != 0) return CUDA_ERROR_INVALID_VALUE;
  if ((Flags & CU_EVENT_INTERPROCESS) && !(Flags & CU_EVENT_DISABLE_TIMING)) return CUDA_ERROR_INVALID_VALUE;
  const auto h = new_handle<CUevent>();
  Event e;
  e.flags = Flags;
  l->events.emplace(h, std::move(e));
  *phEvent = h;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuEventDestroy_v2(CUevent hEvent) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (l->events.erase(hEvent) == 0) return CUDA_ERROR_INVALID_HANDLE;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuEventRecord(CUevent hEvent, CUstream hStream) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  Event* e = find_event(*l.ctx, hEvent);
  if (e == nullptr || !stream_ok(*l.ctx, hStream)) return CUDA_ERROR_INVALID_HANDLE;
  std::shared_ptr<Capture> cap;
  if (CUresult r = capture_gate(*l.ctx, hStream, cap); r != CUDA_SUCCESS) return r;
  if (cap) {
    // A node that records the event when the graph runs; until then the host may not wait on
    // it, and a stream that waits on it joins the capture.
    e->capture_node = capture_record(*cap, hStream, EventRecordNode{hEvent});
    e->captured = true;
    e->capture = cap;
    return CUDA_SUCCESS;
  }
  e->recorded = true;
  e->when = std::chrono::steady_clock::now();
  e->captured = false;
  e->capture.reset();
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuEventSynchronize(CUevent hEvent) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  const Event* e = find_event(*l.ctx, hEvent);
  if (e == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  return e->captured ? CUDA_ERROR_CAPTURED_EVENT : CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuEventQuery(CUevent hEvent) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  const Event* e = find_event(*l.ctx, hEvent);
  if (e == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  return e->captured ? CUDA_ERROR_CAPTURED_EVENT : CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuEventElapsedTime_v2(float* pMilliseconds, CUevent hStart, CUevent hEnd) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (pMilliseconds == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const Event* start = find_event(*l.ctx, hStart);
  const Event* end = find_event(*l.ctx, hEnd);
  if (start == nullptr || end == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (start->captured || end->captured) return CUDA_ERROR_CAPTURED_EVENT;
  if ((start->flags | end->flags) & CU_EVENT_DISABLE_TIMING) return CUDA_ERROR_INVALID_HANDLE;
  if (!start->recorded || !end->recorded) return CUDA_ERROR_INVALID_HANDLE;
  *pMilliseconds = std::chrono::duration<float, std::milli>(end->when - start->when).count();
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuEventElapsedTime(float* pMilliseconds, CUevent hStart, CUevent hEnd) {
  return cuEventElapsedTime_v2(pMilliseconds, hStart, hEnd);
}

namespace {

// Stream memory operations (cuStreamWaitValue*, cuStreamWriteValue*): the value's bytes at addr
// must be aligned and lie in one region of any live context (unified addressing). Work runs at
// once, so a wait finds its condition holding now or never: one that does not hold fails with
// CUDA_ERROR_NOT_READY instead of hanging the thread (a real stream would block until another
// agent wrote the value).
template <class T>
bool wait_holds(T current, T value, unsigned type) {
  using S = std::make_signed_t<T>;
  switch (type) {
    case CU_STREAM_WAIT_VALUE_GEQ: return static_cast<S>(current - value) >= 0;
    case CU_STREAM_WAIT_VALUE_EQ: return current == value;
    case CU_STREAM_WAIT_VALUE_AND: return (current & value) != 0;
    default: return static_cast<T>(~(current | value)) != 0;  // CU_STREAM_WAIT_VALUE_NOR
  }
}

template <class T>
CUresult wait_value(CUstream stream, CUdeviceptr addr, T value, unsigned flags) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  constexpr unsigned kType = 0x3;  // GEQ, EQ, AND, NOR
  if ((flags & ~(kType | unsigned{CU_STREAM_WAIT_VALUE_FLUSH})) != 0) return CUDA_ERROR_INVALID_VALUE;
  if (!stream_ok(*l.ctx, stream)) return CUDA_ERROR_INVALID_HANDLE;
  if (addr % sizeof(T) != 0) return CUDA_ERROR_INVALID_VALUE;
  const RegionReader held = read_regions();
  if (!region_owner(held, addr, sizeof(T))) return CUDA_ERROR_INVALID_VALUE;
  std::shared_ptr<Capture> cap;
  if (CUresult r = capture_gate(*l.ctx, stream, cap); r != CUDA_SUCCESS) return r;
  if (cap) {
    // The fake cannot replay a wait that might not hold (see above): it refuses to capture one.
    cap->invalidated = true;
    return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
  }
  T current;
  std::memcpy(&current, reinterpret_cast<const void*>(addr), sizeof current);
  return wait_holds(current, value, flags & kType) ? CUDA_SUCCESS : CUDA_ERROR_NOT_READY;
}

template <class T>
CUresult write_value(CUstream stream, CUdeviceptr addr, T value, unsigned flags) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if ((flags & ~unsigned{CU_STREAM_WRITE_VALUE_NO_MEMORY_BARRIER}) != 0) return CUDA_ERROR_INVALID_VALUE;
  if (!stream_ok(*l.ctx, stream)) return CUDA_ERROR_INVALID_HANDLE;
  if (addr % sizeof(T) != 0) return CUDA_ERROR_INVALID_VALUE;
  const RegionReader held = read_regions();
  if (!region_owner(held, addr, sizeof(T))) return CUDA_ERROR_INVALID_VALUE;
  std::shared_ptr<Capture> cap;
  if (CUresult r = capture_gate(*l.ctx, stream, cap); r != CUDA_SUCCESS) return r;
  if (cap) {
    // Recorded as a one-element memset, which is what a write is.
    MemsetNode m{addr, 0, 1, 1, sizeof(T), {}};
    std::memcpy(m.value.data(), &value, sizeof value);
    m.write_value = true;
    capture_record(*cap, stream, std::move(m));
    return CUDA_SUCCESS;
  }
  std::memcpy(reinterpret_cast<void*>(addr), &value, sizeof value);
  return CUDA_SUCCESS;
}

}  // namespace

FAKE_CUDA_API CUresult CUDAAPI cuStreamWaitValue32_v2(CUstream stream, CUdeviceptr addr, cuuint32_t value,
                                                      unsigned int flags) {
  return wait_value(stream, addr, value, flags);
}

FAKE_CUDA_API CUresult CUDAAPI cuStreamWaitValue64_v2(CUstream stream, CUdeviceptr addr, cuuint64_t value,
                                                      unsigned int flags) {
  return wait_value(stream, addr, value, flags);
}

FAKE_CUDA_API CUresult CUDAAPI cuStreamWriteValue32_v2(CUstream stream, CUdeviceptr addr, cuuint32_t value,
                                                       unsigned int flags) {
  return write_value(stream, addr, value, flags);
}

FAKE_CUDA_API CUresult CUDAAPI cuStreamWriteValue64_v2(CUstream stream, CUdeviceptr addr, cuuint64_t value,
                                                       unsigned int flags) {
  return write_value(stream, addr, value, flags);
}
