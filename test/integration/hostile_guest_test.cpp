// A hostile guest gets errors for itself only; vgpud keeps serving everyone else.
#include <catch2/catch.hpp>

#include <random>

#include "test/integration/hostile_calls.h"
#include "test/integration/raw_channel.h"
#include "test/integration/vgpud_process.h"

using namespace vgpu;
using namespace vgpu::test;
using namespace vgpu::test::hostile;
using proto::CallId;


TEST_CASE("module images that lie about their size are refused before the driver sees them",
          "[hostile][module_image]") {
  constexpr int32_t kInvalidImage = 200;  // CUDA_ERROR_INVALID_IMAGE
  VgpudProcess vgpud;
  RawChannel ch(vgpud.socket("alpha"));

  // A fat-binary header claiming 1 MiB after it, with 48 bytes uploaded: the driver would read
  // the megabyte out of vgpud's heap. (The fake driver refuses every fat binary, so the log
  // line shows that vgpud's own check refused it.)
  std::vector<uint8_t> fat(64, 0);
  const uint32_t magic = 0xBA55ED50;
  const uint16_t version = 1, header_size = 16;
  const uint64_t fat_size = 1u << 20;
  std::memcpy(fat.data(), &magic, 4);
  std::memcpy(fat.data() + 4, &version, 2);
  std::memcpy(fat.data() + 6, &header_size, 2);
  std::memcpy(fat.data() + 8, &fat_size, 8);
  auto r = ch.load_module(fat, 1);
  REQUIRE(r.has_value());
  REQUIRE(r->header.seq == 2);
  REQUIRE(r->header.status == kInvalidImage);
  REQUIRE(eventually([&] { return vgpud.read_log().find("module image of 64 bytes rejected") != std::string::npos; }));

  // A text image the fake driver loads, followed by a NUL and bytes it would never look at.
  const std::string valid = "FAKECUBIN 1\nkernel fake_vector_add 8,8,8,4\n";
  std::vector<uint8_t> smuggled = bytes_of(valid);
  smuggled.push_back(0);
  for (uint8_t b : bytes_of("junk past the NUL, unchecked by anyone")) smuggled.push_back(b);
  r = ch.load_module(smuggled, 3);
  REQUIRE(r.has_value());
  REQUIRE(r->header.seq == 4);
  REQUIRE(r->header.status == kInvalidImage);

  // The channel goes on: a ping, and the same image without the junk loads.
  const proto::RequestHeader ping{sizeof ping, static_cast<uint16_t>(CallId::Ping), proto::kFlagNeedsReply, 5};
  std::vector<uint8_t> ping_bytes(sizeof ping);
  std::memcpy(ping_bytes.data(), &ping, sizeof ping);
  ch.send_bytes(ping_bytes);
  r = ch.receive();
  REQUIRE(r.has_value());
  REQUIRE(r->header.seq == 5);
  REQUIRE(r->header.status == 0);
  std::vector<uint8_t> image = bytes_of(valid);
  image.push_back(0);
  r = ch.load_module(image, 6);
  REQUIRE(r.has_value());
  REQUIRE(r->header.seq == 7);
  REQUIRE(r->header.status == 0);
  REQUIRE(r->payload.size() == sizeof(proto::ModuleLoadReply));
  expect_healthy(vgpud, "alpha");
}

TEST_CASE("unknown call and malformed payload get errors, the channel goes on", "[hostile]") {
  VgpudProcess vgpud;
  RawChannel ch(vgpud.socket("alpha"));
  ch.send(static_cast<CallId>(0x7777), proto::MemAllocRequest{1}, 1);
  auto r = ch.receive();
  REQUIRE(r.has_value());
  REQUIRE(r->header.seq == 1);
  REQUIRE(r->header.status == static_cast<int32_t>(proto::Status::UnknownCall));

  // The id of vgpud's device output records is no request either.
  ch.send(static_cast<CallId>(proto::kDeviceOutputRecord), proto::MemAllocRequest{1}, 2);
  r = ch.receive();
  REQUIRE(r.has_value());
  REQUIRE(r->header.seq == 2);
  REQUIRE(r->header.status == static_cast<int32_t>(proto::Status::UnknownCall));

  ch.send(CallId::MemFree, proto::MemcpyDtoDRequest{}, 3);  // wrong payload size
  r = ch.receive();
  REQUIRE(r.has_value());
  REQUIRE(r->header.status == static_cast<int32_t>(proto::Status::MalformedMessage));

  ch.send(CallId::MemAlloc, proto::MemAllocRequest{256}, 4);
  r = ch.receive();
  REQUIRE(r.has_value());
  REQUIRE(r->header.status == 0);
  REQUIRE(vgpud.read_log().find("rejected") != std::string::npos);
}

