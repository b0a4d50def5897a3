// Graph structure, captures that name their graph, conditional nodes and user objects, from a
// hostile guest: nodes and graphs of another channel or of none, graphs a node holds or a capture
// builds into, values out of range, lengths that are not whole ids, references given back that
// were never held. vgpud refuses each before its driver sees it.
#include <catch2/catch.hpp>

#include "test/integration/hostile_calls.h"
#include "vgpu/protocol/graph_edge.h"
#include "vgpu/protocol/host_func_queue.h"

using namespace vgpu;
using namespace vgpu::test;
using namespace vgpu::test::hostile;

namespace {

constexpr int32_t kIllegalState = 401;  // CUDA_ERROR_ILLEGAL_STATE

template <typename Reply>
Reply reply_of(const RawReply& r) {
  REQUIRE(r.header.status == 0);
  REQUIRE(r.payload.size() >= sizeof(Reply));
  Reply out;
  std::memcpy(&out, r.payload.data(), sizeof out);
  return out;
}

uint32_t create_graph(RawChannel& ch, uint64_t& seq) {
  return reply_of<proto::GraphCreateReply>(call(ch, CallId::GraphCreate, proto::GraphCreateRequest{0, 0}, seq)).graph;
}

uint32_t empty_node(RawChannel& ch, uint32_t graph, uint64_t& seq) {
  return reply_of<proto::GraphNodeReply>(call(ch, CallId::GraphAddEmptyNode, proto::GraphRequest{graph, 0}, seq)).node;
}

uint64_t create_stream(RawChannel& ch, uint64_t& seq) {
  return reply_of<proto::StreamCreateReply>(call(ch, CallId::StreamCreate, proto::StreamCreateRequest{1, 0}, seq)).stream;
}

std::string ids(std::vector<uint32_t> list) {
  return std::string(reinterpret_cast<const char*>(list.data()), list.size() * sizeof(uint32_t));
}

}  // namespace

