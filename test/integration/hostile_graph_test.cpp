// Graphs and captures, from a hostile guest: ids that are not the channel's, flags vgpud does
// not offer, captures left open when a guest goes away.
#include <catch2/catch.hpp>

#include "test/integration/hostile_calls.h"
#include "vgpu/protocol/graph_edge.h"

using namespace vgpu;
using namespace vgpu::test;
using namespace vgpu::test::hostile;

namespace {

uint64_t create_stream(RawChannel& ch, uint64_t& seq) {
  const RawReply r = call(ch, CallId::StreamCreate, proto::StreamCreateRequest{1, 0}, seq);
  REQUIRE(r.header.status == 0);
  proto::StreamCreateReply reply;
  std::memcpy(&reply, r.payload.data(), sizeof reply);
  return reply.stream;
}

// A capture of one memset, ended: the graph's id.
uint32_t capture_graph(RawChannel& ch, uint64_t stream, uint64_t ptr, uint64_t& seq) {
  REQUIRE(call(ch, CallId::StreamBeginCapture, proto::StreamRequest{stream}, seq).header.status == 0);
  REQUIRE(call(ch, CallId::Memset, proto::MemsetRequest{ptr, 64, stream, 0, 0}, seq).header.status == 0);
  const RawReply r = call(ch, CallId::StreamEndCapture, proto::StreamRequest{stream}, seq);
  REQUIRE(r.header.status == 0);
  proto::StreamEndCaptureReply reply;
  std::memcpy(&reply, r.payload.data(), sizeof reply);
  REQUIRE(reply.graph != 0);
  return reply.graph;
}

}  // namespace

