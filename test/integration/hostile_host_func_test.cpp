// Host functions, from a hostile guest: a queue outside the heap or set twice, launches before
// any queue, ids that name nothing, a guest that never runs what it was handed and then dies,
// one that claims to have run everything.
#include <catch2/catch.hpp>

#include "test/integration/hostile_calls.h"
#include "vgpu/protocol/host_func_queue.h"

using namespace vgpu;
using namespace vgpu::test;
using namespace vgpu::test::hostile;

namespace {

constexpr uint32_t kCapacity = 16;

// The queue's words as the guest sees them.
struct QueueView {
  uint8_t* base;
  uint64_t produced() const {
    return __atomic_load_n(reinterpret_cast<uint64_t*>(base + offsetof(proto::HostFuncQueueHeader, produced)),
                           __ATOMIC_ACQUIRE);
  }
  uint64_t entry(uint64_t i) const {
    return reinterpret_cast<const uint64_t*>(base + sizeof(proto::HostFuncQueueHeader))[i % kCapacity];
  }
  void complete(uint64_t n) {
    __atomic_store_n(reinterpret_cast<uint64_t*>(base + offsetof(proto::HostFuncQueueHeader, completed)), n,
                     __ATOMIC_RELEASE);
  }
};

// The queue at `offset` in the channel's heap.
QueueView queue_at(RawChannel& ch, uint64_t offset) {
  return {ch.region().data() + ch.header()->geometry.heap.offset + offset};
}

RawReply synchronize(RawChannel& ch, uint64_t& seq) {
  return call(ch, CallId::StreamSynchronize, proto::StreamRequest{0}, seq);
}

}  // namespace

TEST_CASE("host functions: a queue only in the heap and only once; launches need one", "[hostile][host]") {
  VgpudProcess vgpud;
  RawChannel ch(vgpud.socket("alpha"));
  uint64_t seq = 1;
  RefusedByVgpud refused;
  // Before any queue: a host node is refused, a launch fails at the next reply.
  const RawReply made = call(ch, CallId::GraphCreate, proto::GraphCreateRequest{0, 0}, seq);
  REQUIRE(made.header.status == 0);
  proto::GraphCreateReply graph;
  std::memcpy(&graph, made.payload.data(), sizeof graph);
  refused.expect(ch, CallId::GraphAddHostNode, proto::GraphAddHostNodeRequest{graph.graph, 0, 1}, seq, kInvalidValue);
  ch.send(CallId::LaunchHostFunc, proto::LaunchHostFuncRequest{0, 1}, seq++, 0);
  REQUIRE(synchronize(ch, seq).header.async_status == kInvalidValue);

  const uint64_t heap = ch.header()->geometry.heap.size;
  const uint64_t bytes = proto::host_func_queue_bytes(kCapacity);
  // Outside the heap, reaching past its end, wrapping around, not aligned.
  refused.expect(ch, CallId::HostFuncQueue, proto::HostFuncQueueRequest{heap, kCapacity, 0}, seq, kInvalidValue);
  refused.expect(ch, CallId::HostFuncQueue, proto::HostFuncQueueRequest{heap - bytes + 64, kCapacity, 0}, seq,
                 kInvalidValue);
  refused.expect(ch, CallId::HostFuncQueue, proto::HostFuncQueueRequest{~uint64_t{0} - 63, kCapacity, 0}, seq,
                 kInvalidValue);
  refused.expect(ch, CallId::HostFuncQueue, proto::HostFuncQueueRequest{8, kCapacity, 0}, seq, kInvalidValue);
  // No entries, too many: malformed.
  REQUIRE(call(ch, CallId::HostFuncQueue, proto::HostFuncQueueRequest{0, 0, 0}, seq).header.status == kMalformed);
  REQUIRE(call(ch, CallId::HostFuncQueue, proto::HostFuncQueueRequest{0, limits::kMaxHostFuncQueue + 1, 0}, seq)
              .header.status == kMalformed);
  // The last queue that fits, then no second one.
  REQUIRE(call(ch, CallId::HostFuncQueue, proto::HostFuncQueueRequest{heap - bytes, kCapacity, 0}, seq)
              .header.status == 0);
  refused.expect(ch, CallId::HostFuncQueue, proto::HostFuncQueueRequest{0, kCapacity, 0}, seq, kInvalidValue);
  // A launch on a stream the channel does not have.
  ch.send(CallId::LaunchHostFunc, proto::LaunchHostFuncRequest{0x9999, 1}, seq++, 0);
  REQUIRE(synchronize(ch, seq).header.async_status == kInvalidHandle);
  expect_healthy(vgpud, "alpha");
}

TEST_CASE("host functions: any id comes back; a guest that claims all done only frees its own streams",
          "[hostile][host]") {
  VgpudProcess vgpud;
  RawChannel ch(vgpud.socket("alpha"));
  uint64_t seq = 1;
  REQUIRE(call(ch, CallId::HostFuncQueue, proto::HostFuncQueueRequest{0, kCapacity, 0}, seq).header.status == 0);
  QueueView q = queue_at(ch, 0);
  // An id vgpud never saw comes back as it is: the guest is the one that knows its ids.
  ch.send(CallId::LaunchHostFunc, proto::LaunchHostFuncRequest{0, 0xfeedfacecafe}, seq++, 0);
  REQUIRE(eventually([&] { return q.produced() == 1; }));
  REQUIRE(q.entry(0) == 0xfeedfacecafe);
  q.complete(1);
  REQUIRE(synchronize(ch, seq).header.status == 0);
  // "Completed" far ahead of what was handed: the next functions go by without waiting, the
  // queue wrapping around several times.
  q.complete(~uint64_t{0} >> 1);
  for (uint64_t id = 1; id <= 3 * kCapacity; ++id)
    ch.send(CallId::LaunchHostFunc, proto::LaunchHostFuncRequest{0, id}, seq++, 0);
  const RawReply r = synchronize(ch, seq);
  REQUIRE(r.header.status == 0);
  REQUIRE(r.header.async_status == 0);
  REQUIRE(q.produced() == 1 + 3 * kCapacity);
  expect_healthy(vgpud, "alpha");
}

TEST_CASE("host functions: a guest that never runs them and dies holds nothing", "[hostile][host]") {
  VgpudProcess vgpud(std::vector<TenantSpec>{{"alpha", ""}, {"beta", ""}});
  {
    RawChannel ch(vgpud.socket("alpha"));
    uint64_t seq = 1;
    REQUIRE(call(ch, CallId::HostFuncQueue, proto::HostFuncQueueRequest{0, kCapacity, 0}, seq).header.status == 0);
    (void)alloc(ch, 1 << 20, seq);
    QueueView q = queue_at(ch, 0);
    ch.send(CallId::LaunchHostFunc, proto::LaunchHostFuncRequest{0, 7}, seq++, 0);
    REQUIRE(eventually([&] { return q.produced() == 1; }));
    // Its stream waits for a function never run (with the fake driver, its executor too); a
    // synchronize is sent and never answered. Other channels are served meanwhile.
    ch.send(CallId::StreamSynchronize, proto::StreamRequest{0}, seq++, proto::kFlagNeedsReply);
    expect_healthy(vgpud, "beta");
    expect_healthy(vgpud, "alpha");
  }  // gone without running it
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
  expect_healthy(vgpud, "alpha");
}
