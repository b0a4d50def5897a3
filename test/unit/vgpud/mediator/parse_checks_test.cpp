// The checks protocol/calls.yaml declares, as parse_request() applies them: each bound lets its
// edge through and rejects one past it with FieldOutOfRange; every call refuses a payload of the
// wrong size with BadPayloadSize. (parse_test.cpp has the header checks and the tails.)
#include <catch2/catch.hpp>

#include <cstring>
#include <iterator>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "vgpu/protocol/call_traits.gen.h"
#include "vgpud/mediator/parse.h"

using namespace vgpu::proto;
namespace limits = vgpu::limits;
using vgpud::ParseError;

namespace {

std::vector<uint8_t> message(CallId call, const void* payload, size_t size, const std::string& tail = {}) {
  const uint32_t total = static_cast<uint32_t>(sizeof(RequestHeader) + size + tail.size());
  std::vector<uint8_t> m(total);
  const RequestHeader h{total, static_cast<uint16_t>(call), kFlagNeedsReply, 9};
  std::memcpy(m.data(), &h, sizeof h);
  if (size > 0) std::memcpy(m.data() + sizeof h, payload, size);
  if (!tail.empty()) std::memcpy(m.data() + sizeof h + size, tail.data(), tail.size());
  return m;
}

template <CallId Id>
vgpu::Result<vgpud::Request, ParseError> parse(const RequestOf<Id>& request, const std::string& tail = {}) {
  return vgpud::parse_request(message(Id, &request, sizeof request, tail));
}

// ok() for a message that parses, else the error's name; for readable failures.
template <typename R>
std::string outcome(const R& r) {
  if (r.ok()) return "ok";
  return r.error() == ParseError::FieldOutOfRange ? "FieldOutOfRange"
         : r.error() == ParseError::BadPayloadSize ? "BadPayloadSize"
                                                   : "other";
}

// Every call: one byte too many, and (with a request) one byte too few.
template <size_t... I>
void check_all_sizes(std::index_sequence<I...>) {
  auto one = [](auto id_constant) {
    constexpr CallId id = decltype(id_constant)::value;
    INFO(call_name(id));
    std::vector<uint8_t> payload(sizeof(RequestOf<id>) + 1, 0);
    if constexpr (std::is_same_v<RequestOf<id>, NoPayload>) payload.assign(1, 0);
    CHECK(outcome(vgpud::parse_request(message(id, payload.data(), payload.size()))) == "BadPayloadSize");
    if constexpr (!std::is_same_v<RequestOf<id>, NoPayload>) {
      CHECK(outcome(vgpud::parse_request(message(id, payload.data(), sizeof(RequestOf<id>) - 1))) ==
            "BadPayloadSize");
    }
  };
  (one(std::integral_constant<CallId, kAllCalls[I]>{}), ...);
}

}  // namespace

TEST_CASE("every call refuses a payload of the wrong size", "[parse][hostile]") {
  check_all_sizes(std::make_index_sequence<std::size(kAllCalls)>{});
}

TEST_CASE("device numbers stay below kMaxDevices", "[parse][hostile]") {
  CHECK(outcome(parse<CallId::SetDevice>({limits::kMaxDevices - 1, 0})) == "ok");
  CHECK(outcome(parse<CallId::SetDevice>({limits::kMaxDevices, 0})) == "FieldOutOfRange");
  CHECK(outcome(parse<CallId::DeviceGetInfo>({limits::kMaxDevices - 1, 0})) == "ok");
  CHECK(outcome(parse<CallId::DeviceGetInfo>({limits::kMaxDevices, 0})) == "FieldOutOfRange");
}

TEST_CASE("copy sizes are bounded", "[parse][hostile]") {
  CHECK(outcome(parse<CallId::MemcpyHtoDStaged>({0x1000, limits::kMaxStagingSize, 0})) == "ok");
  CHECK(outcome(parse<CallId::MemcpyHtoDStaged>({0x1000, limits::kMaxStagingSize + 1, 0})) == "FieldOutOfRange");
  CHECK(outcome(parse<CallId::MemcpyHtoDStaged>({0x1000, 0, 0})) == "FieldOutOfRange");
  CHECK(outcome(parse<CallId::MemcpyDtoHInline>({0x1000, limits::kMaxInlineCopy, 0})) == "ok");
  CHECK(outcome(parse<CallId::MemcpyDtoHInline>({0x1000, limits::kMaxInlineCopy + 1, 0})) == "FieldOutOfRange");
  // The same struct, another call, no bound: the staged copy goes through the download ring.
  CHECK(outcome(parse<CallId::MemcpyDtoHStaged>({0x1000, limits::kMaxInlineCopy + 1, 0})) == "ok");
  const std::string big(limits::kMaxInlineCopy + 1, 'x');
  CHECK(outcome(parse<CallId::MemcpyHtoDInline>({0x1000, big.size(), 0}, big)) == "FieldOutOfRange");
}