TEST_CASE("graph structure and captures: only the channel's own nodes and graphs", "[hostile][graph]") {
  VgpudProcess vgpud(std::vector<TenantSpec>{{"alpha", ""}, {"beta", ""}});
  RawChannel beta(vgpud.socket("beta"));
  uint64_t beta_seq = 1;
  // Ids are per channel: beta's are made past any alpha holds, so that they name nothing there.
  uint32_t beta_graph = 0, beta_node = 0;
  for (int i = 0; i < 8; ++i) beta_graph = create_graph(beta, beta_seq);
  for (int i = 0; i < 16; ++i) beta_node = empty_node(beta, beta_graph, beta_seq);

  RawChannel ch(vgpud.socket("alpha"));
  uint64_t seq = 1000;
  const uint32_t graph = create_graph(ch, seq), other = create_graph(ch, seq);
  const uint32_t a = empty_node(ch, graph, seq), b = empty_node(ch, graph, seq), elsewhere = empty_node(ch, other, seq);
  REQUIRE(call(ch, CallId::GraphAddDependencies, proto::GraphAddDependenciesRequest{graph, kEdge}, seq, edges({{a, b}}))
              .header.status == 0);
  const uint64_t stream = create_stream(ch, seq);
  RefusedByVgpud refused;
  refused.expect(ch, CallId::GraphGetEdges, proto::GraphGetEdgesRequest{beta_graph, 0}, seq, kInvalidValue);
  refused.expect(ch, CallId::GraphRemoveDependencies, proto::GraphRemoveDependenciesRequest{graph, kEdge, 0, 0}, seq,
                 kInvalidValue, edges({{a, elsewhere}}));
  refused.expect(ch, CallId::GraphRemoveDependencies, proto::GraphRemoveDependenciesRequest{graph, kEdge, 0, 0}, seq,
                 kInvalidValue, edges({{beta_node, a}}));
  refused.expect(ch, CallId::GraphRemoveDependencies, proto::GraphRemoveDependenciesRequest{graph, 4, 0, 0}, seq,
                 kMalformed, edges({{a, b}}).substr(0, 4));  // not whole edges: refused as it is parsed
  refused.expect(ch, CallId::GraphDestroyNode, proto::GraphDestroyNodeRequest{beta_node, 0}, seq, kInvalidValue);
  refused.expect(ch, CallId::GraphDestroyNode, proto::GraphDestroyNodeRequest{0xfffffff0u, 0}, seq, kInvalidValue);
  refused.expect(ch, CallId::GraphNodeFindInClone, proto::GraphNodeFindInCloneRequest{beta_node, other}, seq,
                 kInvalidValue);
  refused.expect(ch, CallId::GraphNodeFindInClone, proto::GraphNodeFindInCloneRequest{a, beta_graph}, seq,
                 kInvalidValue);
  refused.expect(ch, CallId::GraphNodeFindInClone, proto::GraphNodeFindInCloneRequest{a, graph}, seq, kInvalidValue);
  refused.expect(ch, CallId::GraphChildGetGraph, proto::GraphChildGetGraphRequest{beta_node, 0}, seq, kInvalidValue);
  refused.expect(ch, CallId::GraphChildGetGraph, proto::GraphChildGetGraphRequest{a, 0}, seq, kInvalidValue);  // empty
  refused.expect(ch, CallId::StreamCaptureGraph, proto::StreamRequest{0x9999}, seq, kInvalidHandle);
  refused.expect(ch, CallId::StreamUpdateCaptureDependencies,
                 proto::StreamUpdateCaptureDependenciesRequest{stream, 0, 4}, seq, kIllegalState, ids({a}));
  refused.expect(ch, CallId::StreamBeginCaptureToGraph, proto::StreamBeginCaptureToGraphRequest{stream, beta_graph, 0},
                 seq, kInvalidValue);
  refused.expect(ch, CallId::StreamBeginCaptureToGraph, proto::StreamBeginCaptureToGraphRequest{stream, graph, 4}, seq,
                 kInvalidValue, ids({elsewhere}));
  refused.expect(ch, CallId::StreamBeginCaptureToGraph, proto::StreamBeginCaptureToGraphRequest{stream, graph, 3}, seq,
                 kInvalidValue, ids({a}).substr(0, 3));
  REQUIRE(call(ch, CallId::StreamUpdateCaptureDependencies, proto::StreamUpdateCaptureDependenciesRequest{stream, 2, 0},
               seq)
              .header.status == kMalformed);

  // A capture's graph, named while open: nodes may be added, the graph not destroyed, and only
  // its nodes named as the capture's dependencies.
  REQUIRE(call(ch, CallId::StreamBeginCapture, proto::StreamRequest{stream}, seq).header.status == 0);
  const RawReply named = call(ch, CallId::StreamCaptureGraph, proto::StreamRequest{stream}, seq);
  const auto info = reply_of<proto::StreamCaptureGraphReply>(named);
  REQUIRE(info.status == 1);  // active
  REQUIRE(info.graph != 0);
  REQUIRE(info.dependency_count == 0);
  const uint32_t added = empty_node(ch, info.graph, seq);
  refused.expect(ch, CallId::GraphDestroy, proto::GraphRequest{info.graph, 0}, seq, kIllegalState);
  refused.expect(ch, CallId::GraphDestroyNode, proto::GraphDestroyNodeRequest{added, 0}, seq, kIllegalState);
  refused.expect(ch, CallId::StreamUpdateCaptureDependencies, proto::StreamUpdateCaptureDependenciesRequest{stream, 0, 4},
                 seq, kInvalidValue, ids({a}));
  refused.expect(ch, CallId::StreamUpdateCaptureDependencies, proto::StreamUpdateCaptureDependenciesRequest{stream, 0, 6},
                 seq, kInvalidValue, ids({added, added}).substr(0, 6));
  REQUIRE(call(ch, CallId::StreamUpdateCaptureDependencies, proto::StreamUpdateCaptureDependenciesRequest{stream, 1, 4},
               seq, ids({added}))
              .header.status == 0);
  const auto ended = reply_of<proto::StreamEndCaptureReply>(
      call(ch, CallId::StreamEndCapture, proto::StreamRequest{stream}, seq));
  REQUIRE(ended.graph == info.graph);  // the id it was given while open
  REQUIRE(call(ch, CallId::GraphDestroyNode, proto::GraphDestroyNodeRequest{added, 0}, seq).header.status == 0);

  // Listed from past the last edge: refused (the driver was asked how many there are).
  REQUIRE(call(ch, CallId::GraphGetEdges, proto::GraphGetEdgesRequest{graph, 2}, seq).header.status == kInvalidValue);
  // What is right works: an edge listed, removed; a node destroyed; beta's untouched.
  const RawReply listed = call(ch, CallId::GraphGetEdges, proto::GraphGetEdgesRequest{graph, 0}, seq);
  REQUIRE(listed.payload.size() == sizeof(proto::GraphGetEdgesReply) + sizeof(proto::GraphEdge));
  REQUIRE(call(ch, CallId::GraphRemoveDependencies, proto::GraphRemoveDependenciesRequest{graph, kEdge, 0, 0}, seq, edges({{a, b}}))
              .header.status == 0);
  const uint64_t last = seq;
  REQUIRE(call(ch, CallId::GraphDestroyNode, proto::GraphDestroyNodeRequest{b, 0}, seq).header.status == 0);
  refused.check_never_traced(vgpud, "cu", last, "cuGraphDestroyNode");
  REQUIRE(call(beta, CallId::GraphListNodes, proto::GraphListNodesRequest{beta_graph, 0}, beta_seq).header.status == 0);
  expect_healthy(vgpud, "alpha");
}

