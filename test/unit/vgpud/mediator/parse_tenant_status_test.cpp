// TENANT_STATUS's one check, as parse_request() applies it: the slot a page starts from lies
// among the tenant's process slots; past them the request is FieldOutOfRange (and counted).
#include <catch2/catch.hpp>

#include <cstring>
#include <variant>
#include <vector>

#include "vgpu/protocol/call_traits.gen.h"
#include "vgpu/protocol/limits.h"
#include "vgpud/mediator/parse.h"

using namespace vgpu::proto;
using vgpud::ParseError;

namespace {

vgpu::Result<vgpud::Request, ParseError> parse_bytes(const std::vector<uint8_t>& payload) {
  const uint32_t total = static_cast<uint32_t>(sizeof(RequestHeader) + payload.size());
  std::vector<uint8_t> m(total);
  const RequestHeader h{total, static_cast<uint16_t>(CallId::TenantStatus), kFlagNeedsReply, 7};
  std::memcpy(m.data(), &h, sizeof h);
  if (!payload.empty()) std::memcpy(m.data() + sizeof h, payload.data(), payload.size());
  return vgpud::parse_request(m);
}

std::vector<uint8_t> bytes_of(const TenantStatusRequest& r) {
  std::vector<uint8_t> out(sizeof r);
  std::memcpy(out.data(), &r, sizeof r);
  return out;
}

}  // namespace

TEST_CASE("a tenant status page starts at one of the tenant's process slots", "[parse][hostile][nvml]") {
  for (uint32_t slot : {0u, 1u, vgpu::limits::kMaxTenantProcessSlots - 1}) {
    auto r = parse_bytes(bytes_of({slot, 0}));
    REQUIRE(r.ok());
    CHECK(std::get<vgpud::TenantStatusCmd>(r->command).first_slot == slot);
  }
  for (uint32_t slot : {vgpu::limits::kMaxTenantProcessSlots, 0xFFFFFFFFu}) {
    auto r = parse_bytes(bytes_of({slot, 0}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == ParseError::FieldOutOfRange);
  }
}

TEST_CASE("a tenant status request of the wrong size does not parse", "[parse][hostile][nvml]") {
  REQUIRE_FALSE(parse_bytes({}).ok());
  REQUIRE_FALSE(parse_bytes(std::vector<uint8_t>(sizeof(TenantStatusRequest) + 8)).ok());
}