TEST_CASE("wrong handles and out-of-range pointers are refused", "[hostile]") {
  VgpudProcess vgpud;
  RawChannel ch(vgpud.socket("alpha"));
  ch.send(CallId::StreamSynchronize, proto::StreamRequest{0x9999}, 1);
  auto r = ch.receive();
  REQUIRE(r.has_value());
  REQUIRE(r->header.status == 400);  // CUDA_ERROR_INVALID_HANDLE

  ch.send(CallId::MemAlloc, proto::MemAllocRequest{4096}, 2);
  r = ch.receive();
  REQUIRE(r.has_value());
  uint64_t ptr;
  std::memcpy(&ptr, r->payload.data(), 8);

  // Past the end of its own allocation.
  ch.send(CallId::MemcpyDtoHInline, proto::MemcpyDtoHRequest{ptr + 4000, 200, 0}, 3);
  r = ch.receive();
  REQUIRE(r.has_value());
  REQUIRE(r->header.status == 1);  // CUDA_ERROR_INVALID_VALUE
  REQUIRE(r->payload.empty());

  // A pointer that is not its allocation at all (vgpud's own memory, say).
  ch.send(CallId::Memset, proto::MemsetRequest{reinterpret_cast<uint64_t>(&ptr), 8, 0, 0, 0}, 4);
  r = ch.receive();
  REQUIRE(r->header.status == 1);

  // Shared-heap offset beyond the heap.
  ch.send(CallId::MemcpyDtoHShared, proto::MemcpySharedRequest{ptr, 1ull << 40, 16, 0}, 5);
  r = ch.receive();
  REQUIRE(r->header.status == 1);

  // Freeing something that is not an allocation start.
  ch.send(CallId::MemFree, proto::MemFreeRequest{ptr + 8}, 6);
  r = ch.receive();
  REQUIRE(r->header.status == 1);
}

TEST_CASE("devices and peers beyond the tenant's GPUs are refused", "[hostile][gpus]") {
  // The host has two GPUs; the tenant has one of them.
  VgpudProcess vgpud({TenantSpec{"alpha", "", false, "[1]"}}, {{"FAKE_CUDA_DEVICE_COUNT", "2"}});
  RawChannel ch(vgpud.socket("alpha"));
  constexpr int32_t kInvalidDevice = 101;  // CUDA_ERROR_INVALID_DEVICE
  ch.send(CallId::DeviceCanAccessPeer, proto::DeviceCanAccessPeerRequest{0, 1}, 1);
  auto r = ch.receive();
  REQUIRE(r.has_value());
  REQUIRE(r->header.status == kInvalidDevice);
  REQUIRE(r->payload.empty());

  ch.send(CallId::PeerAccessEnable, proto::PeerAccessRequest{1, 0}, 2);
  r = ch.receive();
  REQUIRE(r->header.status == kInvalidDevice);
  ch.send(CallId::PeerAccessEnable, proto::PeerAccessRequest{0, 0}, 3);  // itself
  r = ch.receive();
  REQUIRE(r->header.status == 217);  // CUDA_ERROR_PEER_ACCESS_UNSUPPORTED
  ch.send(CallId::PeerAccessDisable, proto::PeerAccessRequest{5, 0}, 4);
  r = ch.receive();
  REQUIRE(r->header.status == kInvalidDevice);
  ch.send(CallId::DeviceGetInfo, proto::DeviceGetInfoRequest{1, 0}, 5);
  r = ch.receive();
  REQUIRE(r->header.status == kInvalidDevice);

  // Switching to a device it does not have fails that call and leaves the channel on its own.
  ch.send(CallId::SetDevice, proto::SetDeviceRequest{1, 0}, 6);
  r = ch.receive();
  REQUIRE(r->header.status == kInvalidDevice);
  ch.send(CallId::MemAlloc, proto::MemAllocRequest{4096}, 7);
  r = ch.receive();
  REQUIRE(r->header.status == 0);
  expect_healthy(vgpud, "alpha");
}

