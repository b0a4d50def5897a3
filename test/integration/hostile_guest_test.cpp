// A hostile guest gets errors for itself only; vgpud keeps serving everyone else.
#include <catch2/catch.hpp>

#include <random>

#include "test/integration/raw_channel.h"
#include "test/integration/vgpud_process.h"

using namespace vgpu;
using namespace vgpu::test;
using proto::CallId;

namespace {

// A well-behaved round trip on a fresh channel: the proof that vgpud still serves.
void expect_healthy(const VgpudProcess& vgpud, const std::string& tenant) {
  RawChannel ch(vgpud.socket(tenant));
  ch.send(CallId::MemAlloc, proto::MemAllocRequest{4096}, 1);
  auto r = ch.receive();
  REQUIRE(r.has_value());
  REQUIRE(r->header.status == 0);
  REQUIRE(r->payload.size() == sizeof(proto::MemAllocReply));
}

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

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

  ch.send(CallId::MemFree, proto::MemcpyDtoDRequest{}, 2);  // wrong payload size
  r = ch.receive();
  REQUIRE(r.has_value());
  REQUIRE(r->header.status == static_cast<int32_t>(proto::Status::MalformedMessage));

  ch.send(CallId::MemAlloc, proto::MemAllocRequest{256}, 3);
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
