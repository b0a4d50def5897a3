#include "vgpud/mediator/parse.h"

#include <cstring>
#include <string>
#include <utility>

#include "vgpu/protocol/graph_edge.h"
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

Err<ParseError> bad_size() { return Err{ParseError::BadPayloadSize}; }
Err<ParseError> out_of_range() { return Err{ParseError::FieldOutOfRange}; }

// Hand-written checks that protocol/calls.yaml names as a call's `hook:` go here, above the
// include: `bool name(const proto::<Request>& w)` (or `(..., Payload tail)` for a call with a
// tail), true when the request is acceptable.

// MEMCPY_ARRAY: an array at one end at least (the other copies have their own calls), data in
// the message or the reply at one end at most, and a tail of exactly the bytes a tail source
// holds (none otherwise); what comes back in the reply fits in one.
bool array_copy_shape_ok(const proto::MemcpyArrayRequest& w, Payload tail) {
  constexpr uint32_t kArray = 1, kInline = 3;
  if (w.src_kind != kArray && w.dst_kind != kArray) return false;
  if (w.src_kind == kInline && w.dst_kind == kInline) return false;
  uint64_t rows = 0, bytes = 0;
  if (__builtin_mul_overflow(w.height, w.depth, &rows) || __builtin_mul_overflow(rows, w.width, &bytes)) return false;
  if (w.src_kind == kInline) return bytes == tail.size();
  if (!tail.empty()) return false;
  return w.dst_kind != kInline || bytes <= limits::kMaxInlineCopy;
}

// GRAPH_ADD_DEPENDENCIES, GRAPH_REMOVE_DEPENDENCIES: whole edges, each with data the driver
// defines. Which combinations it takes is the driver's to say (graph_edge.h).
bool graph_edges_ok(Payload tail) {
  if (tail.size() % sizeof(proto::GraphEdge) != 0) return false;
  for (size_t at = 0; at < tail.size(); at += sizeof(proto::GraphEdge)) {
    proto::GraphEdge e;
    std::memcpy(&e, tail.data() + at, sizeof e);
    if (!proto::edge_data_known(e)) return false;
  }
  return true;
}
bool graph_edges_ok(const proto::GraphAddDependenciesRequest&, Payload tail) { return graph_edges_ok(tail); }
bool graph_edges_ok(const proto::GraphRemoveDependenciesRequest&, Payload tail) { return graph_edges_ok(tail); }

// parse_<call>() for each call and parse_body(), the dispatch on the call id; generated from
// protocol/calls.yaml (build tree: protocol/generated/vgpud/mediator/parse_calls.gen.inc).
#include "vgpud/mediator/parse_calls.gen.inc"

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
