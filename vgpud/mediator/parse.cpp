#include "vgpud/mediator/parse.h"

#include <cstring>
#include <string>

#include "vgpu/protocol/limits.h"
#include "vgpu/protocol/messages.h"

namespace vgpud {

using vgpu::Err;
using vgpu::Result;
namespace limits = vgpu::limits;

const char* parse_error_message(ParseError e) {
  switch (e) {
    case ParseError::TooShort: return "message shorter than its header";
    case ParseError::SizeMismatch: return "message size field disagrees with its length";
    case ParseError::UnknownCall: return "unknown call id";
    case ParseError::UnknownFlags: return "unknown flag bits";
    case ParseError::BadPayloadSize: return "payload size wrong for this call";
    case ParseError::FieldOutOfRange: return "a field is outside the protocol's limits";
  }
  return "unknown parse error";
}

int32_t parse_error_status(ParseError e) {
  return static_cast<int32_t>(e == ParseError::UnknownCall ? proto::Status::UnknownCall
                                                           : proto::Status::MalformedMessage);
}

namespace {

using Payload = std::span<const uint8_t>;
using Parsed = Result<Command, ParseError>;

// Reads a fixed wire struct from the front of the payload; *tail gets the rest.
template <typename Wire>
bool take(Payload p, Wire* out, Payload* tail) {
  if (p.size() < sizeof(Wire)) return false;
  std::memcpy(out, p.data(), sizeof(Wire));
  *tail = p.subspan(sizeof(Wire));
  return true;
}

// A payload that is exactly one wire struct.
template <typename Wire>
bool take_exact(Payload p, Wire* out) {
  Payload tail;
  return take(p, out, &tail) && tail.empty();
}

Err<ParseError> bad_size() { return Err{ParseError::BadPayloadSize}; }
Err<ParseError> out_of_range() { return Err{ParseError::FieldOutOfRange}; }

Parsed parse_empty(Payload p, Command value) {
  if (!p.empty()) return bad_size();
  return value;
}

Parsed parse_hello(Payload p) {
  proto::HelloRequest w;
  if (!take_exact(p, &w)) return bad_size();
  const size_t len = strnlen(w.process_name, sizeof w.process_name);
  return Command{HelloCmd{w.protocol_version, w.pid, std::string(w.process_name, len)}};
}

Parsed parse_device(Payload p, bool set) {
  proto::DeviceGetInfoRequest w;  // same layout as SetDeviceRequest
  static_assert(sizeof(proto::DeviceGetInfoRequest) == sizeof(proto::SetDeviceRequest));
  if (!take_exact(p, &w)) return bad_size();
  if (w.device >= limits::kMaxDevices) return out_of_range();
  if (set) return Command{SetDeviceCmd{w.device}};
  return Command{DeviceGetInfoCmd{w.device}};
}

Parsed parse_can_access_peer(Payload p) {
  proto::DeviceCanAccessPeerRequest w;
  if (!take_exact(p, &w)) return bad_size();
  if (w.device >= limits::kMaxDevices || w.peer >= limits::kMaxDevices) return out_of_range();
  return Command{DeviceCanAccessPeerCmd{w.device, w.peer}};
}

Parsed parse_peer_access(Payload p, bool enable) {
  proto::PeerAccessRequest w;
  if (!take_exact(p, &w)) return bad_size();
  if (w.peer >= limits::kMaxDevices) return out_of_range();
  if (enable) return Command{PeerAccessEnableCmd{w.peer, w.flags}};
  if (w.flags != 0) return out_of_range();
  return Command{PeerAccessDisableCmd{w.peer}};
}

Parsed parse_mem_alloc(Payload p) {
  proto::MemAllocRequest w;
  if (!take_exact(p, &w)) return bad_size();
  return Command{MemAllocCmd{w.size}};
}

Parsed parse_mem_free(Payload p) {
  proto::MemFreeRequest w;
  if (!take_exact(p, &w)) return bad_size();
  return Command{MemFreeCmd{w.device_ptr}};
}

Parsed parse_htod_inline(Payload p) {
  proto::MemcpyHtoDRequest w;
  Payload data;
  if (!take(p, &w, &data) || data.size() != w.size) return bad_size();
  if (w.size > limits::kMaxInlineCopy) return out_of_range();
  return Command{MemcpyHtoDInlineCmd{w.dst, w.stream, {data.begin(), data.end()}}};
}

Parsed parse_htod_staged(Payload p) {
  proto::MemcpyHtoDRequest w;
  if (!take_exact(p, &w)) return bad_size();
  if (w.size == 0 || w.size > limits::kMaxStagingSize) return out_of_range();
  return Command{MemcpyHtoDStagedCmd{w.dst, w.size, w.stream}};
}

Parsed parse_dtoh(Payload p, bool inline_copy) {
  proto::MemcpyDtoHRequest w;
  if (!take_exact(p, &w)) return bad_size();
  if (inline_copy) {
    if (w.size > limits::kMaxInlineCopy) return out_of_range();
    return Command{MemcpyDtoHInlineCmd{w.src, w.size, w.stream}};
  }
  return Command{MemcpyDtoHStagedCmd{w.src, w.size, w.stream}};
}

Parsed parse_shared(Payload p, bool to_device) {
  proto::MemcpySharedRequest w;
  if (!take_exact(p, &w)) return bad_size();
  return Command{MemcpySharedCmd{to_device, w.device_ptr, w.heap_offset, w.size, w.stream}};
}

Parsed parse_dtod(Payload p) {
  proto::MemcpyDtoDRequest w;
  if (!take_exact(p, &w)) return bad_size();
  return Command{MemcpyDtoDCmd{w.dst, w.src, w.size, w.stream}};
}

Parsed parse_memset(Payload p) {
  proto::MemsetRequest w;
  if (!take_exact(p, &w)) return bad_size();
  if (w.value > 0xff) return out_of_range();
  return Command{MemsetCmd{w.dst, w.count, w.stream, static_cast<uint8_t>(w.value)}};
}

Parsed parse_blob_append(Payload p) {
  proto::BlobAppendRequest w;
  if (!take_exact(p, &w)) return bad_size();
  if (w.size == 0 || w.size > limits::kMaxStagingSize) return out_of_range();
  return Command{BlobAppendCmd{w.size}};
}

Parsed parse_module_load(Payload p) {
  proto::ModuleLoadRequest w;
  if (!take_exact(p, &w)) return bad_size();
  if (w.size == 0 || w.size > limits::kMaxModuleImage) return out_of_range();
  return Command{ModuleLoadCmd{w.size}};
}

Parsed parse_module_unload(Payload p) {
  proto::ModuleUnloadRequest w;
  if (!take_exact(p, &w)) return bad_size();
  return Command{ModuleUnloadCmd{w.module}};
}

Parsed parse_symbol(Payload p, bool function) {
  proto::ModuleSymbolRequest w;
  Payload name;
  if (!take(p, &w, &name) || name.size() != w.name_length) return bad_size();
  if (w.name_length == 0 || w.name_length > limits::kMaxSymbolName) return out_of_range();
  if (std::memchr(name.data(), '\0', name.size()) != nullptr) return out_of_range();
  std::string s(reinterpret_cast<const char*>(name.data()), name.size());
  if (function) return Command{ModuleGetFunctionCmd{w.module, std::move(s)}};
  return Command{ModuleGetGlobalCmd{w.module, std::move(s)}};
}

Parsed parse_launch(Payload p) {
  proto::LaunchKernelRequest w;
  Payload params;
  if (!take(p, &w, &params) || params.size() != w.param_bytes) return bad_size();
  if (w.param_bytes > limits::kMaxKernelParamBytes) return out_of_range();
  for (int i = 0; i < 3; ++i)
    if (w.grid[i] == 0 || w.block[i] == 0) return out_of_range();
  LaunchKernelCmd c{w.function, {w.grid[0], w.grid[1], w.grid[2]},
                    {w.block[0], w.block[1], w.block[2]}, w.shared_mem_bytes, w.stream,
                    {params.begin(), params.end()}};
  return Command{std::move(c)};
}

Parsed parse_function(Payload p) {
  proto::FunctionRequest w;
  if (!take_exact(p, &w)) return bad_size();
  return Command{FuncGetAttributesCmd{w.function}};
}

Parsed parse_func_set_attribute(Payload p) {
  proto::FuncSetAttributeRequest w;
  if (!take_exact(p, &w)) return bad_size();
  if (w.attribute < 0 || w.attribute >= static_cast<int32_t>(limits::kMaxFunctionAttributes))
    return out_of_range();
  return Command{FuncSetAttributeCmd{w.function, w.attribute, w.value}};
}

Parsed parse_occupancy(Payload p) {
  proto::OccupancyMaxBlocksRequest w;
  if (!take_exact(p, &w)) return bad_size();
  if (w.block_size <= 0) return out_of_range();
  return Command{OccupancyMaxBlocksCmd{w.function, w.block_size, w.dynamic_shared_mem, w.flags}};
}

Parsed parse_stream_create(Payload p) {
  proto::StreamCreateRequest w;
  if (!take_exact(p, &w)) return bad_size();
  if (w.flags > 1) return out_of_range();  // CU_STREAM_DEFAULT or CU_STREAM_NON_BLOCKING
  return Command{StreamCreateCmd{w.flags, w.priority}};
}

template <typename Cmd>
Parsed parse_stream(Payload p) {
  proto::StreamRequest w;
  if (!take_exact(p, &w)) return bad_size();
  return Command{Cmd{w.stream}};
}

Parsed parse_stream_wait_event(Payload p) {
  proto::StreamWaitEventRequest w;
  if (!take_exact(p, &w)) return bad_size();
  return Command{StreamWaitEventCmd{w.stream, w.event, w.flags}};
}

Parsed parse_event_create(Payload p) {
  proto::EventCreateRequest w;
  if (!take_exact(p, &w)) return bad_size();
  if (w.flags & ~0xfu) return out_of_range();  // CU_EVENT_* bits
  return Command{EventCreateCmd{w.flags}};
}

template <typename Cmd>
Parsed parse_event(Payload p) {
  proto::EventRequest w;
  if (!take_exact(p, &w)) return bad_size();
  return Command{Cmd{w.event}};
}

Parsed parse_event_record(Payload p) {
  proto::EventRecordRequest w;
  if (!take_exact(p, &w)) return bad_size();
  return Command{EventRecordCmd{w.event, w.stream}};
}

Parsed parse_elapsed(Payload p) {
  proto::EventElapsedTimeRequest w;
  if (!take_exact(p, &w)) return bad_size();
  return Command{EventElapsedTimeCmd{w.start, w.end}};
}

Parsed parse_body(proto::CallId call, Payload p) {
  using proto::CallId;
  switch (call) {
    case CallId::Hello: return parse_hello(p);
    case CallId::Ping: return parse_empty(p, PingCmd{});
    case CallId::DeviceGetInfo: return parse_device(p, false);
    case CallId::SetDevice: return parse_device(p, true);
    case CallId::DeviceSynchronize: return parse_empty(p, DeviceSynchronizeCmd{});
    case CallId::DeviceReset: return parse_empty(p, DeviceResetCmd{});
    case CallId::MemGetInfo: return parse_empty(p, MemGetInfoCmd{});
    case CallId::DeviceCanAccessPeer: return parse_can_access_peer(p);
    case CallId::PeerAccessEnable: return parse_peer_access(p, true);
    case CallId::PeerAccessDisable: return parse_peer_access(p, false);
    case CallId::MemAlloc: return parse_mem_alloc(p);
    case CallId::MemFree: return parse_mem_free(p);
    case CallId::MemcpyHtoDInline: return parse_htod_inline(p);
    case CallId::MemcpyHtoDStaged: return parse_htod_staged(p);
    case CallId::MemcpyHtoDShared: return parse_shared(p, true);
    case CallId::MemcpyDtoHInline: return parse_dtoh(p, true);
    case CallId::MemcpyDtoHStaged: return parse_dtoh(p, false);
    case CallId::MemcpyDtoHShared: return parse_shared(p, false);
    case CallId::MemcpyDtoD: return parse_dtod(p);
    case CallId::Memset: return parse_memset(p);
    case CallId::BlobAppend: return parse_blob_append(p);
    case CallId::ModuleLoad: return parse_module_load(p);
    case CallId::ModuleUnload: return parse_module_unload(p);
    case CallId::ModuleGetFunction: return parse_symbol(p, true);
    case CallId::ModuleGetGlobal: return parse_symbol(p, false);
    case CallId::LaunchKernel: return parse_launch(p);
    case CallId::FuncGetAttributes: return parse_function(p);
    case CallId::FuncSetAttribute: return parse_func_set_attribute(p);
    case CallId::OccupancyMaxBlocks: return parse_occupancy(p);
    case CallId::StreamCreate: return parse_stream_create(p);
    case CallId::StreamDestroy: return parse_stream<StreamDestroyCmd>(p);
    case CallId::StreamSynchronize: return parse_stream<StreamSynchronizeCmd>(p);
    case CallId::StreamQuery: return parse_stream<StreamQueryCmd>(p);
    case CallId::StreamWaitEvent: return parse_stream_wait_event(p);
    case CallId::EventCreate: return parse_event_create(p);
    case CallId::EventDestroy: return parse_event<EventDestroyCmd>(p);
    case CallId::EventRecord: return parse_event_record(p);
    case CallId::EventSynchronize: return parse_event<EventSynchronizeCmd>(p);
    case CallId::EventQuery: return parse_event<EventQueryCmd>(p);
    case CallId::EventElapsedTime: return parse_elapsed(p);
  }
  return Err{ParseError::UnknownCall};
}

}  // namespace

Result<proto::RequestHeader, ParseError> parse_header(std::span<const uint8_t> bytes) {
  proto::RequestHeader h;
  if (bytes.size() < sizeof h) return Err{ParseError::TooShort};
  std::memcpy(&h, bytes.data(), sizeof h);
  if (h.size < sizeof h || h.size > limits::kMaxMessageSize) return Err{ParseError::SizeMismatch};
  if (h.flags & ~proto::kKnownRequestFlags) return Err{ParseError::UnknownFlags};
  return h;
}

Result<Request, ParseError> parse_request(std::span<const uint8_t> message) {
  auto header = parse_header(message);
  if (!header) return Err{header.error()};
  if (header->size != message.size()) return Err{ParseError::SizeMismatch};
  const auto call = static_cast<proto::CallId>(header->call);
  auto body = parse_body(call, message.subspan(sizeof(proto::RequestHeader)));
  if (!body) return Err{body.error()};
  return Request{call, header->flags, header->seq, std::move(body).value()};
}

bool Request::needs_reply() const { return (flags & proto::kFlagNeedsReply) != 0; }
bool Request::synchronize() const { return (flags & proto::kFlagSynchronize) != 0; }

}  // namespace vgpud
