// What the parser makes of one well-formed message of call `Id` (the fixed request, then
// `tail`): "ok", "FieldOutOfRange", "BadPayloadSize" or "other". Shared by the parse tests of
// each call family.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "vgpu/protocol/call_traits.gen.h"
#include "vgpud/mediator/parse.h"

namespace parse_test {

template <vgpu::proto::CallId Id>
std::string parse(const vgpu::proto::RequestOf<Id>& request, const std::string& tail = {}) {
  using vgpu::proto::RequestHeader;
  const uint32_t total = static_cast<uint32_t>(sizeof(RequestHeader) + sizeof request + tail.size());
  std::vector<uint8_t> m(total);
  const RequestHeader h{total, static_cast<uint16_t>(Id), vgpu::proto::kFlagNeedsReply, 3};
  std::memcpy(m.data(), &h, sizeof h);
  std::memcpy(m.data() + sizeof h, &request, sizeof request);
  std::memcpy(m.data() + sizeof h + sizeof request, tail.data(), tail.size());
  const auto r = vgpud::parse_request(m);
  if (r.ok()) return "ok";
  return r.error() == vgpud::ParseError::FieldOutOfRange  ? "FieldOutOfRange"
         : r.error() == vgpud::ParseError::BadPayloadSize ? "BadPayloadSize"
                                                          : "other";
}

}  // namespace parse_test