TEST_CASE("posted calls that fail report their error at the next reply", "[hostile]") {
  VgpudProcess vgpud;
  RawChannel ch(vgpud.socket("alpha"));
  ch.send(CallId::Memset, proto::MemsetRequest{0x1234, 8, 0, 0, 0}, 1, 0);  // posted, bad pointer
  ch.send_bytes([] {
    proto::RequestHeader h{sizeof h, static_cast<uint16_t>(CallId::DeviceSynchronize),
                           proto::kFlagNeedsReply, 2};
    std::vector<uint8_t> b(sizeof h);
    std::memcpy(b.data(), &h, sizeof h);
    return b;
  }());
  auto r = ch.receive();
  REQUIRE(r.has_value());
  REQUIRE(r->header.seq == 2);
  REQUIRE(r->header.async_status == 1);
}

TEST_CASE("a corrupted ring index closes only that channel", "[hostile]") {
  VgpudProcess vgpud(std::vector<TenantSpec>{{"alpha", ""}, {"beta", ""}});
  RawChannel bad(vgpud.socket("alpha"));
  bad.header()->submit.tail.store(~0ull - 5);  // impossible producer index
  bad.doorbell();
  REQUIRE(eventually([&] { return bad.disconnected(); }));
  REQUIRE(vgpud.alive());
  expect_healthy(vgpud, "alpha");  // same tenant, new channel
  expect_healthy(vgpud, "beta");
  REQUIRE(vgpud.read_log().find("corrupted") != std::string::npos);
}

TEST_CASE("an oversized length in a header closes only that channel", "[hostile]") {
  VgpudProcess vgpud;
  RawChannel bad(vgpud.socket("alpha"));
  proto::RequestHeader h{1u << 30, static_cast<uint16_t>(CallId::MemAlloc), proto::kFlagNeedsReply, 1};
  std::vector<uint8_t> bytes(sizeof h);
  std::memcpy(bytes.data(), &h, sizeof h);
  bad.send_bytes(bytes);
  REQUIRE(eventually([&] { return bad.disconnected(); }));
  expect_healthy(vgpud, "alpha");
}

TEST_CASE("a guest scribbling over its region and flooding the doorbell hurts nobody else",
          "[hostile]") {
  VgpudProcess vgpud(std::vector<TenantSpec>{{"alpha", ""}, {"beta", ""}});
  RawChannel good(vgpud.socket("beta"));
  {
    RawChannel bad(vgpud.socket("alpha"));
    std::mt19937_64 rng(7);
    auto region = bad.region();
    for (int round = 0; round < 50; ++round) {
      for (size_t i = 0; i < region.size(); i += 64) region[i] = static_cast<uint8_t>(rng());
      for (int k = 0; k < 100; ++k) bad.send_bytes({});
      // Meanwhile the other tenant's calls keep working.
      good.send(CallId::MemAlloc, proto::MemAllocRequest{64}, static_cast<uint64_t>(round + 1));
      auto r = good.receive();
      REQUIRE(r.has_value());
      REQUIRE(r->header.status == 0);
    }
  }
  REQUIRE(vgpud.alive());
  REQUIRE(vgpud.stop() == 0);
}

// ---- the calls of CTX_GET_LIMIT … STREAM_WRITE_VALUE ------------------------------------------

