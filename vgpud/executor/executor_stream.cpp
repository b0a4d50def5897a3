// Handlers for streams and events. Guests hold opaque ids; the driver objects stay here.
#include <fmt/format.h>

#include "vgpud/executor/call_checks.h"
#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/reply_payload.h"
#include "vgpud/log/log.h"

namespace vgpud {

int32_t ChannelExecutor::handle(const StreamCreateCmd& cmd, Reply& reply) {
  if (int32_t st = require_context()) return st;
  if (objects_.streams.full()) return limit_exceeded();
  CUstream s = nullptr;
  const CUresult r = traced("cuStreamCreateWithPriority",
                            cu_.cuStreamCreateWithPriority(&s, cmd.flags, cmd.priority));
  if (r != CUDA_SUCCESS) return r;
  put(reply.payload, proto::StreamCreateReply{objects_.streams.insert(Stream{s, contexts_.current()})});
  return 0;
}

int32_t ChannelExecutor::handle(const StreamDestroyCmd& cmd, Reply&) {
  Stream* s = objects_.streams.find(cmd.stream);
  if (s == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (int32_t st = require_context()) return st;
  const CUresult r = contexts_.in_context_of(s->device, [&] {
    // A capture the stream began ends first, so that the graph ids the channel gave it stay true.
    if (capturing_.count(cmd.stream) != 0) drop_capture(cmd.stream, s->handle);
    return traced("cuStreamDestroy", cu_.cuStreamDestroy(s->handle));
  });
  objects_.streams.erase(cmd.stream);
  return r;
}

int32_t ChannelExecutor::handle(const StreamSynchronizeCmd& cmd, Reply&) {
  if (int32_t st = require_context()) return st;
  CUstream s;
  if (!objects_.resolve_stream(cmd.stream, &s)) return CUDA_ERROR_INVALID_HANDLE;
  return traced("cuStreamSynchronize", cu_.cuStreamSynchronize(s));
}

int32_t ChannelExecutor::handle(const StreamQueryCmd& cmd, Reply&) {
  if (int32_t st = require_context()) return st;
  CUstream s;
  if (!objects_.resolve_stream(cmd.stream, &s)) return CUDA_ERROR_INVALID_HANDLE;
  return cu_.cuStreamQuery(s);  // NOT_READY is an answer, not a driver error
}

int32_t ChannelExecutor::handle(const StreamWaitEventCmd& cmd, Reply&) {
  if (int32_t st = require_context()) return st;
  CUstream s;
  if (!objects_.resolve_stream(cmd.stream, &s)) return CUDA_ERROR_INVALID_HANDLE;
  Event* e = objects_.events.find(cmd.event);
  if (e == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  return traced("cuStreamWaitEvent", cu_.cuStreamWaitEvent(s, e->handle, cmd.flags));
}

// The checks both memory operations share: 0, or the status to answer. The value's `width`
// bytes at `address` must be aligned and lie in one range of the channel's.
int32_t ChannelExecutor::stream_value_checks(uint64_t stream_id, uint64_t address, uint32_t width, uint32_t flags,
                                             uint32_t known_flags, CUstream* stream) {
  if (int32_t st = require_context()) return st;
  if (!objects_.resolve_stream(stream_id, stream)) return CUDA_ERROR_INVALID_HANDLE;
  if (!stream_value_shape_ok(address, width) || (flags & ~known_flags) != 0) return CUDA_ERROR_INVALID_VALUE;
  if (!objects_.memory.contains(address, width)) return CUDA_ERROR_INVALID_VALUE;
  return 0;
}

int32_t ChannelExecutor::handle(const StreamWaitValueCmd& cmd, Reply&) {
  CUstream s = nullptr;
  if (int32_t st = stream_value_checks(cmd.stream, cmd.address, cmd.width, cmd.flags, kStreamWaitValueFlags, &s))
    return st;
  const std::string detail = fmt::format("addr=0x{:x} value={} flags=0x{:x}", cmd.address, cmd.value, cmd.flags);
  if (cmd.width == 4)
    return traced("cuStreamWaitValue32",
                  cu_.cuStreamWaitValue32(s, cmd.address, static_cast<cuuint32_t>(cmd.value), cmd.flags), detail);
  return traced("cuStreamWaitValue64", cu_.cuStreamWaitValue64(s, cmd.address, cmd.value, cmd.flags), detail);
}

int32_t ChannelExecutor::handle(const StreamWriteValueCmd& cmd, Reply&) {
  CUstream s = nullptr;
  if (int32_t st = stream_value_checks(cmd.stream, cmd.address, cmd.width, cmd.flags, kStreamWriteValueFlags, &s))
    return st;
  const std::string detail = fmt::format("addr=0x{:x} value={} flags=0x{:x}", cmd.address, cmd.value, cmd.flags);
  if (cmd.width == 4)
    return traced("cuStreamWriteValue32",
                  cu_.cuStreamWriteValue32(s, cmd.address, static_cast<cuuint32_t>(cmd.value), cmd.flags), detail);
  return traced("cuStreamWriteValue64", cu_.cuStreamWriteValue64(s, cmd.address, cmd.value, cmd.flags), detail);
}

int32_t ChannelExecutor::handle(const EventCreateCmd& cmd, Reply& reply) {
  if (int32_t st = require_context()) return st;
  if (objects_.events.full()) return limit_exceeded();
  CUevent e = nullptr;
  const CUresult r = traced("cuEventCreate", cu_.cuEventCreate(&e, cmd.flags));
  if (r != CUDA_SUCCESS) return r;
  put(reply.payload, proto::EventCreateReply{objects_.events.insert(Event{e, contexts_.current()}), 0});
  return 0;
}

int32_t ChannelExecutor::handle(const EventDestroyCmd& cmd, Reply&) {
  Event* e = objects_.events.find(cmd.event);
  if (e == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  if (int32_t st = require_context()) return st;
  const CUresult r = contexts_.in_context_of(
      e->device, [&] { return traced("cuEventDestroy", cu_.cuEventDestroy(e->handle)); });
  objects_.events.erase(cmd.event);
  ipc_withdraw_event(cmd.event);  // no process of the tenant opens it any more (executor_ipc.cpp)
  return r;
}

int32_t ChannelExecutor::handle(const EventRecordCmd& cmd, Reply&) {
  if (int32_t st = require_context()) return st;
  Event* e = objects_.events.find(cmd.event);
  if (e == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  CUstream s;
  if (!objects_.resolve_stream(cmd.stream, &s)) return CUDA_ERROR_INVALID_HANDLE;
  return traced("cuEventRecord", cu_.cuEventRecord(e->handle, s));
}

int32_t ChannelExecutor::handle(const EventSynchronizeCmd& cmd, Reply&) {
  if (int32_t st = require_context()) return st;
  Event* e = objects_.events.find(cmd.event);
  if (e == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  return traced("cuEventSynchronize", cu_.cuEventSynchronize(e->handle));
}

int32_t ChannelExecutor::handle(const EventQueryCmd& cmd, Reply&) {
  if (int32_t st = require_context()) return st;
  Event* e = objects_.events.find(cmd.event);
  if (e == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  return cu_.cuEventQuery(e->handle);  // NOT_READY is an answer, not a driver error
}

int32_t ChannelExecutor::handle(const EventElapsedTimeCmd& cmd, Reply& reply) {
  if (int32_t st = require_context()) return st;
  Event* start = objects_.events.find(cmd.start);
  Event* end = objects_.events.find(cmd.end);
  if (start == nullptr || end == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  float ms = 0;
  const CUresult r =
      traced("cuEventElapsedTime", cu_.cuEventElapsedTime(&ms, start->handle, end->handle));
  if (r != CUDA_SUCCESS) return r;
  put(reply.payload, proto::EventElapsedTimeReply{ms, 0});
  return 0;
}

}  // namespace vgpud
