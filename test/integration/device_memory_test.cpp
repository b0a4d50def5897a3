// limits.device_memory means what the tenant can make the GPU hold: allocations, and module
// globals, which no allocation call names; and a channel that never calls the GPU holds no
// context (about 0.5 GB on a real card, which no limit counts).
#include <catch2/catch.hpp>

#include "test/integration/raw_channel.h"
#include "test/integration/vgpud_process.h"

using namespace vgpu;
using namespace vgpu::test;
using proto::CallId;

namespace {

constexpr int32_t kOutOfMemory = 2;  // CUDA_ERROR_OUT_OF_MEMORY

// A fake-driver image with one `__device__` array of `bytes`.
std::vector<uint8_t> image_with_global(uint64_t bytes) {
  const std::string text = "FAKECUBIN 1\nglobal table " + std::to_string(bytes) + "\n";
  std::vector<uint8_t> image(text.begin(), text.end());
  image.push_back(0);
  return image;
}

int32_t alloc_status(RawChannel& ch, uint64_t size, uint64_t seq) {
  ch.send(CallId::MemAlloc, proto::MemAllocRequest{size}, seq);
  auto r = ch.receive();
  REQUIRE(r.has_value());
  return r->header.status;
}

}  // namespace

TEST_CASE("module globals count against limits.device_memory", "[limits][device_memory]") {
  VgpudProcess vgpud({TenantSpec{"alpha", "      device_memory: 64MiB\n"}});
  RawChannel a(vgpud.socket("alpha"));
  RawChannel b(vgpud.socket("alpha"));

  auto r = a.load_module(image_with_global(48 << 20), 1);
  REQUIRE(r.has_value());
  REQUIRE(r->header.status == 0);
  proto::ModuleLoadReply loaded{};
  std::memcpy(&loaded, r->payload.data(), sizeof loaded);
  CHECK(vgpud.counter("alpha", "device_bytes") == 48 << 20);

  // A second such module, from either channel, would take the tenant past 64 MiB.
  r = a.load_module(image_with_global(48 << 20), 3);
  REQUIRE(r.has_value());
  CHECK(r->header.status == kOutOfMemory);
  r = b.load_module(image_with_global(48 << 20), 1);
  REQUIRE(r.has_value());
  CHECK(r->header.status == kOutOfMemory);
  // Nor may an allocation use what the globals hold.
  CHECK(alloc_status(b, 32 << 20, 3) == kOutOfMemory);
  CHECK(vgpud.counter("alpha", "device_bytes") == 48 << 20);

  // Unloading gives the memory back.
  a.send(CallId::ModuleUnload, proto::ModuleUnloadRequest{loaded.module, 0}, 5);
  r = a.receive();
  REQUIRE(r.has_value());
  REQUIRE(r->header.status == 0);
  CHECK(vgpud.counter("alpha", "device_bytes") == 0);
  CHECK(alloc_status(b, 32 << 20, 4) == 0);
  CHECK(vgpud.counter("alpha", "device_bytes") == 32 << 20);

  // So does the end of a channel: a module left loaded is counted until its guest goes.
  r = a.load_module(image_with_global(16 << 20), 6);
  REQUIRE(r.has_value());
  REQUIRE(r->header.status == 0);
  CHECK(vgpud.counter("alpha", "device_bytes") == 48 << 20);
}

TEST_CASE("a module's globals are given back when its channel ends", "[limits][device_memory]") {
  VgpudProcess vgpud({TenantSpec{"alpha", "      device_memory: 64MiB\n"}});
  {
    RawChannel a(vgpud.socket("alpha"));
    auto r = a.load_module(image_with_global(40 << 20), 1);
    REQUIRE(r.has_value());
    REQUIRE(r->header.status == 0);
    CHECK(vgpud.counter("alpha", "device_bytes") == 40 << 20);
  }
  REQUIRE(eventually([&] { return vgpud.counter("alpha", "device_bytes") == 0; }));
  RawChannel b(vgpud.socket("alpha"));
  auto r = b.load_module(image_with_global(40 << 20), 1);
  REQUIRE(r.has_value());
  CHECK(r->header.status == 0);
}

