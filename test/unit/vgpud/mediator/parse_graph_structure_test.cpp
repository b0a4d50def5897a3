// The checks of the graph structure, capture graph, graph memory, conditional node and user
// object calls (docs/design.md §19) as parse_request() applies them: the declared bounds of
// protocol/calls.yaml, before anything is looked up. And their hand-made fuzz seeds parse.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "vgpu/protocol/call_traits.gen.h"
#include "vgpu/protocol/graph_edge.h"
#include "vgpud/mediator/parse.h"
#include "test/unit/vgpud/mediator/parse_outcome.h"

using namespace vgpu::proto;
namespace limits = vgpu::limits;
using vgpud::ParseError;

namespace {

using parse_test::parse;

}  // namespace

TEST_CASE("graph structure and capture calls: tails within their bounds, flags that exist", "[parse][graph]") {
  auto edge = [](uint8_t type, uint8_t from_port, uint8_t to_port, uint8_t reserved) {
    GraphEdge e = plain_edge(1, 2);
    e.type = type;
    e.from_port = from_port;
    e.to_port = to_port;
    e.reserved[0] = reserved;
    return std::string(reinterpret_cast<const char*>(&e), sizeof e);
  };
  constexpr uint32_t kEdge = sizeof(GraphEdge);
  CHECK(parse<CallId::GraphGetEdges>({1, 0}) == "ok");
  CHECK(parse<CallId::GraphRemoveDependencies>({1, kEdge, 0, 0}, edge(0, 0, 0, 0)) == "ok");
  CHECK(parse<CallId::GraphRemoveDependencies>({1, kEdge, kRemoveEdgesWithoutData, 0}, edge(0, 0, 0, 0)) == "ok");
  CHECK(parse<CallId::GraphRemoveDependencies>({1, kEdge, 2, 0}, edge(0, 0, 0, 0)) == "FieldOutOfRange");
  CHECK(parse<CallId::GraphRemoveDependencies>({1, limits::kMaxGraphEdgeBytes + kEdge, 0, 0},
                                               std::string(limits::kMaxGraphEdgeBytes + kEdge, '\0')) != "ok");
  // Edge data: every value the driver defines, and nothing else; whole edges only.
  for (CallId id : {CallId::GraphAddDependencies, CallId::GraphRemoveDependencies}) {
    INFO(call_name(id));
    auto add_or_remove = [&](const std::string& tail) {
      return id == CallId::GraphAddDependencies
                 ? parse<CallId::GraphAddDependencies>({1, static_cast<uint32_t>(tail.size())}, tail)
                 : parse<CallId::GraphRemoveDependencies>({1, static_cast<uint32_t>(tail.size()), 0, 0}, tail);
    };
    CHECK(add_or_remove(edge(1, 1, 0, 0)) == "ok");  // programmatic, from the programmatic port
    CHECK(add_or_remove(edge(1, 2, 0, 0)) == "ok");  // programmatic, from the launch-order port
    CHECK(add_or_remove(edge(0, 0, 0, 0) + edge(1, 1, 0, 0)) == "ok");
    CHECK(add_or_remove(edge(2, 0, 0, 0)) == "FieldOutOfRange");  // no such type
    CHECK(add_or_remove(edge(1, 3, 0, 0)) == "FieldOutOfRange");  // no such port
    CHECK(add_or_remove(edge(0, 0, 1, 0)) == "FieldOutOfRange");  // no incoming port
    CHECK(add_or_remove(edge(0, 0, 0, 1)) == "FieldOutOfRange");  // reserved
    CHECK(add_or_remove(edge(0, 0, 0, 0).substr(0, 8)) == "FieldOutOfRange");  // not a whole edge
  }
  CHECK(parse<CallId::GraphDestroyNode>({1, 0}) == "ok");
  CHECK(parse<CallId::GraphNodeFindInClone>({1, 2}) == "ok");
  CHECK(parse<CallId::GraphChildGetGraph>({1, 0}) == "ok");
  CHECK(parse<CallId::StreamCaptureGraph>({0x100}) == "ok");
  CHECK(parse<CallId::StreamUpdateCaptureDependencies>({0x100, 1, 4}, std::string(4, '\1')) == "ok");
  CHECK(parse<CallId::StreamUpdateCaptureDependencies>({0x100, 2, 4}, std::string(4, '\1')) == "FieldOutOfRange");
  CHECK(parse<CallId::StreamUpdateCaptureDependencies>(
            {0x100, 0, limits::kMaxCaptureDependencyBytes + 4}, std::string(limits::kMaxCaptureDependencyBytes + 4, '\1')) != "ok");
  CHECK(parse<CallId::StreamBeginCaptureToGraph>({0x100, 1, 8}, std::string(8, '\1')) == "ok");
  // A tail shorter than its length says: refused, whatever the call.
  const uint32_t total = sizeof(RequestHeader) + sizeof(StreamBeginCaptureToGraphRequest);
  std::vector<uint8_t> m(total);
  const RequestHeader h{total, static_cast<uint16_t>(CallId::StreamBeginCaptureToGraph), kFlagNeedsReply, 3};
  const StreamBeginCaptureToGraphRequest lying{0x100, 1, 64};
  std::memcpy(m.data(), &h, sizeof h);
  std::memcpy(m.data() + sizeof h, &lying, sizeof lying);
  CHECK(!vgpud::parse_request(m).ok());
}