TEST_CASE("graphs and captures: only the channel's own ids, only the flags vgpud offers", "[hostile][graph]") {
  VgpudProcess vgpud(std::vector<TenantSpec>{{"alpha", ""}, {"beta", ""}});
  RawChannel beta(vgpud.socket("beta"));
  uint64_t beta_seq = 1;
  const uint64_t beta_stream = create_stream(beta, beta_seq);
  const uint32_t beta_graph = capture_graph(beta, beta_stream, alloc(beta, 4096, beta_seq), beta_seq);

  RawChannel ch(vgpud.socket("alpha"));
  uint64_t seq = 1000;  // above beta's: the trace lines are told apart by their seq
  const uint64_t stream = create_stream(ch, seq);
  RefusedByVgpud refused;
  // Beta's graph id, and ids nobody holds.
  refused.expect(ch, CallId::GraphInstantiate, proto::GraphInstantiateRequest{beta_graph, 0, 0}, seq, kInvalidValue);
  refused.expect(ch, CallId::GraphInstantiate, proto::GraphInstantiateRequest{0xffffffffu, 0, 0}, seq, kInvalidValue);
  refused.expect(ch, CallId::GraphDestroy, proto::GraphRequest{beta_graph, 0}, seq, kInvalidValue);
  refused.expect(ch, CallId::GraphClone, proto::GraphRequest{beta_graph, 0}, seq, kInvalidValue);
  refused.expect(ch, CallId::GraphAddChildNode, proto::GraphAddChildNodeRequest{beta_graph, beta_graph}, seq,
                 kInvalidValue);
  refused.expect(ch, CallId::GraphListNodes, proto::GraphListNodesRequest{beta_graph, 0}, seq, kInvalidValue);
  refused.expect(ch, CallId::GraphExecDestroy, proto::GraphExecRequest{7, 0}, seq, kInvalidValue);
  refused.expect(ch, CallId::StreamBeginCapture, proto::StreamRequest{0x9999}, seq, kInvalidHandle);
  refused.expect(ch, CallId::StreamEndCapture, proto::StreamRequest{0x9999}, seq, kInvalidHandle);
  refused.expect(ch, CallId::StreamCaptureInfo, proto::StreamRequest{0x9999}, seq, kInvalidHandle);
  // Device launch, and flags that do not exist: malformed, before anything is looked up.
  for (uint64_t flags : {uint64_t{4}, uint64_t{0x10}, uint64_t{1} << 63})
    REQUIRE(call(ch, CallId::GraphInstantiate, proto::GraphInstantiateRequest{1, 0, flags}, seq).header.status ==
            kMalformed);

  // A launch of an exec the channel does not hold is posted: its error comes with the next reply.
  ch.send(CallId::GraphLaunch, proto::GraphExecStreamRequest{1, 0, stream}, seq++, 0);
  const RawReply r = call(ch, CallId::StreamSynchronize, proto::StreamRequest{stream}, seq);
  REQUIRE(r.header.status == 0);
  REQUIRE(r.header.async_status == kInvalidValue);

  // Its own graph works; beta's is untouched and still its own.
  const uint32_t graph = capture_graph(ch, stream, alloc(ch, 4096, seq), seq);
  // Its nodes listed from an index past the last is refused; from the last, none.
  REQUIRE(call(ch, CallId::GraphListNodes, proto::GraphListNodesRequest{graph, 2}, seq).header.status == kInvalidValue);
  const RawReply listed = call(ch, CallId::GraphListNodes, proto::GraphListNodesRequest{graph, 1}, seq);
  REQUIRE(listed.header.status == 0);
  REQUIRE(listed.payload.size() == sizeof(proto::GraphListNodesReply));
  const RawReply made = call(ch, CallId::GraphInstantiate, proto::GraphInstantiateRequest{graph, 0, 0}, seq);
  REQUIRE(made.header.status == 0);
  proto::GraphInstantiateReply exec;
  std::memcpy(&exec, made.payload.data(), sizeof exec);
  ch.send(CallId::GraphLaunch, proto::GraphExecStreamRequest{exec.exec, 0, stream}, seq++, 0);
  const uint64_t last = seq;
  REQUIRE(call(ch, CallId::StreamSynchronize, proto::StreamRequest{stream}, seq).header.async_status == 0);
  REQUIRE(call(beta, CallId::GraphInstantiate, proto::GraphInstantiateRequest{beta_graph, 0, 0}, beta_seq)
              .header.status == 0);
  refused.check_never_traced(vgpud, "cu", last, "cuStreamSynchronize");
  expect_healthy(vgpud, "alpha");
}

TEST_CASE("a guest that dies mid-capture leaves nothing behind", "[hostile][graph]") {
  VgpudProcess vgpud;
  {
    RawChannel ch(vgpud.socket("alpha"));
    uint64_t seq = 1;
    const uint64_t stream = create_stream(ch, seq);
    const uint64_t ptr = alloc(ch, 4096, seq);
    capture_graph(ch, stream, ptr, seq);  // a graph it never destroys
    REQUIRE(call(ch, CallId::StreamBeginCapture, proto::StreamRequest{stream}, seq).header.status == 0);
    REQUIRE(call(ch, CallId::Memset, proto::MemsetRequest{ptr, 64, stream, 0, 0}, seq).header.status == 0);
  }  // gone, capturing
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
  REQUIRE(eventually([&] { return vgpud.fake_state("graphs") == 0; }));
  expect_healthy(vgpud, "alpha");
}

