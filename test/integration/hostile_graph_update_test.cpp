// Graph updates and per-node parameters, from a hostile guest: nodes, graphs, executable graphs,
// events and functions that are not the channel's (another channel's ids, ids nobody holds, a
// node of a graph the executable graph was not made from), node types that do not match, ranges
// outside the channel's memory, parameter buffers of the wrong length, values the calls do not
// have. vgpud refuses each before its driver sees it.
#include <catch2/catch.hpp>

#include "test/integration/hostile_calls.h"
#include "vgpu/protocol/graph_edge.h"

using namespace vgpu;
using namespace vgpu::test;
using namespace vgpu::test::hostile;

namespace {

template <typename Reply, typename Request>
Reply made(RawChannel& ch, CallId id, const Request& request, uint64_t& seq, const std::string& tail = {}) {
  const RawReply r = call(ch, id, request, seq, tail);
  REQUIRE(r.header.status == 0);
  REQUIRE(r.payload.size() >= sizeof(Reply));
  Reply reply;
  std::memcpy(&reply, r.payload.data(), sizeof reply);
  return reply;
}

uint32_t new_graph(RawChannel& ch, uint64_t& seq) {
  return made<proto::GraphCreateReply>(ch, CallId::GraphCreate, proto::GraphCreateRequest{0, 0}, seq).graph;
}

proto::GraphAddMemsetNodeRequest memset_node(uint32_t graph, uint64_t dst) {
  proto::GraphAddMemsetNodeRequest m{};
  m.graph = graph;
  m.element_size = 4;
  m.dst = dst;
  m.width = 16;
  m.height = 1;
  return m;
}

// fake_fill_u32's packed parameters: pointer, value, count (8, 4 and 8 bytes, the last 8-aligned).
std::string fill_params(uint64_t p, uint32_t value, uint64_t count) {
  std::string bytes(24, '\0');
  std::memcpy(bytes.data(), &p, 8);
  std::memcpy(bytes.data() + 8, &value, 4);
  std::memcpy(bytes.data() + 16, &count, 8);
  return bytes;
}

template <typename Request>
Request kernel_request(uint32_t function) {
  Request k{};
  k.function = function;
  k.grid[0] = k.grid[1] = k.grid[2] = 1;
  k.block[0] = k.block[1] = k.block[2] = 1;
  k.param_bytes = 24;
  return k;
}

}  // namespace

