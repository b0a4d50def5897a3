// Graph memory from a hostile guest: allocation nodes in graphs, on devices and streams that are
// not the channel's; frees of addresses that are not its graph memory; values out of range. And
// the tenant's device_memory: an allocation node is charged when made, and given back only once
// no graph or executable graph holds it and it cannot be live.
#include <catch2/catch.hpp>

#include <memory>

#include "test/integration/hostile_calls.h"

using namespace vgpu;
using namespace vgpu::test;
using namespace vgpu::test::hostile;

namespace {

constexpr int32_t kOutOfMemory = 2;    // CUDA_ERROR_OUT_OF_MEMORY
constexpr int32_t kInvalidDevice = 101;  // CUDA_ERROR_INVALID_DEVICE
constexpr uint64_t kMiB = 1 << 20;

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

proto::GraphMemAllocReply alloc_node(RawChannel& ch, uint32_t graph, uint64_t size, uint64_t& seq) {
  return reply_of<proto::GraphMemAllocReply>(
      call(ch, CallId::GraphMemAlloc, proto::GraphMemAllocRequest{graph, 0, size, 0, 0, 0}, seq));
}

}  // namespace

TEST_CASE("graph memory: only the channel's graphs, devices, streams and addresses", "[hostile][graph]") {
  VgpudProcess vgpud(std::vector<TenantSpec>{{"alpha", ""}, {"beta", ""}});
  RawChannel beta(vgpud.socket("beta"));
  uint64_t beta_seq = 1;
  uint32_t beta_graph = 0;  // ids are per channel: past any alpha holds
  for (int i = 0; i < 4; ++i) beta_graph = create_graph(beta, beta_seq);
  const uint64_t beta_memory = alloc_node(beta, beta_graph, 4096, beta_seq).address;

  RawChannel ch(vgpud.socket("alpha"));
  uint64_t seq = 1000;
  const uint32_t graph = create_graph(ch, seq);
  const uint64_t plain = alloc(ch, 4096, seq);
  const auto made = alloc_node(ch, graph, 4096, seq);
  REQUIRE(made.node != 0);
  REQUIRE(made.address != 0);
  const uint64_t stream = reply_of<proto::StreamCreateReply>(
                              call(ch, CallId::StreamCreate, proto::StreamCreateRequest{1, 0}, seq))
                              .stream;
  RefusedByVgpud refused;
  refused.expect(ch, CallId::GraphMemAlloc, proto::GraphMemAllocRequest{beta_graph, 0, 64, 0, 0, 0}, seq, kInvalidValue);
  refused.expect(ch, CallId::GraphMemAlloc, proto::GraphMemAllocRequest{0x7777, 0, 64, 0, 0, 0}, seq, kInvalidValue);
  refused.expect(ch, CallId::GraphMemAlloc, proto::GraphMemAllocRequest{graph, 1, 64, 0, 0, 0}, seq, kInvalidDevice);
  // Dependencies: nodes of this graph only, whole ids, none for a captured one.
  const auto id_bytes = [](uint32_t id) { return std::string(reinterpret_cast<const char*>(&id), sizeof id); };
  refused.expect(ch, CallId::GraphMemAlloc, proto::GraphMemAllocRequest{graph, 0, 64, 0, 4, 0}, seq, kInvalidValue,
                 id_bytes(0x7777));
  refused.expect(ch, CallId::GraphMemAlloc, proto::GraphMemAllocRequest{graph, 0, 64, 0, 3, 0}, seq, kInvalidValue,
                 id_bytes(made.node).substr(0, 3));
  refused.expect(ch, CallId::GraphMemAlloc, proto::GraphMemAllocRequest{0, 0, 64, stream, 4, 0}, seq, kInvalidValue,
                 id_bytes(made.node));
  // Captured needs a capturing stream of the channel's.
  refused.expect(ch, CallId::GraphMemAlloc, proto::GraphMemAllocRequest{0, 0, 64, stream, 0, 0}, seq, kInvalidValue);
  refused.expect(ch, CallId::GraphMemAlloc, proto::GraphMemAllocRequest{0, 0, 64, 0x9999, 0, 0}, seq, kInvalidHandle);
  // Frees: beta's graph memory, memory that is no graph's, inside an allocation, into beta's graph.
  // (Workers are processes of their own: beta's address may be one alpha holds too, then alpha's.)
  if (beta_memory != made.address)
    refused.expect(ch, CallId::GraphMemFree, proto::GraphMemFreeRequest{graph, 0, beta_memory, 0}, seq, kInvalidValue);
  refused.expect(ch, CallId::GraphMemFree, proto::GraphMemFreeRequest{graph, 0, plain, 0}, seq, kInvalidValue);
  refused.expect(ch, CallId::GraphMemFree, proto::GraphMemFreeRequest{0, 2, made.address + 64, 0}, seq, kInvalidValue);
  refused.expect(ch, CallId::GraphMemFree, proto::GraphMemFreeRequest{beta_graph, 0, made.address, 0}, seq,
                 kInvalidValue);
  refused.expect(ch, CallId::GraphMemFree, proto::GraphMemFreeRequest{0, 1, made.address, 0x9999}, seq, kInvalidHandle);
  // MEM_FREE frees allocations only: graph memory is its node's.
  refused.expect(ch, CallId::MemFree, proto::MemFreeRequest{made.address}, seq, kInvalidValue);
  refused.expect(ch, CallId::DeviceGraphMem, proto::DeviceGraphMemRequest{3, 1, 0, 0, 0}, seq, kInvalidDevice);
  // Malformed: no bytes, a device the protocol cannot name, a mode, op or attribute that does not exist.
  REQUIRE(call(ch, CallId::GraphMemAlloc, proto::GraphMemAllocRequest{graph, 0, 0, 0, 0, 0}, seq).header.status == kMalformed);
  REQUIRE(call(ch, CallId::GraphMemAlloc, proto::GraphMemAllocRequest{graph, 99, 64, 0, 0, 0}, seq).header.status ==
          kMalformed);
  REQUIRE(call(ch, CallId::GraphMemFree, proto::GraphMemFreeRequest{graph, 3, made.address, 0}, seq).header.status ==
          kMalformed);
  REQUIRE(call(ch, CallId::DeviceGraphMem, proto::DeviceGraphMemRequest{0, 3, 0, 0, 0}, seq).header.status ==
          kMalformed);
  REQUIRE(call(ch, CallId::DeviceGraphMem, proto::DeviceGraphMemRequest{0, 1, 4, 0, 0}, seq).header.status ==
          kMalformed);
  // Its graph memory is the channel's device memory: a memset inside it is taken, one past it not.
  refused.expect(ch, CallId::Memset, proto::MemsetRequest{made.address + 4000, 200, 0, 0, 0}, seq, kInvalidValue);
  REQUIRE(call(ch, CallId::Memset, proto::MemsetRequest{made.address, 4096, 0, 0, 0}, seq).header.status == 0);
  const uint64_t last = seq;
  const auto free_node = reply_of<proto::GraphNodeReply>(
      call(ch, CallId::GraphMemFree, proto::GraphMemFreeRequest{graph, 0, made.address, 0}, seq));
  REQUIRE(free_node.node != 0);
  refused.check_never_traced(vgpud, "cu", last, "cuGraphAddMemFreeNode");
  const auto used = reply_of<proto::DeviceGraphMemReply>(
      call(ch, CallId::DeviceGraphMem, proto::DeviceGraphMemRequest{0, 1, 0, 0, 0}, seq));
  REQUIRE(used.value >= 4096);
  expect_healthy(vgpud, "alpha");
}