TEST_CASE("graphs built by hand: nodes and edges only of the channel's own graphs and memory", "[hostile][graph]") {
  VgpudProcess vgpud;
  RawChannel ch(vgpud.socket("alpha"));
  uint64_t seq = 1;
  const uint64_t ptr = alloc(ch, 4096, seq);
  auto create = [&] {
    const RawReply r = call(ch, CallId::GraphCreate, proto::GraphCreateRequest{0, 0}, seq);
    REQUIRE(r.header.status == 0);
    proto::GraphCreateReply g;
    std::memcpy(&g, r.payload.data(), sizeof g);
    return g.graph;
  };
  auto empty_node = [&](uint32_t graph) {
    const RawReply r = call(ch, CallId::GraphAddEmptyNode, proto::GraphRequest{graph, 0}, seq);
    REQUIRE(r.header.status == 0);
    proto::GraphNodeReply n;
    std::memcpy(&n, r.payload.data(), sizeof n);
    return n.node;
  };
  auto memset_node = [](uint32_t graph, uint64_t dst, uint64_t width, uint32_t element, uint64_t height, uint64_t pitch) {
    proto::GraphAddMemsetNodeRequest m{};
    m.graph = graph;
    m.element_size = element;
    m.dst = dst;
    m.pitch = pitch;
    m.width = width;
    m.height = height;
    return m;
  };
  const uint32_t first = create(), second = create();
  const uint32_t a = empty_node(first), b = empty_node(first), elsewhere = empty_node(second);
  RefusedByVgpud refused;
  const std::string one_edge = edges({{a, elsewhere}});
  refused.expect(ch, CallId::GraphAddDependencies, proto::GraphAddDependenciesRequest{first, kEdge}, seq, kInvalidValue,
                 one_edge);
  refused.expect(ch, CallId::GraphAddDependencies, proto::GraphAddDependenciesRequest{first, kEdge}, seq, kInvalidValue,
                 edges({{a, 0xabcdef}}));
  refused.expect(ch, CallId::GraphAddDependencies, proto::GraphAddDependenciesRequest{first, 6}, seq, kMalformed,
                 one_edge.substr(0, 6));  // not whole edges: refused as it is parsed
  // Edge data vgpud passes on only when each value is one the driver defines: refused before any
  // lookup otherwise. A programmatic edge between two empty nodes is well formed: the driver
  // refuses it (only kernels have a programmatic port).
  auto with_data = [](uint32_t from, uint32_t to, uint8_t type, uint8_t from_port, uint8_t to_port, uint8_t reserved) {
    proto::GraphEdge e = proto::plain_edge(from, to);
    e.type = type;
    e.from_port = from_port;
    e.to_port = to_port;
    e.reserved[4] = reserved;
    return std::string(reinterpret_cast<const char*>(&e), sizeof e);
  };
  for (const std::string& bad : {with_data(a, b, 2, 0, 0, 0), with_data(a, b, 1, 3, 0, 0), with_data(a, b, 0, 0, 1, 0),
                                 with_data(a, b, 0, 0, 0, 1)})
    REQUIRE(call(ch, CallId::GraphAddDependencies, proto::GraphAddDependenciesRequest{first, kEdge}, seq, bad)
                .header.status == kMalformed);
  REQUIRE(call(ch, CallId::GraphAddDependencies, proto::GraphAddDependenciesRequest{first, kEdge}, seq,
               with_data(a, b, 1, 1, 0, 0))
              .header.status == kInvalidValue);
  refused.expect(ch, CallId::GraphAddEmptyNode, proto::GraphRequest{0x777, 0}, seq, kInvalidValue);
  // Memsets: past the allocation, a pitch that walks out of it, a size that is no element, vgpud's own memory.
  refused.expect(ch, CallId::GraphAddMemsetNode, memset_node(first, ptr + 4000, 100, 1, 1, 0), seq, kInvalidValue);
  refused.expect(ch, CallId::GraphAddMemsetNode, memset_node(first, ptr, 16, 4, 4, 2048), seq, kInvalidValue);
  refused.expect(ch, CallId::GraphAddMemsetNode, memset_node(first, ptr, 16, 3, 1, 0), seq, kInvalidValue);
  refused.expect(ch, CallId::GraphAddMemsetNode,
                 memset_node(first, reinterpret_cast<uint64_t>(&seq), 8, 1, 1, 0), seq, kInvalidValue);
  // Memcpy nodes: device ends outside the allocation or in vgpud's memory, heap ends past the heap.
  auto copy_node = [&](uint32_t heap, uint64_t src, uint64_t dst, uint64_t width, uint64_t height, uint64_t pitch) {
    proto::GraphAddMemcpyNodeRequest c{};
    c.graph = first;
    c.heap = heap;
    c.src = src;
    c.dst = dst;
    c.src_pitch = c.dst_pitch = pitch;
    c.width = width;
    c.height = height;
    return c;
  };
  refused.expect(ch, CallId::GraphAddMemcpyNode, copy_node(0, ptr, ptr + 4000, 200, 1, 0), seq, kInvalidValue);
  refused.expect(ch, CallId::GraphAddMemcpyNode, copy_node(0, ptr, ptr, 64, 3, 4096), seq, kInvalidValue);
  refused.expect(ch, CallId::GraphAddMemcpyNode, copy_node(0, reinterpret_cast<uint64_t>(&seq), ptr, 8, 1, 0), seq,
                 kInvalidValue);
  refused.expect(ch, CallId::GraphAddMemcpyNode, copy_node(1, uint64_t{1} << 40, ptr, 64, 1, 0), seq, kInvalidValue);
  refused.expect(ch, CallId::GraphAddMemcpyNode, copy_node(2, ptr, ~uint64_t{0} - 8, 64, 1, 0), seq, kInvalidValue);
  REQUIRE(call(ch, CallId::GraphAddMemcpyNode, copy_node(4, ptr, ptr, 64, 1, 0), seq).header.status == kMalformed);
  REQUIRE(call(ch, CallId::GraphAddMemcpyNode, copy_node(0, ptr, ptr, 0, 1, 0), seq).header.status == kMalformed);
  REQUIRE(call(ch, CallId::GraphAddMemcpyNode, copy_node(1, 0, ptr, 64, 1, 0), seq).header.status == 0);
  // Event nodes: an event the channel does not have.
  refused.expect(ch, CallId::GraphAddEventNode, proto::GraphAddEventNodeRequest{first, 0x5151, 0, 0}, seq,
                 kInvalidValue);
  refused.expect(ch, CallId::GraphAddEventNode, proto::GraphAddEventNodeRequest{first, 0x5151, 1, 0}, seq,
                 kInvalidValue);
  REQUIRE(call(ch, CallId::GraphAddEventNode, proto::GraphAddEventNodeRequest{first, 1, 2, 0}, seq).header.status ==
          kMalformed);
  // A kernel node of a function the channel does not have.
  proto::GraphAddKernelNodeRequest k{};
  k.graph = first;
  k.function = 0x4242;
  k.grid[0] = k.grid[1] = k.grid[2] = 1;
  k.block[0] = k.block[1] = k.block[2] = 1;
  refused.expect(ch, CallId::GraphAddKernelNode, k, seq, kInvalidHandle);
  // Malformed before anything is looked up: flags on a new graph, an element of 8 bytes.
  REQUIRE(call(ch, CallId::GraphCreate, proto::GraphCreateRequest{1, 0}, seq).header.status == kMalformed);
  REQUIRE(call(ch, CallId::GraphAddMemsetNode, memset_node(first, ptr, 1, 8, 1, 0), seq).header.status == kMalformed);

  // What is right still works; a destroyed graph's nodes are gone with it.
  REQUIRE(call(ch, CallId::GraphAddDependencies, proto::GraphAddDependenciesRequest{first, kEdge}, seq, edges({{a, b}}))
              .header.status == 0);
  REQUIRE(call(ch, CallId::GraphAddMemsetNode, memset_node(first, ptr, 1024, 4, 1, 0), seq).header.status == 0);
  REQUIRE(call(ch, CallId::GraphDestroy, proto::GraphRequest{second, 0}, seq).header.status == 0);
  refused.expect(ch, CallId::GraphAddDependencies, proto::GraphAddDependenciesRequest{first, kEdge}, seq, kInvalidValue,
                 edges({{elsewhere, a}}));
  const uint64_t last = seq;
  REQUIRE(call(ch, CallId::GraphAddEmptyNode, proto::GraphRequest{first, 0}, seq).header.status == 0);
  refused.check_never_traced(vgpud, "cuGraphAdd", last, "cuGraphAddEmptyNode");
  expect_healthy(vgpud, "alpha");
}