TEST_CASE("graph updates: only the channel's nodes, graphs, events and functions, checked as adding them",
          "[hostile][graph]") {
  VgpudProcess vgpud(std::vector<TenantSpec>{{"alpha", ""}, {"beta", ""}});
  // Beta's graph, node and executable graph: ids alpha does not hold (it has made none yet).
  RawChannel beta(vgpud.socket("beta"));
  uint64_t beta_seq = 1;
  const uint64_t beta_ptr = alloc(beta, 4096, beta_seq);
  const uint32_t beta_graph = new_graph(beta, beta_seq);
  const uint32_t beta_node =
      made<proto::GraphNodeReply>(beta, CallId::GraphAddMemsetNode, memset_node(beta_graph, beta_ptr), beta_seq).node;
  const uint32_t beta_exec =
      made<proto::GraphInstantiateReply>(beta, CallId::GraphInstantiate,
                                         proto::GraphInstantiateRequest{beta_graph, 0, 0}, beta_seq)
          .exec;

  RawChannel ch(vgpud.socket("alpha"));
  uint64_t seq = 1000;  // above beta's: the trace lines are told apart by their seq
  RefusedByVgpud exec_refused, graph_refused, update_refused;
  const uint64_t ptr = alloc(ch, 4096, seq);
  proto::GraphMemsetNodeSetRequest set{beta_exec, beta_node, 4, 0, ptr, 0, 16, 1};
  exec_refused.expect(ch, CallId::GraphMemsetNodeSet, set, seq, kInvalidValue);
  set.exec = 0;
  graph_refused.expect(ch, CallId::GraphMemsetNodeSet, set, seq, kInvalidValue);
  update_refused.expect(ch, CallId::GraphExecUpdate, proto::GraphExecUpdateRequest{beta_exec, beta_graph}, seq,
                        kInvalidValue);
  graph_refused.expect(ch, CallId::GraphNodeGetParams, proto::GraphNodeGetParamsRequest{beta_node, 0}, seq,
                       kInvalidValue);
  exec_refused.expect(ch, CallId::GraphNodeEnabled, proto::GraphNodeEnabledRequest{beta_exec, beta_node, 1, 0}, seq,
                      kInvalidValue);

  // Alpha's own: graph A (memset -> kernel), its executable graph, and graph B (a memset node).
  const uint32_t module = load(ch, "FAKECUBIN 1\nkernel fake_fill_u32 8,4,8\nkernel two 4,4\n", seq);
  const uint32_t fill = function(ch, module, "fake_fill_u32", seq);
  const uint32_t two = function(ch, module, "two", seq);
  const uint32_t a = new_graph(ch, seq), b = new_graph(ch, seq);
  const uint32_t a_set = made<proto::GraphNodeReply>(ch, CallId::GraphAddMemsetNode, memset_node(a, ptr), seq).node;
  auto add = kernel_request<proto::GraphAddKernelNodeRequest>(fill);
  add.graph = a;
  const uint32_t a_kernel =
      made<proto::GraphNodeReply>(ch, CallId::GraphAddKernelNode, add, seq, fill_params(ptr, 1, 4)).node;
  proto::GraphAddMemcpyNodeRequest add_copy{};
  add_copy.graph = a;
  add_copy.src = ptr;
  add_copy.dst = ptr + 2048;
  add_copy.width = 64;
  add_copy.height = 1;
  const uint32_t a_copy = made<proto::GraphNodeReply>(ch, CallId::GraphAddMemcpyNode, add_copy, seq).node;
  const uint32_t event =
      made<proto::EventCreateReply>(ch, CallId::EventCreate, proto::EventCreateRequest{0, 0}, seq).event;
  const uint32_t a_record =
      made<proto::GraphNodeReply>(ch, CallId::GraphAddEventNode, proto::GraphAddEventNodeRequest{a, event, 0, 0}, seq)
          .node;
  const uint32_t b_set = made<proto::GraphNodeReply>(ch, CallId::GraphAddMemsetNode, memset_node(b, ptr), seq).node;
  const uint32_t exec =
      made<proto::GraphInstantiateReply>(ch, CallId::GraphInstantiate, proto::GraphInstantiateRequest{a, 0, 0}, seq)
          .exec;
  // Graph D: one child graph node (of B), and its executable graph.
  const uint32_t d = new_graph(ch, seq);
  const uint32_t d_child =
      made<proto::GraphNodeReply>(ch, CallId::GraphAddChildNode, proto::GraphAddChildNodeRequest{d, b}, seq).node;
  const uint32_t d_exec =
      made<proto::GraphInstantiateReply>(ch, CallId::GraphInstantiate, proto::GraphInstantiateRequest{d, 0, 0}, seq)
          .exec;

  // A node of a graph the executable graph was not made from, ids nobody holds, the wrong type.
  set = proto::GraphMemsetNodeSetRequest{exec, b_set, 4, 0, ptr, 0, 16, 1};
  exec_refused.expect(ch, CallId::GraphMemsetNodeSet, set, seq, kInvalidValue);
  set.node = 0x7777;
  exec_refused.expect(ch, CallId::GraphMemsetNodeSet, set, seq, kInvalidValue);
  set = proto::GraphMemsetNodeSetRequest{0x7777, a_set, 4, 0, ptr, 0, 16, 1};
  exec_refused.expect(ch, CallId::GraphMemsetNodeSet, set, seq, kInvalidValue);
  set = proto::GraphMemsetNodeSetRequest{exec, a_kernel, 4, 0, ptr, 0, 16, 1};
  exec_refused.expect(ch, CallId::GraphMemsetNodeSet, set, seq, kInvalidValue);
  // Ranges as adding a memset checks them: past the allocation, vgpud's own memory, a size that is no element.
  set = proto::GraphMemsetNodeSetRequest{exec, a_set, 4, 0, ptr + 4000, 0, 100, 1};
  exec_refused.expect(ch, CallId::GraphMemsetNodeSet, set, seq, kInvalidValue);
  set.exec = 0;
  graph_refused.expect(ch, CallId::GraphMemsetNodeSet, set, seq, kInvalidValue);
  set = proto::GraphMemsetNodeSetRequest{exec, a_set, 4, 0, reinterpret_cast<uint64_t>(&seq), 0, 2, 1};
  exec_refused.expect(ch, CallId::GraphMemsetNodeSet, set, seq, kInvalidValue);
  set = proto::GraphMemsetNodeSetRequest{exec, a_set, 3, 0, ptr, 0, 16, 1};
  exec_refused.expect(ch, CallId::GraphMemsetNodeSet, set, seq, kInvalidValue);
  set.element_size = 8;
  REQUIRE(call(ch, CallId::GraphMemsetNodeSet, set, seq).header.status == kMalformed);

  // Kernels: a function the channel does not have, parameters of the wrong length, a zero grid.
  auto k = kernel_request<proto::GraphKernelNodeSetRequest>(0x4242);
  k.exec = exec;
  k.node = a_kernel;
  exec_refused.expect(ch, CallId::GraphKernelNodeSet, k, seq, kInvalidHandle, fill_params(ptr, 2, 4));
  k.function = fill;
  k.param_bytes = 20;
  exec_refused.expect(ch, CallId::GraphKernelNodeSet, k, seq, kInvalidValue, fill_params(ptr, 2, 4).substr(0, 20));
  k.function = two;  // another layout than the bytes sent
  k.param_bytes = 24;
  exec_refused.expect(ch, CallId::GraphKernelNodeSet, k, seq, kInvalidValue, fill_params(ptr, 2, 4));
  k.function = fill;
  k.grid[1] = 0;
  REQUIRE(call(ch, CallId::GraphKernelNodeSet, k, seq, fill_params(ptr, 2, 4)).header.status == kMalformed);

  // Copies: a device end outside the allocation, a heap end past the heap, flags that do not exist.
  const uint64_t heap = ch.header()->geometry.heap.size;
  proto::GraphMemcpyNodeSetRequest copy{exec, a_set, 0, 0, ptr, ptr + 1024, 0, 0, 64, 1};
  exec_refused.expect(ch, CallId::GraphMemcpyNodeSet, copy, seq, kInvalidValue);  // a memset node
  copy.node = a_copy;
  copy.dst = ptr + 4000;
  copy.width = 200;
  exec_refused.expect(ch, CallId::GraphMemcpyNodeSet, copy, seq, kInvalidValue);
  copy.dst = reinterpret_cast<uint64_t>(&seq);
  copy.width = 8;
  exec_refused.expect(ch, CallId::GraphMemcpyNodeSet, copy, seq, kInvalidValue);
  copy.exec = 0;
  graph_refused.expect(ch, CallId::GraphMemcpyNodeSet, copy, seq, kInvalidValue);
  copy.exec = exec;
  copy.heap = 1;
  copy.src = heap - 8;  // 64 bytes from 8 before the heap's end
  copy.dst = ptr;
  copy.width = 64;
  exec_refused.expect(ch, CallId::GraphMemcpyNodeSet, copy, seq, kInvalidValue);
  copy.heap = 4;
  REQUIRE(call(ch, CallId::GraphMemcpyNodeSet, copy, seq).header.status == kMalformed);
  // Events, host functions, children: not the channel's, or on nodes of another type.
  exec_refused.expect(ch, CallId::GraphEventNodeSet, proto::GraphEventNodeSetRequest{exec, a_record, 0x5151, 0}, seq,
                      kInvalidValue);
  exec_refused.expect(ch, CallId::GraphEventNodeSet, proto::GraphEventNodeSetRequest{exec, a_record, event, 1}, seq,
                      kInvalidValue);  // a record node named as a wait node
  graph_refused.expect(ch, CallId::GraphEventNodeSet, proto::GraphEventNodeSetRequest{0, a_set, event, 0}, seq,
                       kInvalidValue);
  REQUIRE(call(ch, CallId::GraphEventNodeSet, proto::GraphEventNodeSetRequest{exec, a_set, 1, 2}, seq).header.status ==
          kMalformed);
  exec_refused.expect(ch, CallId::GraphHostNodeSet, proto::GraphHostNodeSetRequest{exec, a_kernel, 1}, seq,
                      kInvalidValue);
  exec_refused.expect(ch, CallId::GraphExecChildSet, proto::GraphExecChildSetRequest{exec, a_set, b, 0}, seq,
                      kInvalidValue);
  exec_refused.expect(ch, CallId::GraphExecChildSet, proto::GraphExecChildSetRequest{0, a_set, b, 0}, seq,
                      kInvalidValue);
  // Enabled: an executable graph is needed, values are 0 or 1.
  exec_refused.expect(ch, CallId::GraphNodeEnabled, proto::GraphNodeEnabledRequest{0, a_kernel, 1, 0}, seq,
                      kInvalidValue);
  exec_refused.expect(ch, CallId::GraphNodeEnabled, proto::GraphNodeEnabledRequest{exec, b_set, 1, 0}, seq,
                      kInvalidValue);
  REQUIRE(call(ch, CallId::GraphNodeEnabled, proto::GraphNodeEnabledRequest{exec, a_kernel, 2, 0}, seq).header.status ==
          kMalformed);
  REQUIRE(call(ch, CallId::GraphNodeEnabled, proto::GraphNodeEnabledRequest{exec, a_kernel, 1, 5}, seq).header.status ==
          kMalformed);
  // Attributes: only those vgpud applies, only of kernel nodes.
  proto::GraphKernelNodeAttributeRequest attr{};
  attr.node = a_kernel;
  attr.op = 1;
  attr.attribute = 1;  // the access policy window: the guest's to keep
  graph_refused.expect(ch, CallId::GraphKernelNodeAttribute, attr, seq, kInvalidValue);
  attr.attribute = 8;
  attr.node = a_set;
  graph_refused.expect(ch, CallId::GraphKernelNodeAttribute, attr, seq, kInvalidValue);
  attr.op = 2;
  attr.node = a_kernel;
  attr.source = a_set;
  graph_refused.expect(ch, CallId::GraphKernelNodeAttribute, attr, seq, kInvalidValue);
  attr.op = 3;
  REQUIRE(call(ch, CallId::GraphKernelNodeAttribute, attr, seq).header.status == kMalformed);

  // An update from a graph nobody holds, or one whose edges close a cycle (the driver would crash).
  update_refused.expect(ch, CallId::GraphExecUpdate, proto::GraphExecUpdateRequest{exec, 0x3333}, seq, kInvalidValue);
  const uint32_t c = new_graph(ch, seq);
  uint32_t n[2];
  for (uint32_t& id : n)
    id = made<proto::GraphNodeReply>(ch, CallId::GraphAddEmptyNode, proto::GraphRequest{c, 0}, seq).node;
  const proto::GraphEdge loop[] = {proto::plain_edge(n[0], n[1]), proto::plain_edge(n[1], n[0])};
  REQUIRE(call(ch, CallId::GraphAddDependencies, proto::GraphAddDependenciesRequest{c, sizeof loop}, seq,
               std::string(reinterpret_cast<const char*>(loop), sizeof loop))
              .header.status == 0);
  update_refused.expect(ch, CallId::GraphExecUpdate, proto::GraphExecUpdateRequest{exec, c}, seq, kInvalidValue);
  exec_refused.expect(ch, CallId::GraphExecChildSet, proto::GraphExecChildSetRequest{d_exec, d_child, c, 0}, seq,
                      kInvalidValue);
  exec_refused.expect(ch, CallId::GraphExecChildSet, proto::GraphExecChildSetRequest{d_exec, d_child, 0x3333, 0}, seq,
                      kInvalidValue);
  exec_refused.expect(ch, CallId::GraphExecChildSet, proto::GraphExecChildSetRequest{exec, d_child, b, 0}, seq,
                      kInvalidValue);  // a node of D's, an executable graph of A's

  // What is right works: an update from a graph of another shape is the driver's to refuse, and
  // its answer comes back whole; a memset set; the kernel's parameters read back.
  const proto::GraphExecUpdateReply other =
      made<proto::GraphExecUpdateReply>(ch, CallId::GraphExecUpdate, proto::GraphExecUpdateRequest{exec, b}, seq);
  CHECK(other.status == 910);  // CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE
  CHECK(other.result == 2);    // CU_GRAPH_EXEC_UPDATE_ERROR_TOPOLOGY_CHANGED
  set = proto::GraphMemsetNodeSetRequest{exec, a_set, 4, 9, ptr, 0, 16, 1};
  REQUIRE(call(ch, CallId::GraphMemsetNodeSet, set, seq).header.status == 0);
  const uint64_t last = seq;
  const RawReply params = call(ch, CallId::GraphNodeGetParams, proto::GraphNodeGetParamsRequest{a_kernel, 0}, seq);
  REQUIRE(params.header.status == 0);
  REQUIRE(params.payload.size() == sizeof(proto::GraphNodeGetParamsReply) + 24);
  proto::GraphNodeGetParamsReply got;
  std::memcpy(&got, params.payload.data(), sizeof got);
  CHECK(got.function == fill);
  CHECK(got.param_bytes == 24);
  CHECK(std::string(reinterpret_cast<const char*>(params.payload.data()) + sizeof got, 24) == fill_params(ptr, 1, 4));
  exec_refused.check_never_traced(vgpud, "cuGraphExec", last, "cuGraphNodeGetType");
  graph_refused.check_never_traced(vgpud, "cuGraphMemsetNodeSet", last, "cuGraphNodeGetType");
  graph_refused.check_never_traced(vgpud, "cuGraphMemcpyNodeSet", last, "cuGraphNodeGetType");
  graph_refused.check_never_traced(vgpud, "cuGraphEventRecordNodeSet", last, "cuGraphNodeGetType");
  graph_refused.check_never_traced(vgpud, "cuGraphKernelNode", last, "cuGraphNodeGetType");
  update_refused.check_never_traced(vgpud, "cuGraph", last, "cuGraphNodeGetType");
  // Beta's objects are untouched and still its own.
  REQUIRE(call(beta, CallId::GraphNodeEnabled, proto::GraphNodeEnabledRequest{beta_exec, beta_node, 0, 0}, beta_seq)
              .header.status == 0);
  expect_healthy(vgpud, "alpha");
}