TEST_CASE("module images and blobs are bounded and not empty", "[parse][hostile]") {
  CHECK(outcome(parse<CallId::BlobAppend>({0})) == "FieldOutOfRange");
  CHECK(outcome(parse<CallId::BlobAppend>({limits::kMaxStagingSize + 1})) == "FieldOutOfRange");
  CHECK(outcome(parse<CallId::ModuleLoad>({limits::kMaxModuleImage, 0})) == "ok");
  CHECK(outcome(parse<CallId::ModuleLoad>({limits::kMaxModuleImage + 1, 0})) == "FieldOutOfRange");
  CHECK(outcome(parse<CallId::ModuleLoad>({0, 0})) == "FieldOutOfRange");
}

TEST_CASE("a cached module load names a digest and a bounded, nonzero size", "[parse][hostile]") {
  ModuleLoadCachedRequest request{};
  for (size_t i = 0; i < sizeof request.digest; ++i) request.digest[i] = static_cast<uint8_t>(0xa0 + i);
  request.size = limits::kMaxModuleImage;
  auto parsed = parse<CallId::ModuleLoadCached>(request);
  REQUIRE(outcome(parsed) == "ok");
  const auto& cmd = std::get<vgpud::ModuleLoadCachedCmd>(parsed->command);
  CHECK(std::memcmp(cmd.digest, request.digest, sizeof cmd.digest) == 0);
  CHECK(cmd.size == limits::kMaxModuleImage);

  request.size = limits::kMaxModuleImage + 1;
  CHECK(outcome(parse<CallId::ModuleLoadCached>(request)) == "FieldOutOfRange");
  request.size = 0;
  CHECK(outcome(parse<CallId::ModuleLoadCached>(request)) == "FieldOutOfRange");
  // Truncated: the digest alone, or half of it, is not a request.
  request.size = 1;
  CHECK(outcome(vgpud::parse_request(message(CallId::ModuleLoadCached, &request, sizeof request.digest))) ==
        "BadPayloadSize");
  CHECK(outcome(vgpud::parse_request(message(CallId::ModuleLoadCached, &request, 16))) == "BadPayloadSize");
}

TEST_CASE("link inputs, reads and names are bounded", "[parse][hostile][link]") {
  const std::string name = "input.ptx";
  auto add = parse<CallId::LinkAdd>({3, 1, limits::kMaxModuleImage, static_cast<uint32_t>(name.size()), 0}, name);
  REQUIRE(outcome(add) == "ok");
  const auto& cmd = std::get<vgpud::LinkAddCmd>(add->command);
  CHECK((cmd.link == 3 && cmd.input_type == 1 && cmd.size == limits::kMaxModuleImage && cmd.name == name));
  CHECK(outcome(parse<CallId::LinkAdd>({0, 1, 16, 0, 0})) == "ok");  // no name
  CHECK(outcome(parse<CallId::LinkAdd>({0, 1, 0, 0, 0})) == "FieldOutOfRange");
  CHECK(outcome(parse<CallId::LinkAdd>({0, 1, limits::kMaxModuleImage + 1, 0, 0})) == "FieldOutOfRange");
  CHECK(outcome(parse<CallId::LinkAdd>({0, 1, 16, 3, 0}, std::string("a\0b", 3))) == "FieldOutOfRange");
  const std::string too_long(limits::kMaxSymbolName + 1, 'n');
  CHECK(outcome(parse<CallId::LinkAdd>({0, 1, 16, limits::kMaxSymbolName + 1, 0}, too_long)) == "FieldOutOfRange");
  CHECK(outcome(parse<CallId::LinkAdd>({0, 1, 16, 4, 0}, "abc")) == "BadPayloadSize");

  CHECK(outcome(parse<CallId::LinkRead>({1, 2, 0, limits::kMaxLinkRead, 0})) == "ok");
  CHECK(outcome(parse<CallId::LinkRead>({1, 3, 0, 16, 0})) == "FieldOutOfRange");
  CHECK(outcome(parse<CallId::LinkRead>({1, 0, 0, limits::kMaxLinkRead + 1, 0})) == "FieldOutOfRange");
  // Any offset parses: one past the end is answered with no bytes.
  CHECK(outcome(parse<CallId::LinkRead>({1, 0, UINT64_MAX, 16, 0})) == "ok");
  CHECK(outcome(parse<CallId::LinkComplete>({1, 0})) == "ok");
  CHECK(outcome(parse<CallId::LinkDestroy>({1, 0})) == "ok");
}

