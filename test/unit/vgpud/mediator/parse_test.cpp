#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "vgpu/protocol/messages.h"
#include "vgpud/mediator/parse.h"

using namespace vgpu::proto;
using vgpud::ParseError;

namespace {

template <typename Payload>
std::vector<uint8_t> message(CallId call, const Payload& p, const std::string& tail = {},
                             uint16_t flags = kFlagNeedsReply) {
  const uint32_t size = sizeof(RequestHeader) + sizeof(Payload) + tail.size();
  std::vector<uint8_t> m(size);
  const RequestHeader h{size, static_cast<uint16_t>(call), flags, 42};
  std::memcpy(m.data(), &h, sizeof h);
  std::memcpy(m.data() + sizeof h, &p, sizeof p);
  std::memcpy(m.data() + sizeof h + sizeof p, tail.data(), tail.size());
  return m;
}

}  // namespace

TEST_CASE("MemAlloc parses into its validated type", "[parse]") {
  auto r = vgpud::parse_request(message(CallId::MemAlloc, MemAllocRequest{4096}));
  REQUIRE(r.ok());
  REQUIRE(r->seq == 42);
  REQUIRE(r->needs_reply());
  REQUIRE(std::get<vgpud::MemAllocCmd>(r->command).size == 4096);
}

TEST_CASE("Ping carries nothing", "[parse]") {
  std::vector<uint8_t> m(sizeof(RequestHeader));
  const RequestHeader h{sizeof(RequestHeader), static_cast<uint16_t>(CallId::Ping), kFlagNeedsReply, 7};
  std::memcpy(m.data(), &h, sizeof h);
  auto r = vgpud::parse_request(m);
  REQUIRE(r.ok());
  REQUIRE(std::holds_alternative<vgpud::PingCmd>(r->command));
  REQUIRE(vgpud::parse_request(message(CallId::Ping, MemAllocRequest{1})).error() ==
          ParseError::BadPayloadSize);
}

TEST_CASE("header checks", "[parse][hostile]") {
  auto m = message(CallId::MemAlloc, MemAllocRequest{1});
  SECTION("too short") {
    REQUIRE(vgpud::parse_header(std::span(m).first(8)).error() == ParseError::TooShort);
  }
  SECTION("size field disagrees with the bytes") {
    reinterpret_cast<RequestHeader*>(m.data())->size += 8;
    REQUIRE(vgpud::parse_request(m).error() == ParseError::SizeMismatch);
  }
  SECTION("size beyond the message limit") {
    reinterpret_cast<RequestHeader*>(m.data())->size = 1u << 30;
    REQUIRE(vgpud::parse_header(m).error() == ParseError::SizeMismatch);
  }
  SECTION("unknown flags") {
    reinterpret_cast<RequestHeader*>(m.data())->flags = 0x80;
    REQUIRE(vgpud::parse_header(m).error() == ParseError::UnknownFlags);
  }
  SECTION("unknown call") {
    reinterpret_cast<RequestHeader*>(m.data())->call = 0x7777;
    REQUIRE(vgpud::parse_request(m).error() == ParseError::UnknownCall);
  }
}

TEST_CASE("payload size must match the call", "[parse][hostile]") {
  auto m = message(CallId::MemFree, MemAllocRequest{1}, "xxxxxxxx");
  REQUIRE(vgpud::parse_request(m).error() == ParseError::BadPayloadSize);
}

TEST_CASE("inline copy length must equal the data carried", "[parse][hostile]") {
  MemcpyHtoDRequest req{0x1000, 16, 0};
  REQUIRE(vgpud::parse_request(message(CallId::MemcpyHtoDInline, req, std::string(16, 'a'))).ok());
  REQUIRE(vgpud::parse_request(message(CallId::MemcpyHtoDInline, req, std::string(8, 'a'))).error() ==
          ParseError::BadPayloadSize);
}

