// Arrays, texture and surface objects, from a hostile guest (docs/design.md §23): array ids and
// object values that are not the channel's, textures over memory that is not the channel's,
// copies out of an array's bounds or out of the channel's memory, a tenant's memory limit, and a
// guest that goes away holding all of it. Each refusal is vgpud's own, before its driver sees
// the request, and vgpud goes on serving.
#include <catch2/catch.hpp>

#include "test/integration/hostile_calls.h"

using namespace vgpu;
using namespace vgpu::test;
using namespace vgpu::test::hostile;

namespace {

constexpr uint32_t kFloat = 0x20;  // CU_AD_FORMAT_FLOAT
constexpr uint32_t kDevice = 0, kArray = 1, kHeap = 2, kPacked = 3;
constexpr int32_t kOutOfMemory = 2;  // CUDA_ERROR_OUT_OF_MEMORY

uint32_t make_array(RawChannel& ch, uint64_t width, uint64_t height, uint64_t& seq, uint32_t flags = 0) {
  const RawReply r = call(ch, CallId::ArrayCreate, proto::ArrayCreateRequest{width, height, 0, kFloat, 1, flags, 0}, seq);
  REQUIRE(r.header.status == 0);
  proto::ArrayCreateReply reply;
  std::memcpy(&reply, r.payload.data(), sizeof reply);
  return reply.array;
}

// A copy of height rows of width bytes (one slice) between two ends.
proto::MemcpyArrayRequest copy(uint32_t src_kind, uint64_t src, uint32_t dst_kind, uint64_t dst, uint64_t width,
                               uint64_t height, uint64_t pitch = 0) {
  proto::MemcpyArrayRequest c{};
  c.src_kind = src_kind, c.src = src, c.src_pitch = pitch;
  c.dst_kind = dst_kind, c.dst = dst, c.dst_pitch = pitch;
  c.width = width, c.height = height, c.depth = 1;
  return c;
}

proto::TexObjectCreateRequest linear_texture(uint64_t ptr, uint64_t size) {
  proto::TexObjectCreateRequest t{};
  t.resource_type = 2;  // CU_RESOURCE_TYPE_LINEAR
  t.format = kFloat, t.channels = 1;
  t.device_ptr = ptr, t.size_bytes = size;
  return t;
}

uint64_t object_of(const RawReply& r) {
  REQUIRE(r.header.status == 0);
  proto::TexObjectCreateReply reply;
  std::memcpy(&reply, r.payload.data(), sizeof reply);
  return reply.object;
}

}  // namespace

