// The checks of the array, texture and surface calls (docs/design.md §23) as parse_request()
// applies them: the declared bounds of protocol/calls.yaml and MEMCPY_ARRAY's hook
// (array_copy_shape_ok in vgpud/mediator/parse.cpp).
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "vgpu/protocol/call_traits.gen.h"
#include "vgpud/mediator/parse.h"
#include "test/unit/vgpud/mediator/parse_outcome.h"

using namespace vgpu::proto;
namespace limits = vgpu::limits;
using vgpud::ParseError;

namespace {

using parse_test::parse;

constexpr uint32_t kFloat = 0x20;
constexpr uint32_t kDevice = 0, kArray = 1, kHeap = 2, kPacked = 3;

MemcpyArrayRequest copy(uint32_t src_kind, uint32_t dst_kind, uint64_t width, uint64_t height, uint64_t depth) {
  MemcpyArrayRequest c{};
  c.src_kind = src_kind, c.dst_kind = dst_kind;
  c.width = width, c.height = height, c.depth = depth;
  return c;
}

}  // namespace

TEST_CASE("array extents, channels, flags and levels are bounded", "[parse][hostile][arrays]") {
  const uint64_t most = limits::kMaxArrayExtent;
  CHECK(parse<CallId::ArrayCreate>({most, most, most, kFloat, 4, 0x3f, 0}) == "ok");
  CHECK(parse<CallId::ArrayCreate>({most + 1, 1, 0, kFloat, 1, 0, 0}) == "FieldOutOfRange");
  CHECK(parse<CallId::ArrayCreate>({1, most + 1, 0, kFloat, 1, 0, 0}) == "FieldOutOfRange");
  CHECK(parse<CallId::ArrayCreate>({1, 1, most + 1, kFloat, 1, 0, 0}) == "FieldOutOfRange");
  CHECK(parse<CallId::ArrayCreate>({0, 1, 1, kFloat, 1, 0, 0}) == "FieldOutOfRange");
  CHECK(parse<CallId::ArrayCreate>({1, 0, 0, kFloat, 0, 0, 0}) == "FieldOutOfRange");
  CHECK(parse<CallId::ArrayCreate>({1, 0, 0, kFloat, 5, 0, 0}) == "FieldOutOfRange");
  // Sparse and deferred-mapping arrays are not offered.
  CHECK(parse<CallId::ArrayCreate>({1, 0, 0, kFloat, 1, 0x40, 0}) == "FieldOutOfRange");
  CHECK(parse<CallId::ArrayCreate>({1, 0, 0, kFloat, 1, 0x80, 0}) == "FieldOutOfRange");
  CHECK(parse<CallId::MipmappedArrayCreate>({64, 64, 0, kFloat, 1, 0, limits::kMaxMipmapLevels}) == "ok");
  CHECK(parse<CallId::MipmappedArrayCreate>({64, 64, 0, kFloat, 1, 0, 0}) == "FieldOutOfRange");
  CHECK(parse<CallId::MipmappedArrayCreate>({64, 64, 0, kFloat, 1, 0, limits::kMaxMipmapLevels + 1}) ==
        "FieldOutOfRange");
  CHECK(parse<CallId::MipmappedArrayGetLevel>({1, limits::kMaxMipmapLevels - 1}) == "ok");
  CHECK(parse<CallId::MipmappedArrayGetLevel>({1, limits::kMaxMipmapLevels}) == "FieldOutOfRange");
}

