// The checks of the graph update and node parameter calls (docs/design.md §19) as parse_request()
// applies them: the declared bounds of protocol/calls.yaml, before anything is looked up. And
// their hand-made fuzz seeds parse.
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

GraphKernelNodeSetRequest kernel_set(uint32_t param_bytes) {
  GraphKernelNodeSetRequest k{};
  k.exec = 1;
  k.node = 2;
  k.function = 3;
  k.grid[0] = k.grid[1] = k.grid[2] = 1;
  k.block[0] = k.block[1] = k.block[2] = 32;
  k.param_bytes = param_bytes;
  return k;
}

}  // namespace

TEST_CASE("graph update calls: parameter tails as long as they say, values the calls have", "[parse][graph]") {
  CHECK(parse<CallId::GraphKernelNodeSet>(kernel_set(24), std::string(24, '\1')) == "ok");
  CHECK(parse<CallId::GraphKernelNodeSet>(kernel_set(0)) == "ok");
  CHECK(parse<CallId::GraphKernelNodeSet>(kernel_set(24), std::string(16, '\1')) != "ok");  // shorter than said
  CHECK(parse<CallId::GraphKernelNodeSet>(kernel_set(limits::kMaxKernelParamBytes + 8),
                                          std::string(limits::kMaxKernelParamBytes + 8, '\1')) != "ok");
  auto zero_grid = kernel_set(0);
  zero_grid.grid[2] = 0;
  CHECK(parse<CallId::GraphKernelNodeSet>(zero_grid) == "FieldOutOfRange");
  auto zero_block = kernel_set(0);
  zero_block.block[0] = 0;
  CHECK(parse<CallId::GraphKernelNodeSet>(zero_block) == "FieldOutOfRange");
  CHECK(parse<CallId::GraphMemsetNodeSet>({1, 2, 4, 0, 0x1000, 0, 16, 1}) == "ok");
  CHECK(parse<CallId::GraphMemsetNodeSet>({1, 2, 0, 0, 0x1000, 0, 16, 1}) == "FieldOutOfRange");
  CHECK(parse<CallId::GraphMemsetNodeSet>({1, 2, 8, 0, 0x1000, 0, 16, 1}) == "FieldOutOfRange");
  CHECK(parse<CallId::GraphMemcpyNodeSet>({1, 2, 3, 0, 0, 0, 0, 0, 64, 1}) == "ok");
  CHECK(parse<CallId::GraphMemcpyNodeSet>({1, 2, 4, 0, 0, 0, 0, 0, 64, 1}) == "FieldOutOfRange");
  CHECK(parse<CallId::GraphMemcpyNodeSet>({1, 2, 0, 0, 0, 0, 0, 0, 0, 1}) == "FieldOutOfRange");
  CHECK(parse<CallId::GraphMemcpyNodeSet>({1, 2, 0, 0, 0, 0, 0, 0, 64, 0}) == "FieldOutOfRange");
  CHECK(parse<CallId::GraphHostNodeSet>({0, 2, 7}) == "ok");
  CHECK(parse<CallId::GraphEventNodeSet>({1, 2, 3, 1}) == "ok");
  CHECK(parse<CallId::GraphEventNodeSet>({1, 2, 3, 2}) == "FieldOutOfRange");
  CHECK(parse<CallId::GraphExecChildSet>({1, 2, 3, 0}) == "ok");
  CHECK(parse<CallId::GraphNodeEnabled>({1, 2, 1, 1}) == "ok");
  CHECK(parse<CallId::GraphNodeEnabled>({1, 2, 2, 1}) == "FieldOutOfRange");
  CHECK(parse<CallId::GraphNodeEnabled>({1, 2, 1, 2}) == "FieldOutOfRange");
  CHECK(parse<CallId::GraphExecUpdate>({1, 2}) == "ok");
  CHECK(parse<CallId::GraphNodeGetParams>({2, 0}) == "ok");
  CHECK(parse<CallId::GraphKernelNodeAttribute>({2, 2, 0, 5, {0, 0, 0}, 0}) == "ok");
  CHECK(parse<CallId::GraphKernelNodeAttribute>({2, 3, 8, 0, {0, 0, 0}, 0}) == "FieldOutOfRange");
}

TEST_CASE("the fuzz seeds of the graph update calls parse", "[fuzz_seeds][graph]") {
  const std::pair<const char*, CallId> seeds[] = {
      {"graph-kernel-node-set", CallId::GraphKernelNodeSet},
      {"graph-memset-node-set", CallId::GraphMemsetNodeSet},
      {"graph-memcpy-node-set", CallId::GraphMemcpyNodeSet},
      {"graph-host-node-set", CallId::GraphHostNodeSet},
      {"graph-event-node-set", CallId::GraphEventNodeSet},
      {"graph-exec-child-set", CallId::GraphExecChildSet},
      {"graph-node-enabled", CallId::GraphNodeEnabled},
      {"graph-exec-update", CallId::GraphExecUpdate},
      {"graph-node-get-params", CallId::GraphNodeGetParams},
      {"graph-kernel-node-attribute", CallId::GraphKernelNodeAttribute},
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
