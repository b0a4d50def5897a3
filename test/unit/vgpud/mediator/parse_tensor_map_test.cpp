// TENSOR_MAP_ENCODE_TILED's one check, before anything reaches the driver: the rank is one the
// driver has (1..5); the values of the dimensions are the driver's to judge.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <span>

#include "test/unit/vgpud/mediator/parse_outcome.h"

using namespace vgpu::proto;
using parse_test::parse;

TEST_CASE("tensor map encoding: the rank is checked, the rest is the driver's", "[parse][tensor_map]") {
  TensorMapEncodeTiledRequest r{};
  r.rank = 2;
  r.global_address = 0x7f0000001000;
  CHECK(parse<CallId::TensorMapEncodeTiled>(r) == "ok");
  r.rank = 5;
  CHECK(parse<CallId::TensorMapEncodeTiled>(r) == "ok");
  r.rank = 0;
  CHECK(parse<CallId::TensorMapEncodeTiled>(r) == "FieldOutOfRange");
  r.rank = 6;
  CHECK(parse<CallId::TensorMapEncodeTiled>(r) == "FieldOutOfRange");
  r.rank = 2;
  CHECK(parse<CallId::TensorMapEncodeTiled>(r, std::string(8, '\0')) != "ok");  // no tail is declared
}

TEST_CASE("the fuzz seed of the tensor map call parses", "[fuzz_seeds][tensor_map]") {
  std::ifstream in(std::string(VGPU_SOURCE_DIR) + "/test/fuzz/corpus/parse_request/tensor-map-encode-tiled",
                   std::ios::binary);
  REQUIRE(in.good());
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto request = vgpud::parse_request(std::span(bytes.data(), bytes.size()));
  REQUIRE(request.ok());
  CHECK(request->call == CallId::TensorMapEncodeTiled);
}