TEST_CASE("a graph whose edges close a cycle is refused at instantiation, cloning and as a child", "[hostile][graph]") {
  // The driver takes an edge that closes a cycle and then crashes the process instantiating
  // the graph (the fake driver aborts there, as the real one crashes): vgpud must not pass it on.
  VgpudProcess vgpud;
  RawChannel ch(vgpud.socket("alpha"));
  uint64_t seq = 1;
  const RawReply made = call(ch, CallId::GraphCreate, proto::GraphCreateRequest{0, 0}, seq);
  REQUIRE(made.header.status == 0);
  proto::GraphCreateReply graph;
  std::memcpy(&graph, made.payload.data(), sizeof graph);
  uint32_t nodes[3];
  for (uint32_t& n : nodes) {
    const RawReply r = call(ch, CallId::GraphAddEmptyNode, proto::GraphRequest{graph.graph, 0}, seq);
    REQUIRE(r.header.status == 0);
    proto::GraphNodeReply reply;
    std::memcpy(&reply, r.payload.data(), sizeof reply);
    n = reply.node;
  }
  // 0 -> 1 -> 2 -> 0, in two messages: each is acyclic alone.
  const proto::GraphEdge path[] = {proto::plain_edge(nodes[0], nodes[1]), proto::plain_edge(nodes[1], nodes[2])},
                        back[] = {proto::plain_edge(nodes[2], nodes[0])};
  REQUIRE(call(ch, CallId::GraphAddDependencies, proto::GraphAddDependenciesRequest{graph.graph, sizeof path}, seq,
               std::string(reinterpret_cast<const char*>(path), sizeof path))
              .header.status == 0);
  REQUIRE(call(ch, CallId::GraphInstantiate, proto::GraphInstantiateRequest{graph.graph, 0, 0}, seq).header.status == 0);
  REQUIRE(call(ch, CallId::GraphAddDependencies, proto::GraphAddDependenciesRequest{graph.graph, sizeof back}, seq,
               std::string(reinterpret_cast<const char*>(back), sizeof back))
              .header.status == 0);
  REQUIRE(call(ch, CallId::GraphInstantiate, proto::GraphInstantiateRequest{graph.graph, 0, 0}, seq).header.status ==
          kInvalidValue);
  REQUIRE(call(ch, CallId::GraphClone, proto::GraphRequest{graph.graph, 0}, seq).header.status == kInvalidValue);
  // Nor may it hide in another graph as a child, nor a graph be its own child.
  const RawReply parent_made = call(ch, CallId::GraphCreate, proto::GraphCreateRequest{0, 0}, seq);
  REQUIRE(parent_made.header.status == 0);
  proto::GraphCreateReply parent;
  std::memcpy(&parent, parent_made.payload.data(), sizeof parent);
  REQUIRE(call(ch, CallId::GraphAddChildNode, proto::GraphAddChildNodeRequest{parent.graph, graph.graph}, seq)
              .header.status == kInvalidValue);
  REQUIRE(call(ch, CallId::GraphAddChildNode, proto::GraphAddChildNodeRequest{parent.graph, parent.graph}, seq)
              .header.status == kInvalidValue);
  REQUIRE(call(ch, CallId::GraphAddChildNode, proto::GraphAddChildNodeRequest{parent.graph, 0xffffffffu}, seq)
              .header.status == kInvalidValue);
  REQUIRE(call(ch, CallId::GraphDestroy, proto::GraphRequest{parent.graph, 0}, seq).header.status == 0);
  REQUIRE(call(ch, CallId::GraphDestroy, proto::GraphRequest{graph.graph, 0}, seq).header.status == 0);
  expect_healthy(vgpud, "alpha");
}