TEST_CASE("arrays and texture objects: only the channel's own, only inside its memory", "[hostile][arrays]") {
  VgpudProcess vgpud(std::vector<TenantSpec>{{"alpha", ""}, {"beta", ""}});
  RawChannel beta(vgpud.socket("beta"));
  uint64_t beta_seq = 1;
  const uint64_t beta_ptr = alloc(beta, 4096, beta_seq);
  const uint32_t beta_array = make_array(beta, 16, 16, beta_seq);
  proto::TexObjectCreateRequest beta_res{};
  beta_res.handle = beta_array;  // an array resource
  const uint64_t beta_tex = object_of(call(beta, CallId::TexObjectCreate, beta_res, beta_seq));

  RawChannel ch(vgpud.socket("alpha"));
  uint64_t seq = 1000;  // above beta's: the trace lines are told apart by their seq
  const uint64_t ptr = alloc(ch, 4096, seq);
  RefusedByVgpud refused;

  // Array ids that are not the channel's: beta's (ids are per channel: alpha has none yet), and
  // one nobody holds.
  for (uint32_t id : {beta_array, 0x7777u}) {
    refused.expect(ch, CallId::ArrayDestroy, proto::ArrayDestroyRequest{id, 0}, seq, kInvalidHandle);
    refused.expect(ch, CallId::MemcpyArray, copy(kArray, id, kDevice, ptr, 64, 1), seq, kInvalidHandle);
    refused.expect(ch, CallId::SurfObjectCreate, proto::SurfObjectCreateRequest{id, 0}, seq, kInvalidHandle);
    proto::TexObjectCreateRequest t{};
    t.handle = id;
    refused.expect(ch, CallId::TexObjectCreate, t, seq, kInvalidHandle);
    refused.expect(ch, CallId::MipmappedArrayGetLevel, proto::MipmappedArrayGetLevelRequest{id, 0}, seq,
                   kInvalidHandle);
  }
  const uint32_t array = make_array(ch, 64, 16, seq);  // 256 bytes by 16 rows
  // Texture objects over memory that is not the channel's: beta's, vgpud's own, starting past
  // the end of its allocation or with not one element left in it, pitched rows that walk out of
  // it. A linear texture that starts in the allocation and names more is clamped to it.
  refused.expect(ch, CallId::TexObjectCreate, linear_texture(beta_ptr, 64), seq, kInvalidValue);
  refused.expect(ch, CallId::TexObjectCreate, linear_texture(reinterpret_cast<uint64_t>(&seq), 8), seq, kInvalidValue);
  refused.expect(ch, CallId::TexObjectCreate, linear_texture(ptr + 4096, 16), seq, kInvalidValue);
  refused.expect(ch, CallId::TexObjectCreate, linear_texture(ptr + 4094, 16), seq, kInvalidValue);
  // (Destroyed at once: the fake's values repeat across processes, so it would be beta's below.)
  const uint64_t clamped = object_of(call(ch, CallId::TexObjectCreate, linear_texture(ptr + 4000, 128), seq));
  REQUIRE(call(ch, CallId::TexObjectDestroy, proto::TexObjectDestroyRequest{clamped}, seq).header.status == 0);
  proto::TexObjectCreateRequest pitched = linear_texture(ptr, 0);
  pitched.resource_type = 3;  // CU_RESOURCE_TYPE_PITCH2D
  pitched.width = 16, pitched.height = 9, pitched.pitch = 512;
  refused.expect(ch, CallId::TexObjectCreate, pitched, seq, kInvalidValue);
  // Copies out of the array's bounds, or not in whole elements.
  refused.expect(ch, CallId::MemcpyArray, copy(kDevice, ptr, kArray, array, 257, 1), seq, kInvalidValue);
  proto::MemcpyArrayRequest c = copy(kDevice, ptr, kArray, array, 64, 2, 64);
  c.dst_y = 15;
  refused.expect(ch, CallId::MemcpyArray, c, seq, kInvalidValue);
  c = copy(kDevice, ptr, kArray, array, 4, 1);
  c.dst_x = 254;
  refused.expect(ch, CallId::MemcpyArray, c, seq, kInvalidValue);
  c = copy(kDevice, ptr, kArray, array, 6, 1);
  refused.expect(ch, CallId::MemcpyArray, c, seq, kInvalidValue);
  c.width = 4, c.dst_z = 1;  // a 2D array has one slice
  refused.expect(ch, CallId::MemcpyArray, c, seq, kInvalidValue);
  // ... or out of the channel's memory: beta's, past the allocation by its rows, past the heap.
  refused.expect(ch, CallId::MemcpyArray, copy(kDevice, beta_ptr, kArray, array, 64, 1), seq, kInvalidValue);
  refused.expect(ch, CallId::MemcpyArray, copy(kArray, array, kDevice, ptr, 256, 16, 512), seq, kInvalidValue);
  const uint64_t heap = ch.header()->geometry.heap.size;
  refused.expect(ch, CallId::MemcpyArray, copy(kHeap, heap - 64, kArray, array, 128, 1), seq, kInvalidValue);
  refused.expect(ch, CallId::MemcpyArray, copy(kArray, array, kHeap, ~uint64_t{0} - 8, 64, 1), seq, kInvalidValue);
  // Texture and surface object values that are not the channel's.
  refused.expect(ch, CallId::TexObjectDestroy, proto::TexObjectDestroyRequest{beta_tex}, seq, kInvalidValue);
  refused.expect(ch, CallId::TexObjectDestroy, proto::TexObjectDestroyRequest{0x123456789}, seq, kInvalidValue);
  refused.expect(ch, CallId::SurfObjectDestroy, proto::TexObjectDestroyRequest{beta_tex}, seq, kInvalidValue);

  // Malformed before anything is looked up: no array at either end, data at both, a tail that
  // is not the copy's bytes, a reply larger than one, flags vgpu does not offer, 3 is no kind.
  const auto malformed = [&](const auto& request, const std::string& tail = {}) {
    REQUIRE(call(ch, CallId::MemcpyArray, request, seq, tail).header.status == kMalformed);
  };
  malformed(copy(kDevice, ptr, kDevice, ptr, 64, 1));
  malformed(copy(kPacked, 0, kPacked, 0, 64, 1));
  c = copy(kPacked, 0, kArray, array, 64, 1);
  c.data_bytes = 32;
  malformed(c, std::string(32, 'x'));
  malformed(copy(kArray, array, kPacked, 0, 256, 129));
  c = copy(kArray, array, kDevice, ptr, 64, 1);
  c.src_kind = 4;
  malformed(c);
  REQUIRE(call(ch, CallId::ArrayCreate, proto::ArrayCreateRequest{16, 16, 0, kFloat, 1, 0x40, 0}, seq).header.status ==
          kMalformed);  // sparse
  REQUIRE(call(ch, CallId::ArrayCreate, proto::ArrayCreateRequest{1u << 19, 1, 0, kFloat, 1, 0, 0}, seq)
              .header.status == kMalformed);

  // What is right works: a packed row in, back out in the reply; the array's own texture.
  c = copy(kPacked, 0, kArray, array, 8, 1);
  c.data_bytes = 8;
  c.dst_y = 15;
  REQUIRE(call(ch, CallId::MemcpyArray, c, seq, "abcdefgh").header.status == 0);
  const RawReply back = call(ch, CallId::MemcpyArray, [&] {
    proto::MemcpyArrayRequest r = copy(kArray, array, kPacked, 0, 8, 1);
    r.src_y = 15;
    return r;
  }(), seq);
  REQUIRE(back.header.status == 0);
  REQUIRE(std::string(back.payload.begin(), back.payload.end()) == "abcdefgh");
  proto::TexObjectCreateRequest own{};
  own.handle = array;
  const uint64_t tex = object_of(call(ch, CallId::TexObjectCreate, own, seq));
  const uint64_t last = seq;
  REQUIRE(call(ch, CallId::TexObjectDestroy, proto::TexObjectDestroyRequest{tex}, seq).header.status == 0);
  refused.check_never_traced(vgpud, "cu", last, "cuTexObjectDestroy");

  // Beta's are untouched and still its own.
  REQUIRE(call(beta, CallId::TexObjectDestroy, proto::TexObjectDestroyRequest{beta_tex}, beta_seq).header.status == 0);
  REQUIRE(call(beta, CallId::ArrayDestroy, proto::ArrayDestroyRequest{beta_array, 0}, beta_seq).header.status == 0);
  expect_healthy(vgpud, "alpha");
}