TEST_CASE("graph memory, conditional node and user object calls: bounds before anything is looked up",
          "[parse][graph]") {
  CHECK(parse<CallId::GraphMemAlloc>({1, 0, 4096, 0, 0, 0}) == "ok");
  CHECK(parse<CallId::GraphMemAlloc>({1, 0, 4096, 0, 8, 0}, std::string(8, '\1')) == "ok");
  CHECK(parse<CallId::GraphMemAlloc>({1, 0, 4096, 0, 8, 0}, std::string(4, '\1')) != "ok");  // the tail is short
  CHECK(parse<CallId::GraphMemAlloc>({1, 0, 64, 0, limits::kMaxGraphEdgeBytes + 4, 0},
                                     std::string(limits::kMaxGraphEdgeBytes + 4, '\1')) != "ok");
  CHECK(parse<CallId::GraphMemAlloc>({1, 0, 0, 0, 0, 0}) == "FieldOutOfRange");
  CHECK(parse<CallId::GraphMemAlloc>({1, limits::kMaxDevices, 64, 0, 0, 0}) == "FieldOutOfRange");
  CHECK(parse<CallId::GraphMemFree>({1, 2, 0x1000, 0}) == "ok");
  CHECK(parse<CallId::GraphMemFree>({1, 3, 0x1000, 0}) == "FieldOutOfRange");
  CHECK(parse<CallId::DeviceGraphMem>({0, 1, 3, 0, 0}) == "ok");
  CHECK(parse<CallId::DeviceGraphMem>({0, 3, 0, 0, 0}) == "FieldOutOfRange");
  CHECK(parse<CallId::DeviceGraphMem>({0, 1, 4, 0, 0}) == "FieldOutOfRange");
  CHECK(parse<CallId::DeviceGraphMem>({limits::kMaxDevices, 1, 0, 0, 0}) == "FieldOutOfRange");
  CHECK(parse<CallId::GraphConditionalHandleCreate>({1, 5, 1, 0}) == "ok");
  CHECK(parse<CallId::GraphConditionalHandleCreate>({1, 5, 2, 0}) == "FieldOutOfRange");
  CHECK(parse<CallId::GraphAddConditionalNode>({1, 2, limits::kMaxConditionalBodies, 0, 7}) == "ok");
  CHECK(parse<CallId::GraphAddConditionalNode>({1, 3, 1, 0, 7}) == "FieldOutOfRange");
  CHECK(parse<CallId::GraphAddConditionalNode>({1, 0, 0, 0, 7}) == "FieldOutOfRange");
  CHECK(parse<CallId::GraphAddConditionalNode>({1, 2, limits::kMaxConditionalBodies + 1, 0, 7}) == "FieldOutOfRange");
  CHECK(parse<CallId::UserObjectCreate>({7, 1, 0}) == "ok");
  CHECK(parse<CallId::UserObjectCreate>({7, 0, 0}) == "FieldOutOfRange");
  CHECK(parse<CallId::UserObjectCreate>({7, limits::kMaxUserObjectRefs + 1, 0}) == "FieldOutOfRange");
  CHECK(parse<CallId::UserObjectRefs>({1, 0, 4, 1}) == "ok");
  CHECK(parse<CallId::UserObjectRefs>({1, 0, 5, 1}) == "FieldOutOfRange");
  CHECK(parse<CallId::UserObjectRefs>({1, 0, 0, 0}) == "FieldOutOfRange");
}

TEST_CASE("the fuzz seeds of the graph structure, memory, conditional and user object calls parse",
          "[fuzz_seeds][graph]") {
  const std::pair<const char*, CallId> seeds[] = {
      {"graph-get-edges", CallId::GraphGetEdges},
      {"graph-remove-dependencies", CallId::GraphRemoveDependencies},
      {"graph-destroy-node", CallId::GraphDestroyNode},
      {"graph-node-find-in-clone", CallId::GraphNodeFindInClone},
      {"graph-child-get-graph", CallId::GraphChildGetGraph},
      {"stream-capture-graph", CallId::StreamCaptureGraph},
      {"stream-update-capture-dependencies", CallId::StreamUpdateCaptureDependencies},
      {"stream-begin-capture-to-graph", CallId::StreamBeginCaptureToGraph},
      {"graph-mem-alloc", CallId::GraphMemAlloc},
      {"graph-mem-free", CallId::GraphMemFree},
      {"device-graph-mem", CallId::DeviceGraphMem},
      {"graph-conditional-handle-create", CallId::GraphConditionalHandleCreate},
      {"graph-add-conditional-node", CallId::GraphAddConditionalNode},
      {"user-object-create", CallId::UserObjectCreate},
      {"user-object-refs", CallId::UserObjectRefs},
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
