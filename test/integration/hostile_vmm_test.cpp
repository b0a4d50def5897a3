// Virtual memory management, from a hostile guest: mappings outside any reservation (an
// allocation's range, another channel's reservation, vgpud's own memory), past the allocation,
// over another mapping, the channel's own address space wrapping; handles that name nothing or another channel's allocation; unmapping half
// a mapping, freeing a mapping as an allocation, releasing twice; access for devices the tenant
// does not have; and the reservation table filled. vgpud refuses each before the driver sees it
// and keeps serving.
#include <catch2/catch.hpp>

#include "test/integration/hostile_calls.h"

using namespace vgpu;
using namespace vgpu::test;
using namespace vgpu::test::hostile;

namespace {

constexpr int32_t kInvalidDevice = 101;  // CUDA_ERROR_INVALID_DEVICE
const int32_t kLimitExceeded = static_cast<int32_t>(proto::Status::LimitExceeded);

uint64_t granularity(RawChannel& ch, uint64_t& seq) {
  const RawReply r = call(ch, CallId::MemGetGranularity, proto::MemGetGranularityRequest{0, 0}, seq);
  REQUIRE(r.header.status == 0);
  proto::MemGetGranularityReply g;
  std::memcpy(&g, r.payload.data(), sizeof g);
  REQUIRE(g.granularity > 0);
  return g.granularity;
}

uint64_t reserve(RawChannel& ch, uint64_t size, uint64_t& seq) {
  const RawReply r = call(ch, CallId::MemAddressReserve, proto::MemAddressReserveRequest{size, 0, 0}, seq);
  REQUIRE(r.header.status == 0);
  proto::MemAddressReserveReply a;
  std::memcpy(&a, r.payload.data(), sizeof a);
  return a.address;
}

uint64_t create(RawChannel& ch, uint64_t size, uint64_t& seq) {
  const RawReply r = call(ch, CallId::MemCreate, proto::MemCreateRequest{size, 0, 0}, seq);
  REQUIRE(r.header.status == 0);
  proto::MemCreateReply h;
  std::memcpy(&h, r.payload.data(), sizeof h);
  return h.handle;
}

}  // namespace