TEST_CASE("symbol names and kernel parameters are bounded", "[parse][hostile]") {
  const std::string longest(limits::kMaxSymbolName, 'n');
  const std::string too_long(limits::kMaxSymbolName + 1, 'n');
  CHECK(outcome(parse<CallId::ModuleGetGlobal>({1, limits::kMaxSymbolName}, longest)) == "ok");
  CHECK(outcome(parse<CallId::ModuleGetGlobal>({1, limits::kMaxSymbolName + 1}, too_long)) == "FieldOutOfRange");
  CHECK(outcome(parse<CallId::ModuleGetGlobal>({1, 3}, std::string("a\0b", 3))) == "FieldOutOfRange");

  LaunchKernelRequest launch{};
  for (int i = 0; i < 3; ++i) launch.grid[i] = launch.block[i] = 1;
  launch.param_bytes = limits::kMaxKernelParamBytes + 1;
  CHECK(outcome(parse<CallId::LaunchKernel>(launch, std::string(launch.param_bytes, 'p'))) == "FieldOutOfRange");
  launch.param_bytes = 0;
  launch.grid[2] = 0;
  CHECK(outcome(parse<CallId::LaunchKernel>(launch)) == "FieldOutOfRange");
}

TEST_CASE("attribute, block size and flag ranges", "[parse][hostile]") {
  const auto attributes = static_cast<int32_t>(limits::kMaxFunctionAttributes);
  CHECK(outcome(parse<CallId::FuncSetAttribute>({1, attributes - 1, 0, 0})) == "ok");
  CHECK(outcome(parse<CallId::FuncSetAttribute>({1, attributes, 0, 0})) == "FieldOutOfRange");
  CHECK(outcome(parse<CallId::FuncSetAttribute>({1, -1, 0, 0})) == "FieldOutOfRange");
  CHECK(outcome(parse<CallId::OccupancyMaxBlocks>({1, 1, 0, 0, 0})) == "ok");
  CHECK(outcome(parse<CallId::OccupancyMaxBlocks>({1, 0, 0, 0, 0})) == "FieldOutOfRange");
  CHECK(outcome(parse<CallId::OccupancyMaxBlocks>({1, -5, 0, 0, 0})) == "FieldOutOfRange");
  CHECK(outcome(parse<CallId::StreamCreate>({1, 0})) == "ok");
  CHECK(outcome(parse<CallId::StreamCreate>({2, 0})) == "FieldOutOfRange");
  CHECK(outcome(parse<CallId::EventCreate>({0xf, 0})) == "ok");
  CHECK(outcome(parse<CallId::EventCreate>({0x10, 0})) == "FieldOutOfRange");
}

TEST_CASE("commands carry what the calls declare", "[parse]") {
  HelloRequest hello{2, 77, {}};
  std::memcpy(hello.process_name, "demo", 4);
  auto h = parse<CallId::Hello>(hello);
  REQUIRE(h.ok());
  CHECK(std::get<vgpud::HelloCmd>(h->command).process_name == "demo");
  std::memset(hello.process_name, 'x', sizeof hello.process_name);  // no NUL at all: all 64
  CHECK(std::get<vgpud::HelloCmd>(parse<CallId::Hello>(hello)->command).process_name == std::string(64, 'x'));

  auto set = parse<CallId::Memset>({0x1000, 4, 0, 0xff, 0});
  REQUIRE(set.ok());
  CHECK(std::get<vgpud::MemsetCmd>(set->command).value == 0xff);

  // Two calls, one command type, told apart by a constant.
  auto to = parse<CallId::MemcpyHtoDShared>({0x1000, 64, 16, 0});
  auto from = parse<CallId::MemcpyDtoHShared>({0x1000, 64, 16, 0});
  REQUIRE((to.ok() && from.ok()));
  CHECK(std::get<vgpud::MemcpySharedCmd>(to->command).to_device);
  CHECK_FALSE(std::get<vgpud::MemcpySharedCmd>(from->command).to_device);
  CHECK(std::get<vgpud::MemcpySharedCmd>(from->command).heap_offset == 64);
}
