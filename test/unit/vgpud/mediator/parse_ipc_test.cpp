// The checks of the calls that share between processes (docs/design.md §25), as parse_request()
// applies them: the one IPC open flag and the one shareable handle type get through, anything
// past them is FieldOutOfRange; the commands carry the token and the flag.
#include <catch2/catch.hpp>

#include <cstring>
#include <variant>
#include <vector>

#include "vgpu/protocol/call_traits.gen.h"
#include "vgpud/mediator/parse.h"

using namespace vgpu::proto;
using vgpud::ParseError;

namespace {

template <CallId Id>
vgpu::Result<vgpud::Request, ParseError> parse(const RequestOf<Id>& request) {
  const uint32_t total = static_cast<uint32_t>(sizeof(RequestHeader) + sizeof request);
  std::vector<uint8_t> m(total);
  const RequestHeader h{total, static_cast<uint16_t>(Id), kFlagNeedsReply, 3};
  std::memcpy(m.data(), &h, sizeof h);
  std::memcpy(m.data() + sizeof h, &request, sizeof request);
  return vgpud::parse_request(m);
}

}  // namespace

TEST_CASE("an IPC open takes the lazy peer access flag and nothing else", "[parse][hostile][ipc]") {
  for (uint32_t flags : {0u, 1u}) {
    auto r = parse<CallId::IpcOpenMemHandle>({0x1234, 0x5678, flags, 0});
    REQUIRE(r.ok());
    const auto& cmd = std::get<vgpud::IpcOpenMemHandleCmd>(r->command);
    CHECK(cmd.token_lo == 0x1234);
    CHECK(cmd.token_hi == 0x5678);
    CHECK(cmd.flags == flags);
  }
  for (uint32_t flags : {2u, 3u, 0x80000000u}) {
    auto r = parse<CallId::IpcOpenMemHandle>({1, 2, flags, 0});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == ParseError::FieldOutOfRange);
  }
}

TEST_CASE("a physical allocation is shareable as a POSIX file descriptor or not at all", "[parse][hostile][ipc]") {
  REQUIRE(parse<CallId::MemCreate>({1 << 21, 0, 0}).ok());
  auto shareable = parse<CallId::MemCreate>({1 << 21, 0, 1});
  REQUIRE(shareable.ok());
  CHECK(std::get<vgpud::MemCreateCmd>(shareable->command).handle_types == 1);
  for (uint32_t types : {2u, 8u, 0x10u}) {  // Win32, fabric: not offered
    auto r = parse<CallId::MemCreate>({1 << 21, 0, types});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == ParseError::FieldOutOfRange);
  }
}

TEST_CASE("tokens travel as they are", "[parse][ipc]") {
  auto r = parse<CallId::MemImportShareable>({~uint64_t{0}, 0});
  REQUIRE(r.ok());
  CHECK(std::get<vgpud::MemImportShareableCmd>(r->command).token_lo == ~uint64_t{0});
  auto e = parse<CallId::IpcOpenEventHandle>({7, 8});
  REQUIRE(e.ok());
  CHECK(std::get<vgpud::IpcOpenEventHandleCmd>(e->command).token_hi == 8);
}