TEST_CASE("virtual memory: every range and handle is the channel's own", "[hostile][vmm]") {
  VgpudProcess vgpud;
  RawChannel ch(vgpud.socket("alpha")), other(vgpud.socket("alpha"));
  uint64_t seq = 1, other_seq = 1;
  RefusedByVgpud refused, other_refused;  // the second's seqs are the other channel's
  const uint64_t g = granularity(ch, seq);
  const uint64_t base = reserve(ch, 4 * g, seq);
  const uint64_t h = create(ch, 2 * g, seq);
  const uint64_t plain = alloc(ch, g, seq);
  REQUIRE(call(ch, CallId::MemMap, proto::MemMapRequest{base, 2 * g, 0, h}, seq).header.status == 0);

  // Outside any reservation: a cuMemAlloc range, an address of this test's stack, far away.
  int on_stack = 0;
  for (uint64_t at : {plain, reinterpret_cast<uint64_t>(&on_stack) & ~(g - 1), uint64_t{0x1000}})
    refused.expect(ch, CallId::MemMap, proto::MemMapRequest{at, g, 0, h}, seq, kInvalidValue);
  // Past the reservation's end, over the mapping, past the allocation, offsets that wrap.
  refused.expect(ch, CallId::MemMap, proto::MemMapRequest{base + 3 * g, 2 * g, 0, h}, seq, kInvalidValue);
  refused.expect(ch, CallId::MemMap, proto::MemMapRequest{base + g, g, 0, h}, seq, kInvalidValue);
  refused.expect(ch, CallId::MemMap, proto::MemMapRequest{base + 2 * g, g, 2 * g, h}, seq, kInvalidValue);
  refused.expect(ch, CallId::MemMap, proto::MemMapRequest{base + 2 * g, 2 * g, ~uint64_t{0} - g + 1, h}, seq,
                 kInvalidValue);
  refused.expect(ch, CallId::MemMap, proto::MemMapRequest{~uint64_t{0} - g + 1, 2 * g, 0, h}, seq, kInvalidValue);
  // Handles that name nothing.
  for (uint64_t bad : {uint64_t{0}, h + 1, ~uint64_t{0}})
    refused.expect(ch, CallId::MemMap, proto::MemMapRequest{base + 2 * g, g, 0, bad}, seq, kInvalidValue);
  // The other channel holds none of these: not the handle (ids are the channel's: the same number
  // names nothing there until it makes an allocation of its own), the reservation or the mapping.
  other_refused.expect(other, CallId::MemMap, proto::MemMapRequest{base + 2 * g, g, 0, h}, other_seq, kInvalidValue);
  other_refused.expect(other, CallId::MemRelease, proto::MemHandleRequest{h}, other_seq, kInvalidValue);
  const uint64_t theirs = create(other, g, other_seq);
  other_refused.expect(other, CallId::MemMap, proto::MemMapRequest{base + 2 * g, g, 0, theirs}, other_seq, kInvalidValue);
  other_refused.expect(other, CallId::MemUnmap, proto::MemRangeRequest{base, 2 * g}, other_seq, kInvalidValue);
  other_refused.expect(other, CallId::MemAddressFree, proto::MemRangeRequest{base, 4 * g}, other_seq, kInvalidValue);
  other_refused.expect(other, CallId::MemRetainHandle, proto::MemRetainHandleRequest{base}, other_seq, kInvalidValue);
  REQUIRE(call(other, CallId::MemcpyDtoHInline, proto::MemcpyDtoHRequest{base, 16, 0}, other_seq).header.status ==
          kInvalidValue);
  // Half a mapping, a mapping freed as an allocation, a reservation freed by another size.
  refused.expect(ch, CallId::MemUnmap, proto::MemRangeRequest{base, g}, seq, kInvalidValue);
  refused.expect(ch, CallId::MemUnmap, proto::MemRangeRequest{base + g, 2 * g}, seq, kInvalidValue);
  refused.expect(ch, CallId::MemFree, proto::MemFreeRequest{base}, seq, kInvalidValue);
  refused.expect(ch, CallId::MemAddressFree, proto::MemRangeRequest{base, 2 * g}, seq, kInvalidValue);
  // Access: a range not mapped throughout, a device the tenant does not have; no device at all is
  // malformed, as are zero sizes and devices past the protocol's bound.
  refused.expect(ch, CallId::MemSetAccess, proto::MemSetAccessRequest{base, 3 * g, 1, 1, 1, 0}, seq, kInvalidValue);
  refused.expect(ch, CallId::MemSetAccess, proto::MemSetAccessRequest{base, g, 1u << 5, 0, 0, 0}, seq,
                 kInvalidDevice);
  REQUIRE(call(ch, CallId::MemSetAccess, proto::MemSetAccessRequest{base, g, 0, 0, 0, 0}, seq).header.status ==
          kMalformed);
  REQUIRE(call(ch, CallId::MemSetAccess, proto::MemSetAccessRequest{base, g, 1u << 16, 0, 0, 0}, seq)
              .header.status == kMalformed);
  REQUIRE(call(ch, CallId::MemCreate, proto::MemCreateRequest{g, limits::kMaxDevices, 0}, seq).header.status ==
          kMalformed);
  REQUIRE(call(ch, CallId::MemCreate, proto::MemCreateRequest{0, 0, 0}, seq).header.status == kMalformed);
  REQUIRE(call(ch, CallId::MemMap, proto::MemMapRequest{base, 0, 0, h}, seq).header.status == kMalformed);
  refused.expect(ch, CallId::MemGetAccess, proto::MemGetAccessRequest{base + 2 * g, 0, 0}, seq, kInvalidValue);
  // Released twice: the second names nothing (the mapping still holds the memory).
  REQUIRE(call(ch, CallId::MemRelease, proto::MemHandleRequest{h}, seq).header.status == 0);
  refused.expect(ch, CallId::MemRelease, proto::MemHandleRequest{h}, seq, kInvalidValue);
  refused.expect(ch, CallId::MemMap, proto::MemMapRequest{base + 2 * g, g, 0, h}, seq, kInvalidValue);
  // The mapping still works, and goes with its reservation.
  REQUIRE(call(ch, CallId::MemSetAccess, proto::MemSetAccessRequest{base, 2 * g, 1, 1, 1, 0}, seq).header.status == 0);
  REQUIRE(read_back(ch, base + g, 64, seq).size() == 64);
  const uint64_t last = seq;
  REQUIRE(call(ch, CallId::MemAddressFree, proto::MemRangeRequest{base, 4 * g}, seq).header.status == 0);
  refused.check_never_traced(vgpud, "cuMem", last, "cuMemUnmap");
  expect_healthy(vgpud, "alpha");
}

TEST_CASE("virtual memory: the reservation table is bounded", "[hostile][vmm]") {
  VgpudProcess vgpud;
  RawChannel ch(vgpud.socket("alpha"));
  uint64_t seq = 1;
  const uint64_t g = granularity(ch, seq);
  for (uint32_t i = 0; i < limits::kMaxAddressReservations; ++i) {
    const RawReply r = call(ch, CallId::MemAddressReserve, proto::MemAddressReserveRequest{g, 0, 0}, seq);
    REQUIRE(r.header.status == 0);
  }
  REQUIRE(call(ch, CallId::MemAddressReserve, proto::MemAddressReserveRequest{g, 0, 0}, seq).header.status ==
          kLimitExceeded);
  expect_healthy(vgpud, "alpha");
}
