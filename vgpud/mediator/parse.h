// Turning one message, already copied out of shared memory, into a validated Request.
// Pure functions: bytes in, typed value or error out. Structural checks live here (sizes,
// flags, lengths against limits.h; each call's are declared in protocol/calls.yaml and its
// parse function generated from them); checks that need state (handles, device ranges) are
// the executor's, against its own tables.
#pragma once
#include <cstdint>
#include <span>

#include "vgpu/common/result.h"
#include "vgpu/protocol/messages.h"
#include "vgpud/request/request.h"

namespace vgpud {

enum class ParseError {
  TooShort,          // fewer bytes than a header
  SizeMismatch,      // header.size disagrees with the bytes given
  UnknownCall,       // call id not in calls.h
  UnknownFlags,      // flag bits outside kKnownRequestFlags
  BadPayloadSize,    // payload is not the size this call requires
  FieldOutOfRange,   // a length, dimension or value outside what the protocol allows
};
const char* parse_error_message(ParseError e);

// The status a guest gets for a message rejected with this error.
int32_t parse_error_status(ParseError e);

// Parses a whole request: header and payload. `message` is exactly header.size bytes.
vgpu::Result<Request, ParseError> parse_request(std::span<const uint8_t> message);

}  // namespace vgpud

namespace vgpud {
// Only the header: size, flags and call id checked. Used for the first bytes read off the ring
// and to address a rejection when the body does not parse.
vgpu::Result<proto::RequestHeader, ParseError> parse_header(std::span<const uint8_t> bytes);
}  // namespace vgpud