TEST_CASE("symbol names are bounded and NUL-free", "[parse][hostile]") {
  ModuleSymbolRequest req{1, 5};
  auto ok = vgpud::parse_request(message(CallId::ModuleGetFunction, req, "hello"));
  REQUIRE(ok.ok());
  REQUIRE(std::get<vgpud::ModuleGetFunctionCmd>(ok->command).name == "hello");
  REQUIRE(vgpud::parse_request(message(CallId::ModuleGetFunction, req, std::string("he\0lo", 5)))
              .error() == ParseError::FieldOutOfRange);
  req.name_length = 0;
  REQUIRE(vgpud::parse_request(message(CallId::ModuleGetFunction, req)).error() ==
          ParseError::FieldOutOfRange);
}

TEST_CASE("launch dimensions and parameter sizes are checked", "[parse][hostile]") {
  LaunchKernelRequest req{};
  req.function = 1;
  for (int i = 0; i < 3; ++i) req.grid[i] = req.block[i] = 1;
  req.param_bytes = 8;
  REQUIRE(vgpud::parse_request(message(CallId::LaunchKernel, req, std::string(8, 'p'))).ok());
  req.block[1] = 0;
  REQUIRE(vgpud::parse_request(message(CallId::LaunchKernel, req, std::string(8, 'p'))).error() ==
          ParseError::FieldOutOfRange);
  req.block[1] = 1;
  req.param_bytes = 9;
  REQUIRE(vgpud::parse_request(message(CallId::LaunchKernel, req, std::string(8, 'p'))).error() ==
          ParseError::BadPayloadSize);
}

TEST_CASE("memset value must be a byte", "[parse][hostile]") {
  MemsetRequest req{0x1000, 4, 0, 0x1ff, 0};
  REQUIRE(vgpud::parse_request(message(CallId::Memset, req)).error() == ParseError::FieldOutOfRange);
}

TEST_CASE("peer calls parse into validated types", "[parse]") {
  auto can = vgpud::parse_request(message(CallId::DeviceCanAccessPeer, DeviceCanAccessPeerRequest{1, 0}));
  REQUIRE(can.ok());
  const auto& c = std::get<vgpud::DeviceCanAccessPeerCmd>(can->command);
  REQUIRE((c.device == 1 && c.peer == 0));

  auto enable = vgpud::parse_request(message(CallId::PeerAccessEnable, PeerAccessRequest{3, 0}));
  REQUIRE(enable.ok());
  REQUIRE(std::get<vgpud::PeerAccessEnableCmd>(enable->command).peer == 3);

  auto disable = vgpud::parse_request(message(CallId::PeerAccessDisable, PeerAccessRequest{2, 0}));
  REQUIRE(disable.ok());
  REQUIRE(std::get<vgpud::PeerAccessDisableCmd>(disable->command).peer == 2);
}

TEST_CASE("peer calls reject devices the protocol cannot name", "[parse][hostile]") {
  const uint32_t beyond = vgpu::limits::kMaxDevices;
  REQUIRE(vgpud::parse_request(message(CallId::DeviceCanAccessPeer, DeviceCanAccessPeerRequest{beyond, 0})).error() ==
          ParseError::FieldOutOfRange);
  REQUIRE(vgpud::parse_request(message(CallId::DeviceCanAccessPeer, DeviceCanAccessPeerRequest{0, beyond})).error() ==
          ParseError::FieldOutOfRange);
  REQUIRE(vgpud::parse_request(message(CallId::PeerAccessEnable, PeerAccessRequest{beyond, 0})).error() ==
          ParseError::FieldOutOfRange);
  // Disable takes no flags at all; enable passes them to the driver, which judges them.
  REQUIRE(vgpud::parse_request(message(CallId::PeerAccessDisable, PeerAccessRequest{1, 1})).error() ==
          ParseError::FieldOutOfRange);
  REQUIRE(vgpud::parse_request(message(CallId::PeerAccessEnable, PeerAccessRequest{1, 1})).ok());
  REQUIRE(vgpud::parse_request(message(CallId::PeerAccessEnable, ModuleLoadRequest{1, 0})).error() ==
          ParseError::BadPayloadSize);
}