TEST_CASE("conditional nodes: only the channel's handles, for their own graph; bodies go with their node",
          "[hostile][graph]") {
  VgpudProcess vgpud(std::vector<TenantSpec>{{"alpha", ""}, {"beta", ""}});
  RawChannel beta(vgpud.socket("beta"));
  uint64_t beta_seq = 1;
  uint32_t beta_graph = 0;  // past the ids alpha gives its graphs (its SWITCH's bodies included)
  for (int i = 0; i < 8; ++i) beta_graph = create_graph(beta, beta_seq);
  const uint64_t beta_handle = reply_of<proto::GraphConditionalHandleCreateReply>(
                                   call(beta, CallId::GraphConditionalHandleCreate,
                                        proto::GraphConditionalHandleCreateRequest{beta_graph, 0, 0, 0}, beta_seq))
                                   .handle;

  RawChannel ch(vgpud.socket("alpha"));
  uint64_t seq = 1000;
  const uint32_t graph = create_graph(ch, seq), other = create_graph(ch, seq);
  const uint64_t handle = reply_of<proto::GraphConditionalHandleCreateReply>(
                              call(ch, CallId::GraphConditionalHandleCreate,
                                   proto::GraphConditionalHandleCreateRequest{graph, 1, 1, 0}, seq))
                              .handle;
  auto node = [](uint32_t g, uint32_t type, uint32_t size, uint64_t h) {
    return proto::GraphAddConditionalNodeRequest{g, type, size, 0, h};
  };
  RefusedByVgpud refused;
  refused.expect(ch, CallId::GraphConditionalHandleCreate,
                 proto::GraphConditionalHandleCreateRequest{beta_graph, 0, 0, 0}, seq, kInvalidValue);
  refused.expect(ch, CallId::GraphAddConditionalNode, node(graph, 0, 1, beta_handle), seq, kInvalidValue);
  refused.expect(ch, CallId::GraphAddConditionalNode, node(other, 0, 1, handle), seq, kInvalidValue);  // not its graph's
  refused.expect(ch, CallId::GraphAddConditionalNode, node(beta_graph, 0, 1, beta_handle), seq, kInvalidValue);
  refused.expect(ch, CallId::GraphAddConditionalNode, node(graph, 1, 2, handle), seq, kInvalidValue);  // WHILE of 2
  refused.expect(ch, CallId::GraphAddConditionalNode, node(graph, 0, 3, handle), seq, kInvalidValue);  // IF of 3
  // Malformed before anything is looked up: flags, type, size.
  REQUIRE(call(ch, CallId::GraphConditionalHandleCreate, proto::GraphConditionalHandleCreateRequest{graph, 0, 2, 0}, seq)
              .header.status == kMalformed);
  REQUIRE(call(ch, CallId::GraphAddConditionalNode, node(graph, 3, 1, handle), seq).header.status == kMalformed);
  REQUIRE(call(ch, CallId::GraphAddConditionalNode, node(graph, 2, 0, handle), seq).header.status == kMalformed);
  REQUIRE(call(ch, CallId::GraphAddConditionalNode, node(graph, 2, limits::kMaxConditionalBodies + 1, handle), seq)
              .header.status == kMalformed);

  // A SWITCH of three bodies: graphs of the channel's that take nodes, that only their node's
  // destruction ends.
  const RawReply made = call(ch, CallId::GraphAddConditionalNode, node(graph, 2, 3, handle), seq);
  const auto cond = reply_of<proto::GraphAddConditionalNodeReply>(made);
  REQUIRE(cond.bodies == 3);
  REQUIRE(made.payload.size() == sizeof cond + 3 * sizeof(uint32_t));
  uint32_t body;
  std::memcpy(&body, made.payload.data() + sizeof cond, sizeof body);
  const uint32_t inside = empty_node(ch, body, seq);
  refused.expect(ch, CallId::GraphDestroy, proto::GraphRequest{body, 0}, seq, kInvalidValue);
  REQUIRE(call(ch, CallId::GraphDestroyNode, proto::GraphDestroyNodeRequest{cond.node, 0}, seq).header.status == 0);
  refused.expect(ch, CallId::GraphAddEmptyNode, proto::GraphRequest{body, 0}, seq, kInvalidValue);
  refused.expect(ch, CallId::GraphDestroyNode, proto::GraphDestroyNodeRequest{inside, 0}, seq, kInvalidValue);
  const uint64_t last = seq;
  REQUIRE(call(ch, CallId::GraphDestroy, proto::GraphRequest{graph, 0}, seq).header.status == 0);
  refused.check_never_traced(vgpud, "cu", last, "cuGraphDestroy");
  expect_healthy(vgpud, "alpha");
}