TEST_CASE("2D memsets stay inside the channel's own allocations", "[hostile][memset2d]") {
  VgpudProcess vgpud(std::vector<TenantSpec>{{"alpha", ""}, {"beta", ""}});
  RawChannel ch(vgpud.socket("alpha"));
  uint64_t seq = 1;
  const uint64_t ptr = alloc(ch, 4096, seq);
  RefusedByVgpud refused;

  // In range: 4 rows of 8 u32, 64 bytes apart; the gaps between rows are left alone.
  REQUIRE(call(ch, CallId::Memset2D, memset_2d(ptr, 4096, 4096, 1, 0, 1), seq).header.status == 0);
  REQUIRE(call(ch, CallId::Memset2D, memset_2d(ptr, 64, 8, 4, 0xA1B2C3D4, 4), seq).header.status == 0);
  std::vector<uint8_t> bytes = read_back(ch, ptr, 256, seq);
  uint32_t word;
  std::memcpy(&word, bytes.data() + 64 * 3 + 28, 4);
  REQUIRE(word == 0xA1B2C3D4);
  REQUIRE(bytes[32] == 0);
  // A 16-bit value is narrowed to 16 bits; one row ignores the pitch.
  REQUIRE(call(ch, CallId::Memset2D, memset_2d(ptr + 1024, 0, 4, 1, 0xFFFF1234, 2), seq).header.status == 0);
  bytes = read_back(ch, ptr + 1024, 10, seq);
  REQUIRE(bytes[0] == 0x34);
  REQUIRE(bytes[7] == 0x12);
  REQUIRE(bytes[8] == 0);

  // The first row fits, the last runs past the allocation: 4 rows of 1024 bytes, 1024 apart,
  // from byte 1024.
  refused.expect(ch, CallId::Memset2D, memset_2d(ptr + 1024, 1024, 256, 4, 0, 4), seq, kInvalidValue);
  // A pitch whose product with the height wraps around.
  refused.expect(ch, CallId::Memset2D, memset_2d(ptr, 1ull << 63, 1, 3, 0, 1), seq, kInvalidValue);
  // A width whose bytes wrap around.
  refused.expect(ch, CallId::Memset2D, memset_2d(ptr, 0, 1ull << 62, 1, 0, 4), seq, kInvalidValue);
  // Rows that overlap (pitch below the row).
  refused.expect(ch, CallId::Memset2D, memset_2d(ptr, 8, 4, 2, 0, 4), seq, kInvalidValue);
  // vgpud's own memory, and another channel's allocation.
  refused.expect(ch, CallId::Memset2D, memset_2d(reinterpret_cast<uint64_t>(&word), 4, 1, 1, 0, 4), seq, kInvalidValue);
  {
    RawChannel other(vgpud.socket("beta"));
    uint64_t other_seq = 1;
    const uint64_t foreign = alloc(other, 4096, other_seq);
    refused.expect(ch, CallId::Memset2D, memset_2d(foreign, 64, 4, 2, 0, 1), seq, kInvalidValue);
    REQUIRE(read_back(other, foreign, 4096, other_seq) == std::vector<uint8_t>(4096, 0));
  }
  // Element sizes: 3 passes the parser and is refused by vgpud, 5 is malformed.
  refused.expect(ch, CallId::Memset2D, memset_2d(ptr, 4, 1, 1, 0, 3), seq, kInvalidValue);
  REQUIRE(call(ch, CallId::Memset2D, memset_2d(ptr, 4, 1, 1, 0, 5), seq).header.status == kMalformed);
  REQUIRE(call(ch, CallId::Memset2D, memset_2d(ptr, 4, 1, 0, 0, 1), seq).header.status == kMalformed);
  // A stream that is not the channel's.
  auto bad_stream = memset_2d(ptr, 4, 1, 1, 0, 1);
  bad_stream.stream = 0x9999;
  refused.expect(ch, CallId::Memset2D, bad_stream, seq, kInvalidHandle);

  // Posted, as the guest sends it: the error comes at the next reply.
  ch.send(CallId::Memset2D, memset_2d(ptr + 4000, 0, 100, 1, 0, 1), seq++, 0);
  const RawReply r = call(ch, CallId::MemAlloc, proto::MemAllocRequest{64}, seq);
  REQUIRE(r.header.status == 0);
  REQUIRE(r.header.async_status == kInvalidValue);
  // The last good one, and none of the refused ones reached the driver.
  const uint64_t last = seq;
  REQUIRE(call(ch, CallId::Memset2D, memset_2d(ptr, 64, 8, 4, 0, 4), seq).header.status == 0);
  refused.check_never_traced(vgpud, "cuMemsetD2D", last, "cuMemsetD2D32Async");
  expect_healthy(vgpud, "alpha");
}