TEST_CASE("an array copy has an array at one end and its packed bytes exactly", "[parse][hostile][arrays]") {
  CHECK(parse<CallId::MemcpyArray>(copy(kDevice, kArray, 64, 2, 3)) == "ok");
  CHECK(parse<CallId::MemcpyArray>(copy(kArray, kHeap, 64, 2, 3)) == "ok");
  CHECK(parse<CallId::MemcpyArray>(copy(kArray, kArray, 64, 2, 3)) == "ok");
  // No array, or data at both ends.
  CHECK(parse<CallId::MemcpyArray>(copy(kDevice, kHeap, 64, 1, 1)) == "FieldOutOfRange");
  CHECK(parse<CallId::MemcpyArray>(copy(kPacked, kPacked, 64, 1, 1)) == "FieldOutOfRange");
  CHECK(parse<CallId::MemcpyArray>(copy(4, kArray, 64, 1, 1)) == "FieldOutOfRange");
  // An empty box.
  CHECK(parse<CallId::MemcpyArray>(copy(kDevice, kArray, 0, 1, 1)) == "FieldOutOfRange");
  CHECK(parse<CallId::MemcpyArray>(copy(kDevice, kArray, 4, 0, 1)) == "FieldOutOfRange");
  CHECK(parse<CallId::MemcpyArray>(copy(kDevice, kArray, 4, 1, 0)) == "FieldOutOfRange");
  // A packed source: exactly its bytes in the tail.
  MemcpyArrayRequest in = copy(kPacked, kArray, 8, 2, 2);
  in.data_bytes = 32;
  CHECK(parse<CallId::MemcpyArray>(in, std::string(32, 'x')) == "ok");
  in.height = 3;
  CHECK(parse<CallId::MemcpyArray>(in, std::string(32, 'x')) == "FieldOutOfRange");
  in.height = 2;
  in.data_bytes = 31;
  CHECK(parse<CallId::MemcpyArray>(in, std::string(31, 'x')) == "FieldOutOfRange");
  in.data_bytes = 33;
  CHECK(parse<CallId::MemcpyArray>(in, std::string(32, 'x')) == "BadPayloadSize");  // the tail is not its length
  // A tail with no packed source.
  MemcpyArrayRequest stray = copy(kDevice, kArray, 8, 1, 1);
  stray.data_bytes = 8;
  CHECK(parse<CallId::MemcpyArray>(stray, std::string(8, 'x')) == "FieldOutOfRange");
  // A packed destination fits in one reply; the product of the extents may not wrap.
  CHECK(parse<CallId::MemcpyArray>(copy(kArray, kPacked, limits::kMaxInlineCopy, 1, 1)) == "ok");
  CHECK(parse<CallId::MemcpyArray>(copy(kArray, kPacked, limits::kMaxInlineCopy, 2, 1)) == "FieldOutOfRange");
  CHECK(parse<CallId::MemcpyArray>(copy(kArray, kPacked, uint64_t{1} << 32, uint64_t{1} << 32, 1)) ==
        "FieldOutOfRange");
  MemcpyArrayRequest wraps = copy(kPacked, kArray, uint64_t{1} << 32, uint64_t{1} << 32, 1);
  CHECK(parse<CallId::MemcpyArray>(wraps) == "FieldOutOfRange");
  const std::string big(limits::kMaxInlineCopy + 1, 'x');
  in = copy(kPacked, kArray, big.size(), 1, 1);
  in.data_bytes = static_cast<uint32_t>(big.size());
  CHECK(parse<CallId::MemcpyArray>(in, big) == "FieldOutOfRange");
}

TEST_CASE("texture descriptors are bounded", "[parse][hostile][arrays]") {
  TexObjectCreateRequest t{};
  t.resource_type = 3;
  t.address_mode[0] = t.address_mode[1] = t.address_mode[2] = 3;
  t.filter_mode = 1;
  t.mipmap_filter_mode = 1;
  t.flags = 0x73;
  t.has_view = 1;
  t.view_format = 0x22;
  CHECK(parse<CallId::TexObjectCreate>(t) == "ok");
  auto refused = [&](auto change) {
    TexObjectCreateRequest bad = t;
    change(bad);
    return parse<CallId::TexObjectCreate>(bad);
  };
  CHECK(refused([](auto& r) { r.resource_type = 4; }) == "FieldOutOfRange");
  CHECK(refused([](auto& r) { r.address_mode[2] = 4; }) == "FieldOutOfRange");
  CHECK(refused([](auto& r) { r.filter_mode = 2; }) == "FieldOutOfRange");
  CHECK(refused([](auto& r) { r.mipmap_filter_mode = 2; }) == "FieldOutOfRange");
  CHECK(refused([](auto& r) { r.flags = 0x4; }) == "FieldOutOfRange");
  CHECK(refused([](auto& r) { r.has_view = 2; }) == "FieldOutOfRange");
  CHECK(refused([](auto& r) { r.view_format = 0x23; }) == "FieldOutOfRange");
  CHECK(parse<CallId::TexObjectDestroy>({0x1234}) == "ok");
  CHECK(parse<CallId::SurfObjectCreate>({1, 0}) == "ok");
  CHECK(parse<CallId::SurfObjectDestroy>({0x1234}) == "ok");
}

// The hand-made seeds of these calls in the fuzz corpus (test/fuzz/corpus/parse_request/) are
// requests the parser takes, so that fuzz_parse_request starts inside each call's checks.
TEST_CASE("the fuzz seeds of the array, texture and surface calls parse", "[fuzz_seeds][arrays]") {
  const std::pair<const char*, CallId> seeds[] = {
      {"array-create", CallId::ArrayCreate},
      {"array-destroy", CallId::ArrayDestroy},
      {"mipmapped-array-create", CallId::MipmappedArrayCreate},
      {"mipmapped-array-get-level", CallId::MipmappedArrayGetLevel},
      {"mipmapped-array-destroy", CallId::MipmappedArrayDestroy},
      {"memcpy-array", CallId::MemcpyArray},
      {"memcpy-array-packed", CallId::MemcpyArray},
      {"memcpy-array-heap", CallId::MemcpyArray},
      {"tex-object-create", CallId::TexObjectCreate},
      {"tex-object-destroy", CallId::TexObjectDestroy},
      {"surf-object-create", CallId::SurfObjectCreate},
      {"surf-object-destroy", CallId::SurfObjectDestroy},
  };
  for (const auto& [name, call] : seeds) {
    INFO(name);
    std::ifstream in(std::string(VGPU_SOURCE_DIR) + "/test/fuzz/corpus/parse_request/" + name, std::ios::binary);
    REQUIRE(in.good());
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto request = vgpud::parse_request(std::span(bytes.data(), bytes.size()));
    REQUIRE(request.ok());
    CHECK(request->call == call);
  }
}