TEST_CASE("user objects: only the channel's, never more references given back than held", "[hostile][graph]") {
  VgpudProcess vgpud;
  RawChannel ch(vgpud.socket("alpha"));
  uint64_t seq = 1;
  RefusedByVgpud refused;
  // No host-function queue yet: nobody could run the destructor.
  refused.expect(ch, CallId::UserObjectCreate, proto::UserObjectCreateRequest{1, 1, 0}, seq, kInvalidValue);
  const uint64_t heap = ch.header()->geometry.heap.size;
  REQUIRE(call(ch, CallId::HostFuncQueue,
               proto::HostFuncQueueRequest{heap - proto::host_func_queue_bytes(64), 64, 0}, seq)
              .header.status == 0);
  REQUIRE(call(ch, CallId::UserObjectCreate, proto::UserObjectCreateRequest{1, 0, 0}, seq).header.status == kMalformed);
  REQUIRE(call(ch, CallId::UserObjectCreate, proto::UserObjectCreateRequest{1, limits::kMaxUserObjectRefs + 1, 0}, seq)
              .header.status == kMalformed);
  const uint32_t object =
      reply_of<proto::UserObjectCreateReply>(call(ch, CallId::UserObjectCreate, proto::UserObjectCreateRequest{7, 2, 0}, seq))
          .object;
  const uint32_t graph = create_graph(ch, seq);
  auto refs = [](uint32_t o, uint32_t g, uint32_t op, uint32_t n) { return proto::UserObjectRefsRequest{o, g, op, n}; };
  refused.expect(ch, CallId::UserObjectRefs, refs(object + 1, 0, 0, 1), seq, kInvalidValue);  // no such object
  refused.expect(ch, CallId::UserObjectRefs, refs(object, 0, 1, 3), seq, kInvalidValue);      // holds 2
  refused.expect(ch, CallId::UserObjectRefs, refs(object, 0xabc, 2, 1), seq, kInvalidValue);  // no such graph
  refused.expect(ch, CallId::UserObjectRefs, refs(object, graph, 3, 3), seq, kInvalidValue);  // moves more than held
  refused.expect(ch, CallId::UserObjectRefs, refs(object, graph, 4, 1), seq, kInvalidValue);  // the graph holds none
  REQUIRE(call(ch, CallId::UserObjectRefs, refs(object, 0, 5, 1), seq).header.status == kMalformed);
  REQUIRE(call(ch, CallId::UserObjectRefs, refs(object, 0, 0, 0), seq).header.status == kMalformed);
  // Moved to the graph: the program has one left; the graph gives back what it got, no more.
  REQUIRE(call(ch, CallId::UserObjectRefs, refs(object, graph, 3, 1), seq).header.status == 0);
  REQUIRE(call(ch, CallId::UserObjectRefs, refs(object, graph, 2, 2), seq).header.status == 0);
  refused.expect(ch, CallId::UserObjectRefs, refs(object, graph, 4, 4), seq, kInvalidValue);
  REQUIRE(call(ch, CallId::UserObjectRefs, refs(object, graph, 4, 3), seq).header.status == 0);
  refused.expect(ch, CallId::UserObjectRefs, refs(object, 0, 1, 2), seq, kInvalidValue);
  const uint64_t last = seq;
  REQUIRE(call(ch, CallId::UserObjectRefs, refs(object, 0, 1, 1), seq).header.status == 0);
  refused.check_never_traced(vgpud, "cu", last, "cuUserObjectRelease");
  // The last reference gone, the object is no longer the channel's.
  refused.expect(ch, CallId::UserObjectRefs, refs(object, 0, 0, 1), seq, kInvalidValue);
  expect_healthy(vgpud, "alpha");
}