TEST_CASE("stream memory operations stay inside the channel's own allocations", "[hostile][stream_value]") {
  VgpudProcess vgpud(std::vector<TenantSpec>{{"alpha", ""}, {"beta", ""}});
  RawChannel ch(vgpud.socket("alpha"));
  uint64_t seq = 1;
  const uint64_t ptr = alloc(ch, 4096, seq);
  RefusedByVgpud refused;

  // Write, then waits that hold; the fake fails one that does not (a GPU would wait).
  REQUIRE(call(ch, CallId::StreamWriteValue, stream_value(ptr + 8, 0x1122334455667788ull, 8), seq).header.status == 0);
  REQUIRE(call(ch, CallId::StreamWriteValue, stream_value(ptr + 4, 0xFFFFFFFF00000007ull, 4), seq).header.status == 0);
  std::vector<uint8_t> bytes = read_back(ch, ptr, 16, seq);
  uint64_t v64;
  uint32_t v32;
  std::memcpy(&v64, bytes.data() + 8, 8);
  std::memcpy(&v32, bytes.data() + 4, 4);
  REQUIRE(v64 == 0x1122334455667788ull);
  REQUIRE(v32 == 7);  // narrowed to 32 bits
  REQUIRE(call(ch, CallId::StreamWaitValue, stream_value(ptr + 8, 0x1122334455667788ull, 8, kWaitEq), seq)
              .header.status == 0);
  REQUIRE(call(ch, CallId::StreamWaitValue, stream_value(ptr + 4, 0xAAAAAAAA00000005ull, 4, kWaitGeq), seq)
              .header.status == 0);
  REQUIRE(call(ch, CallId::StreamWaitValue, stream_value(ptr + 4, 8, 4, kWaitEq), seq).header.status ==
          kNotReady);

  for (const CallId id : {CallId::StreamWaitValue, CallId::StreamWriteValue}) {
    // The value's last bytes past the allocation, misaligned, vgpud's own memory.
    refused.expect(ch, id, stream_value(ptr + 4096 - 4, 0, 8), seq, kInvalidValue);
    refused.expect(ch, id, stream_value(ptr + 4096, 0, 4), seq, kInvalidValue);
    refused.expect(ch, id, stream_value(ptr + 2, 0, 4), seq, kInvalidValue);
    refused.expect(ch, id, stream_value(ptr + 4, 0, 8), seq, kInvalidValue);
    refused.expect(ch, id, stream_value(~0ull - 3, 0, 4), seq, kInvalidValue);
    refused.expect(ch, id, stream_value(reinterpret_cast<uint64_t>(&v64), 0, 8), seq, kInvalidValue);
    // Widths: 6 passes the parser and is refused by vgpud; 2 and 16 are malformed.
    refused.expect(ch, id, stream_value(ptr, 0, 6), seq, kInvalidValue);
    REQUIRE(call(ch, id, stream_value(ptr, 0, 2), seq).header.status == kMalformed);
    REQUIRE(call(ch, id, stream_value(ptr, 0, 16), seq).header.status == kMalformed);
    // Flags the operation does not know, and a stream that is not the channel's.
    refused.expect(ch, id, stream_value(ptr, 0, 4, 0x4), seq, kInvalidValue);
    refused.expect(ch, id, stream_value(ptr, 0, 4, 0x80000000u), seq, kInvalidValue);
    refused.expect(ch, id, stream_value(ptr, 0, 4, 0, 0x9999), seq, kInvalidHandle);
  }
  {
    RawChannel other(vgpud.socket("beta"));
    uint64_t other_seq = 1;
    const uint64_t foreign = alloc(other, 4096, other_seq);
    refused.expect(ch, CallId::StreamWriteValue, stream_value(foreign, 0xdead, 8), seq, kInvalidValue);
    refused.expect(ch, CallId::StreamWaitValue, stream_value(foreign, 0, 8, kWaitEq), seq, kInvalidValue);
    REQUIRE(read_back(other, foreign, 8, other_seq) == std::vector<uint8_t>(8, 0));
  }
  // Posted: the error at the next reply.
  ch.send(CallId::StreamWriteValue, stream_value(ptr + 4096, 1, 4), seq++, 0);
  const RawReply r = call(ch, CallId::MemAlloc, proto::MemAllocRequest{64}, seq);
  REQUIRE(r.header.status == 0);
  REQUIRE(r.header.async_status == kInvalidValue);
  const uint64_t last = seq;
  REQUIRE(call(ch, CallId::StreamWaitValue, stream_value(ptr + 8, 1, 8, kWaitGeq), seq).header.status == 0);
  refused.check_never_traced(vgpud, "cuStreamW", last, "cuStreamWaitValue64");
  expect_healthy(vgpud, "alpha");
}

