// Graphs and captures, from a hostile guest: ids that are not the channel's, flags vgpud does
// not offer, captures left open when a guest goes away.
#include <catch2/catch.hpp>

#include "test/integration/hostile_calls.h"

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