TEST_CASE("graph memory is the tenant's device memory from its node on, until nothing can hold it",
          "[hostile][graph][limits]") {
  VgpudProcess vgpud({TenantSpec{"alpha", "      device_memory: 8MiB\n"}});
  auto channel = std::make_unique<RawChannel>(vgpud.socket("alpha"));
  RawChannel& ch = *channel;
  uint64_t seq = 1;
  const uint32_t graph = create_graph(ch, seq);
  alloc_node(ch, graph, 6 * kMiB, seq);
  CHECK(vgpud.counter("alpha", "device_bytes") == static_cast<long>(6 * kMiB));
  // Over the limit: refused before the driver sees it.
  REQUIRE(call(ch, CallId::GraphMemAlloc, proto::GraphMemAllocRequest{graph, 0, 4 * kMiB, 0, 0, 0}, seq).header.status ==
          kOutOfMemory);
  REQUIRE(call(ch, CallId::MemAlloc, proto::MemAllocRequest{4 * kMiB}, seq).header.status == kOutOfMemory);
  // The graph goes, and its memory with it.
  REQUIRE(call(ch, CallId::GraphDestroy, proto::GraphRequest{graph, 0}, seq).header.status == 0);
  CHECK(vgpud.counter("alpha", "device_bytes") == 0);

  // Not freed in its graph, instantiated: the executable graph holds it; once that is gone the
  // memory may still be live (a launch left it allocated), until the program frees it.
  const uint32_t kept = create_graph(ch, seq);
  const auto node = alloc_node(ch, kept, 6 * kMiB, seq);
  const uint32_t exec = reply_of<proto::GraphInstantiateReply>(
                            call(ch, CallId::GraphInstantiate, proto::GraphInstantiateRequest{kept, 0, 0}, seq))
                            .exec;
  REQUIRE(call(ch, CallId::GraphDestroy, proto::GraphRequest{kept, 0}, seq).header.status == 0);
  CHECK(vgpud.counter("alpha", "device_bytes") == static_cast<long>(6 * kMiB));
  REQUIRE(call(ch, CallId::GraphExecDestroy, proto::GraphExecRequest{exec, 0}, seq).header.status == 0);
  CHECK(vgpud.counter("alpha", "device_bytes") == static_cast<long>(6 * kMiB));
  REQUIRE(call(ch, CallId::Memset, proto::MemsetRequest{node.address, 64, 0, 0, 0}, seq).header.status == 0);
  REQUIRE(call(ch, CallId::GraphMemFree, proto::GraphMemFreeRequest{0, 2, node.address, 0}, seq).header.status == 0);
  CHECK(vgpud.counter("alpha", "device_bytes") == 0);
  // Given back: no longer the channel's memory.
  REQUIRE(call(ch, CallId::Memset, proto::MemsetRequest{node.address, 64, 0, 0, 0}, seq).header.status == kInvalidValue);

  // A node destroyed gives its memory back too; the channel's end gives back the rest.
  const uint32_t third = create_graph(ch, seq);
  const auto destroyed = alloc_node(ch, third, 2 * kMiB, seq);
  alloc_node(ch, third, 3 * kMiB, seq);
  REQUIRE(call(ch, CallId::GraphDestroyNode, proto::GraphDestroyNodeRequest{destroyed.node, 0}, seq).header.status == 0);
  CHECK(vgpud.counter("alpha", "device_bytes") == static_cast<long>(3 * kMiB));
  channel.reset();  // the process goes
  REQUIRE(eventually([&] { return vgpud.counter("alpha", "device_bytes") == 0; }));
  expect_healthy(vgpud, "alpha");
}