TEST_CASE("context limits: the channel's own context, bad limits refused", "[hostile][ctx_limits]") {
  VgpudProcess vgpud;
  RawChannel ch(vgpud.socket("alpha"));
  uint64_t seq = 1;
  RawReply r = call(ch, CallId::CtxGetLimit, proto::CtxGetLimitRequest{kLimitStack, 0}, seq);
  REQUIRE(r.header.status == 0);
  REQUIRE(r.payload.size() == sizeof(proto::CtxGetLimitReply));
  REQUIRE(call(ch, CallId::CtxSetLimit, proto::CtxSetLimitRequest{kLimitMallocHeap, 0, 64ull << 20}, seq)
              .header.status == 0);
  r = call(ch, CallId::CtxGetLimit, proto::CtxGetLimitRequest{kLimitMallocHeap, 0}, seq);
  REQUIRE(r.header.status == 0);
  uint64_t value;
  std::memcpy(&value, r.payload.data(), 8);
  REQUIRE(value == 64ull << 20);
  {
    // Another channel's context has its own limits.
    RawChannel other(vgpud.socket("alpha"));
    uint64_t other_seq = 1;
    r = call(other, CallId::CtxGetLimit, proto::CtxGetLimitRequest{kLimitMallocHeap, 0}, other_seq);
    REQUIRE(r.header.status == 0);
    std::memcpy(&value, r.payload.data(), 8);
    REQUIRE(value != 64ull << 20);
  }
  // A limit the driver does not know, one the protocol cannot name, one that cannot be set.
  r = call(ch, CallId::CtxGetLimit, proto::CtxGetLimitRequest{12, 0}, seq);
  REQUIRE(r.header.status == kUnsupportedLimit);
  REQUIRE(r.payload.empty());
  REQUIRE(call(ch, CallId::CtxSetLimit, proto::CtxSetLimitRequest{15, 0, 1}, seq).header.status == kUnsupportedLimit);
  REQUIRE(call(ch, CallId::CtxGetLimit, proto::CtxGetLimitRequest{16, 0}, seq).header.status == kMalformed);
  REQUIRE(call(ch, CallId::CtxSetLimit, proto::CtxSetLimitRequest{0xFFFFFFFFu, 0, 1}, seq).header.status == kMalformed);
  REQUIRE(call(ch, CallId::CtxSetLimit, proto::CtxSetLimitRequest{kLimitShmem, 0, 1}, seq).header.status ==
          kInvalidValue);
  expect_healthy(vgpud, "alpha");
}