TEST_CASE("arrays are charged to the tenant and given back when the guest goes", "[hostile][arrays][limits]") {
  VgpudProcess vgpud({TenantSpec{"alpha", "      device_memory: 4MiB\n"}});
  {
    RawChannel ch(vgpud.socket("alpha"));
    uint64_t seq = 1;
    // 4 MiB and a row, and a mipmapped array whose levels add up past the limit: refused.
    REQUIRE(call(ch, CallId::ArrayCreate, proto::ArrayCreateRequest{1024, 1025, 0, kFloat, 1, 0, 0}, seq)
                .header.status == kOutOfMemory);
    REQUIRE(call(ch, CallId::MipmappedArrayCreate,
                 proto::MipmappedArrayCreateRequest{1024, 1024, 0, kFloat, 1, 0, 2}, seq)
                .header.status == kOutOfMemory);
    // Held and never destroyed: an array, a mipmapped array's level, objects over both.
    const uint32_t array = make_array(ch, 256, 256, seq, 0x2);  // surface load/store
    const RawReply m = call(ch, CallId::MipmappedArrayCreate,
                            proto::MipmappedArrayCreateRequest{256, 256, 0, kFloat, 1, 0, 2}, seq);
    REQUIRE(m.header.status == 0);
    proto::MipmappedArrayCreateReply mip;
    std::memcpy(&mip, m.payload.data(), sizeof mip);
    const RawReply level = call(ch, CallId::MipmappedArrayGetLevel, proto::MipmappedArrayGetLevelRequest{mip.mipmap, 1}, seq);
    REQUIRE(level.header.status == 0);
    proto::MipmappedArrayGetLevelReply l;
    std::memcpy(&l, level.payload.data(), sizeof l);
    REQUIRE((l.width == 128 && l.height == 128));
    // A level is destroyed with its mipmapped array only.
    REQUIRE(call(ch, CallId::ArrayDestroy, proto::ArrayDestroyRequest{l.array, 0}, seq).header.status ==
            kInvalidHandle);
    proto::TexObjectCreateRequest t{};
    t.handle = l.array;
    object_of(call(ch, CallId::TexObjectCreate, t, seq));
    object_of(call(ch, CallId::SurfObjectCreate, proto::SurfObjectCreateRequest{array, 0}, seq));
    CHECK(vgpud.counter("alpha", "device_bytes") == 256 * 256 * 4 + (256 * 256 + 128 * 128) * 4);
  }  // gone, holding it all
  REQUIRE(eventually([&] { return vgpud.counter("alpha", "device_bytes") == 0; }));
  REQUIRE(eventually([&] { return vgpud.fake_state("contexts") == 0; }));
  CHECK(vgpud.counter("alpha", "rejected") >= 2);
  expect_healthy(vgpud, "alpha");
}