TEST_CASE("a guest that dies with executable graphs it set leaves nothing behind", "[hostile][graph]") {
  VgpudProcess vgpud;
  {
    RawChannel ch(vgpud.socket("alpha"));
    uint64_t seq = 1;
    const uint64_t ptr = alloc(ch, 4096, seq);
    const uint32_t g = new_graph(ch, seq);
    const uint32_t node = made<proto::GraphNodeReply>(ch, CallId::GraphAddMemsetNode, memset_node(g, ptr), seq).node;
    const uint32_t exec =
        made<proto::GraphInstantiateReply>(ch, CallId::GraphInstantiate, proto::GraphInstantiateRequest{g, 0, 0}, seq)
            .exec;
    REQUIRE(call(ch, CallId::GraphMemsetNodeSet, proto::GraphMemsetNodeSetRequest{exec, node, 4, 1, ptr, 0, 16, 1}, seq)
                .header.status == 0);
    REQUIRE(call(ch, CallId::GraphExecUpdate, proto::GraphExecUpdateRequest{exec, g}, seq).header.status == 0);
  }  // gone
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
  REQUIRE(eventually([&] { return vgpud.fake_state("graph_execs") == 0; }));
  REQUIRE(vgpud.fake_state("graphs") == 0);
  expect_healthy(vgpud, "alpha");
}