TEST_CASE("module listing, cluster occupancy and extended launches check their ids and sizes",
          "[hostile][launch_ex]") {
  VgpudProcess vgpud(std::vector<TenantSpec>{{"alpha", ""}, {"beta", ""}});
  RawChannel ch(vgpud.socket("alpha"));
  uint64_t seq = 1;
  const uint64_t ptr = alloc(ch, 4096, seq);
  RefusedByVgpud refused;
  const uint32_t module = load(ch, "FAKECUBIN 1\nkernel fake_fill_u32 8,4,8\nkernel _Z5otheri 4\n", seq);
  RefusedByVgpud listing;

  // The names, all at once and from an index; nothing registered.
  RawReply r = call(ch, CallId::ModuleListFunctions, proto::ModuleListFunctionsRequest{module, 0}, seq);
  REQUIRE(r.header.status == 0);
  proto::ModuleListFunctionsReply list;
  REQUIRE(r.payload.size() >= sizeof list);
  std::memcpy(&list, r.payload.data(), sizeof list);
  REQUIRE(list.total == 2);
  REQUIRE(list.returned == 2);
  const std::string names(r.payload.begin() + sizeof list, r.payload.end());
  REQUIRE(list.names_bytes == names.size());
  REQUIRE(names == std::string("fake_fill_u32\0_Z5otheri\0", 24));
  r = call(ch, CallId::ModuleListFunctions, proto::ModuleListFunctionsRequest{module, 1}, seq);
  std::memcpy(&list, r.payload.data(), sizeof list);
  REQUIRE((list.total == 2 && list.returned == 1 && list.names_bytes == 10));
  r = call(ch, CallId::ModuleListFunctions, proto::ModuleListFunctionsRequest{module, 0xFFFFFFFFu}, seq);
  REQUIRE(r.header.status == 0);
  std::memcpy(&list, r.payload.data(), sizeof list);
  REQUIRE((list.total == 2 && list.returned == 0 && list.names_bytes == 0));
  REQUIRE(r.payload.size() == sizeof list);
  // Module ids the channel does not hold (another channel's first module has this one's id
  // in its own table, not here).
  {
    RawChannel other(vgpud.socket("beta"));
    uint64_t other_seq = 1;
    const uint32_t foreign = load(other, "FAKECUBIN 1\nkernel a\nkernel b\nkernel c\n", other_seq);
    listing.expect(ch, CallId::ModuleListFunctions, proto::ModuleListFunctionsRequest{foreign + 1, 0}, seq,
                   kInvalidHandle);
  }
  listing.expect(ch, CallId::ModuleListFunctions, proto::ModuleListFunctionsRequest{0x4242, 0}, seq, kInvalidHandle);
  listing.expect(ch, CallId::ModuleListFunctions, proto::ModuleListFunctionsRequest{0, 0}, seq, kInvalidHandle);
  const uint64_t last_listing = seq;
  REQUIRE(call(ch, CallId::ModuleListFunctions, proto::ModuleListFunctionsRequest{module, 0}, seq).header.status == 0);
  listing.check_never_traced(vgpud, "cuModuleGetFunctionCount", last_listing, "cuModuleGetFunctionCount");

  const uint32_t fill = function(ch, module, "fake_fill_u32", seq);
  const uint32_t bogus = 0xBAD;
  // Occupancy: a function id the channel does not hold, then the real ones.
  RefusedByVgpud occupancy;
  occupancy.expect(ch, CallId::OccupancyAvailableSharedMem, proto::OccupancyAvailableSharedMemRequest{bogus, 1, 256, 0},
                   seq, kInvalidHandle);
  REQUIRE(call(ch, CallId::OccupancyAvailableSharedMem, proto::OccupancyAvailableSharedMemRequest{fill, 0, 256, 0}, seq)
              .header.status == kMalformed);
  r = call(ch, CallId::OccupancyAvailableSharedMem, proto::OccupancyAvailableSharedMemRequest{fill, 1, 256, 0}, seq);
  REQUIRE(r.header.status == 0);
  uint64_t smem;
  std::memcpy(&smem, r.payload.data(), 8);
  REQUIRE(smem == 232448);  // the fake H100: everything one block may opt in to
  proto::ClusterOccupancyRequest cluster{};
  cluster.function = fill;
  for (int i = 0; i < 3; ++i) cluster.grid[i] = cluster.block[i] = 1;
  cluster.grid[0] = 8;
  cluster.block[0] = 256;
  r = call(ch, CallId::OccupancyMaxClusterSize, cluster, seq);
  REQUIRE(r.header.status == 0);
  proto::OccupancyValueReply value;
  std::memcpy(&value, r.payload.data(), sizeof value);
  REQUIRE(value.value == 8);
  REQUIRE(call(ch, CallId::OccupancyMaxActiveClusters, cluster, seq).header.status == kInvalidClusterSize);  // none given
  cluster.cluster[0] = 2;
  cluster.cluster[1] = cluster.cluster[2] = 1;
  r = call(ch, CallId::OccupancyMaxActiveClusters, cluster, seq);
  REQUIRE(r.header.status == 0);
  std::memcpy(&value, r.payload.data(), sizeof value);
  REQUIRE(value.value > 0);
  cluster.function = bogus;
  occupancy.expect(ch, CallId::OccupancyMaxActiveClusters, cluster, seq, kInvalidHandle);
  occupancy.expect(ch, CallId::OccupancyMaxClusterSize, cluster, seq, kInvalidHandle);
  cluster.function = fill;
  cluster.block[1] = 0;
  REQUIRE(call(ch, CallId::OccupancyMaxClusterSize, cluster, seq).header.status == kMalformed);
  cluster.block[1] = 1;
  const uint64_t last_occupancy = seq;
  REQUIRE(call(ch, CallId::OccupancyMaxClusterSize, cluster, seq).header.status == 0);
  occupancy.check_never_traced(vgpud, "cuOccupancy", last_occupancy, "cuOccupancyMaxPotentialClusterSize");

  // Extended launches: fake_fill_u32(p, v, n) packs into 24 bytes.
  proto::LaunchKernelExRequest launch{};
  launch.function = fill;
  for (int i = 0; i < 3; ++i) launch.grid[i] = launch.block[i] = launch.cluster[i] = 1;
  launch.grid[0] = 2;
  launch.cluster[0] = 2;
  launch.flags = 0x3;  // cooperative, with a priority
  launch.priority = -2;
  std::string params(24, '\0');
  const uint64_t n = 16;
  const uint32_t v = 0x5EED5EED;
  std::memcpy(params.data(), &ptr, 8);
  std::memcpy(params.data() + 8, &v, 4);
  std::memcpy(params.data() + 16, &n, 8);
  launch.param_bytes = 24;
  REQUIRE(call(ch, CallId::LaunchKernelEx, launch, seq, params).header.status == 0);
  const std::vector<uint8_t> filled = read_back(ch, ptr, 68, seq);
  uint32_t word;
  std::memcpy(&word, filled.data() + 60, 4);
  REQUIRE(word == v);
  std::memcpy(&word, filled.data() + 64, 4);
  REQUIRE(word == 0);
  // A parameter buffer of the wrong size, too short and too long.
  launch.param_bytes = 20;
  refused.expect(ch, CallId::LaunchKernelEx, launch, seq, kInvalidValue, params.substr(0, 20));
  launch.param_bytes = 32;
  refused.expect(ch, CallId::LaunchKernelEx, launch, seq, kInvalidValue, params + std::string(8, 'x'));
  // A param_bytes that claims more than the message carries.
  launch.param_bytes = 4096;
  REQUIRE(call(ch, CallId::LaunchKernelEx, launch, seq, params).header.status == kMalformed);
  launch.param_bytes = 24;
  // Flags the protocol does not define, a function and a stream the channel does not hold.
  launch.flags = 0x8;
  REQUIRE(call(ch, CallId::LaunchKernelEx, launch, seq, params).header.status == kMalformed);
  launch.flags = 0;
  launch.function = bogus;
  refused.expect(ch, CallId::LaunchKernelEx, launch, seq, kInvalidHandle, params);
  launch.function = fill;
  launch.stream = 0x9999;
  refused.expect(ch, CallId::LaunchKernelEx, launch, seq, kInvalidHandle, params);
  launch.stream = 0;
  // A cluster that does not tile the grid reaches the driver, which refuses it.
  launch.cluster[0] = 3;
  REQUIRE(call(ch, CallId::LaunchKernelEx, launch, seq, params).header.status == kInvalidClusterSize);
  // Posted, as the guest sends it: the error at the next reply.
  launch.cluster[0] = 1;
  launch.param_bytes = 8;
  ch.send(CallId::LaunchKernelEx, launch, seq++, 0, params.substr(0, 8));
  r = call(ch, CallId::MemAlloc, proto::MemAllocRequest{64}, seq);
  REQUIRE(r.header.status == 0);
  REQUIRE(r.header.async_status == kInvalidValue);
  launch.param_bytes = 24;
  const uint64_t last = seq;
  REQUIRE(call(ch, CallId::LaunchKernelEx, launch, seq, params).header.status == 0);
  refused.check_never_traced(vgpud, "cuLaunchKernelEx", last, "cuLaunchKernelEx");
  expect_healthy(vgpud, "alpha");
}