TEST_CASE("a channel that never needs the GPU holds no context", "[limits][device_memory]") {
  VgpudProcess vgpud;
  RawChannel ch(vgpud.socket("alpha"));
  // What a program does before its first real call: pick a device, ask about it.
  ch.send(CallId::SetDevice, proto::SetDeviceRequest{0, 0}, 1);
  auto r = ch.receive();
  REQUIRE(r.has_value());
  REQUIRE(r->header.status == 0);
  ch.send(CallId::DeviceGetInfo, proto::DeviceGetInfoRequest{0, 0}, 2);
  r = ch.receive();
  REQUIRE(r.has_value());
  REQUIRE(r->header.status == 0);
  CHECK(vgpud.fake_state("contexts") <= 0);  // no state file yet, or one saying 0

  // The first allocation makes it.
  REQUIRE(alloc_status(ch, 4096, 3) == 0);
  CHECK(eventually([&] { return vgpud.fake_state("contexts") == 1; }));
}

namespace {

// Uploads `bytes` of an image in 256 KiB BLOB_APPENDs, each answered, without loading it;
// returns the first status that was not 0 (or 0).
int32_t upload_image_bytes(RawChannel& ch, uint64_t bytes, uint64_t& seq) {
  const auto& g = ch.header()->geometry;
  proto::RingProducer upload(&ch.header()->upload, ch.region().data() + g.upload.offset, g.upload.size);
  const std::vector<uint8_t> chunk(256 << 10, 'x');
  for (uint64_t sent = 0; sent < bytes; sent += chunk.size()) {
    auto room = upload.has_room(chunk.size());
    REQUIRE(static_cast<bool>(room));
    REQUIRE(*room);  // each chunk is answered, so vgpud consumed the one before
    upload.write(chunk.data(), chunk.size());
    upload.publish();
    ch.send(CallId::BlobAppend, proto::BlobAppendRequest{chunk.size()}, seq++);
    auto r = ch.receive();
    REQUIRE(r.has_value());
    if (r->header.status != 0) return r->header.status;
  }
  return 0;
}

}  // namespace

TEST_CASE("module images being uploaded hold at most limits.module_image_memory per tenant",
          "[limits][module_image_memory]") {
  constexpr int32_t kLimitExceeded = static_cast<int32_t>(proto::Status::LimitExceeded);
  VgpudProcess vgpud({TenantSpec{"alpha", "      module_image_memory: 8MiB\n"},
                      TenantSpec{"beta", "      module_image_memory: 8MiB\n"}});
  RawChannel a(vgpud.socket("alpha"));
  RawChannel b(vgpud.socket("alpha"));
  uint64_t seq_a = 1, seq_b = 1;
  REQUIRE(upload_image_bytes(a, 5 << 20, seq_a) == 0);
  // The tenant's two channels together may not pass 8 MiB; the refused image is dropped whole.
  CHECK(upload_image_bytes(b, 5 << 20, seq_b) == kLimitExceeded);
  // Another tenant has a budget of its own.
  RawChannel c(vgpud.socket("beta"));
  uint64_t seq_c = 1;
  CHECK(upload_image_bytes(c, 5 << 20, seq_c) == 0);

  // Loading the first image (it is no valid image) frees what it held: the second fits now.
  a.send(CallId::ModuleLoad, proto::ModuleLoadRequest{5 << 20, 0}, seq_a++);
  auto r = a.receive();
  REQUIRE(r.has_value());
  CHECK(r->header.status != 0);
  CHECK(upload_image_bytes(b, 5 << 20, seq_b) == 0);
}

TEST_CASE("an image upload left behind by a dead guest is freed", "[limits][module_image_memory]") {
  VgpudProcess vgpud({TenantSpec{"alpha", "      module_image_memory: 8MiB\n"}});
  {
    RawChannel a(vgpud.socket("alpha"));
    uint64_t seq = 1;
    REQUIRE(upload_image_bytes(a, 6 << 20, seq) == 0);
  }
  // Refused while the dead guest's image still counts; a fresh channel per try keeps each
  // attempt whole.
  CHECK(eventually([&] {
    RawChannel probe(vgpud.socket("alpha"));
    uint64_t seq = 1;
    return upload_image_bytes(probe, 6 << 20, seq) == 0;
  }));
}
