// JIT linking on the host (docs/protocol.md, "Linking"): inputs staged as pending images and added
// with LINK_ADD, LINK_COMPLETE, the output read back with LINK_READ and loaded as a module, and
// LINK_DESTROY; what a hostile guest gets for each call; and what a guest that leaves links open
// leaves behind (nothing).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "test/fake-cuda/fake_module.h"
#include "test/integration/raw_channel.h"
#include "test/integration/vgpud_process.h"
#include "vgpu/protocol/limits.h"

using namespace vgpu;
using namespace vgpu::test;
using proto::CallId;

namespace {

constexpr int32_t kInvalidValue = 1;      // CUDA_ERROR_INVALID_VALUE
constexpr int32_t kInvalidImage = 200;    // CUDA_ERROR_INVALID_IMAGE
constexpr int32_t kInvalidPtx = 218;      // CUDA_ERROR_INVALID_PTX
constexpr int32_t kInvalidHandle = 400;   // CUDA_ERROR_INVALID_HANDLE
constexpr int32_t kMalformed = static_cast<int32_t>(proto::Status::MalformedMessage);
constexpr int32_t kLimitExceeded = static_cast<int32_t>(proto::Status::LimitExceeded);
constexpr uint32_t kCubin = 0, kPtx = 1, kNvvm = 5;  // CUjitInputType
constexpr uint32_t kLinkedCubin = 0, kInfoLog = 1, kErrorLog = 2;

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

// A guest's channel that counts its own seqs.
class LinkChannel {
 public:
  explicit LinkChannel(const std::string& socket) : ch_(socket) {}

  // An answered call; its reply, checked to be this call's.
  template <typename Payload>
  RawReply call(CallId id, const Payload& p, const std::string& tail = {}) {
    const uint64_t seq = seq_++;
    ch_.send(id, p, seq, proto::kFlagNeedsReply, tail);
    auto r = ch_.receive();
    REQUIRE(r.has_value());
    REQUIRE(r->header.seq == seq);
    return *r;
  }
  template <typename Payload>
  void post(CallId id, const Payload& p) { ch_.send(id, p, seq_++, 0); }

  // The bytes into the upload ring and a posted BLOB_APPEND: the pending image grows by them.
  // In pieces of a quarter of the tests' 1 MiB upload ring, as the shim sends a large image.
  void stage(const std::vector<uint8_t>& bytes) {
    for (size_t at = 0; at < bytes.size(); at += kPiece) {
      const std::vector<uint8_t> piece(bytes.begin() + at, bytes.begin() + std::min(bytes.size(), at + kPiece));
      upload(piece);
      post(CallId::BlobAppend, proto::BlobAppendRequest{piece.size()});
    }
  }
  // `size` bytes staged with answered BLOB_APPENDs: the first status that is not 0 (or 0).
  int32_t stage_answered(uint64_t size) {
    const std::vector<uint8_t> piece(kPiece, '#');
    for (uint64_t sent = 0; sent < size; sent += kPiece) {
      upload(piece);
      if (int32_t st = call(CallId::BlobAppend, proto::BlobAppendRequest{piece.size()}).header.status) return st;
    }
    return 0;
  }

  // Stages `input` and adds it to `link` (0: a new one).
  RawReply add(uint32_t link, uint32_t type, const std::vector<uint8_t>& input, const std::string& name,
               uint64_t claimed_size = 0) {
    stage(input);
    const proto::LinkAddRequest request{link, type, claimed_size != 0 ? claimed_size : input.size(),
                                        static_cast<uint32_t>(name.size()), 0};
    return call(CallId::LinkAdd, request, name);
  }
  // The new or same link's id, after an add that must succeed.
  uint32_t add_ok(uint32_t link, uint32_t type, const std::vector<uint8_t>& input, const std::string& name) {
    const RawReply r = add(link, type, input, name);
    REQUIRE(r.header.status == 0);
    REQUIRE(r.payload.size() == sizeof(proto::LinkAddReply));
    proto::LinkAddReply reply;
    std::memcpy(&reply, r.payload.data(), sizeof reply);
    CHECK(reply.link != 0);
    if (link != 0) CHECK(reply.link == link);
    return reply.link;
  }

  RawReply complete(uint32_t link) { return call(CallId::LinkComplete, proto::LinkCompleteRequest{link, 0}); }
  RawReply read(uint32_t link, uint32_t what, uint64_t offset, uint32_t length) {
    return call(CallId::LinkRead, proto::LinkReadRequest{link, what, offset, length, 0});
  }
  // One output whole, read in pieces of `piece` bytes; each reply's total must agree.
  std::string read_all(uint32_t link, uint32_t what, uint32_t piece) {
    std::string out;
    for (;;) {
      const RawReply r = read(link, what, out.size(), piece);
      REQUIRE(r.header.status == 0);
      REQUIRE(r.payload.size() >= sizeof(proto::LinkReadReply));
      proto::LinkReadReply head;
      std::memcpy(&head, r.payload.data(), sizeof head);
      REQUIRE(r.payload.size() == sizeof head + head.returned);
      REQUIRE(head.returned <= piece);
      out.append(reinterpret_cast<const char*>(r.payload.data() + sizeof head), head.returned);
      if (head.returned == 0) {
        CHECK(out.size() == head.total);
        return out;
      }
    }
  }

  // An answered call without a payload.
  RawReply bare(CallId id) {
    const uint64_t seq = seq_++;
    const proto::RequestHeader h{sizeof h, static_cast<uint16_t>(id), proto::kFlagNeedsReply, seq};
    std::vector<uint8_t> bytes(sizeof h);
    std::memcpy(bytes.data(), &h, sizeof h);
    ch_.send_bytes(bytes);
    auto r = ch_.receive();
    REQUIRE(r.has_value());
    REQUIRE(r->header.seq == seq);
    return *r;
  }
  // A PING: the channel still answers; its reply's async_status (a posted call's error).
  int32_t ping_async_status() {
    const RawReply r = bare(CallId::Ping);
    REQUIRE(r.header.status == 0);
    return r.header.async_status;
  }
  // Loads `image` (uploaded again) as a module; its id.
  uint32_t load_module(const std::vector<uint8_t>& image) {
    auto r = ch_.load_module(image, seq_);
    seq_ += 2;
    REQUIRE(r.has_value());
    REQUIRE(r->header.status == 0);
    proto::ModuleLoadReply reply;
    std::memcpy(&reply, r->payload.data(), sizeof reply);
    return reply.module;
  }
  int32_t get_function(uint32_t module, const std::string& name) {
    return call(CallId::ModuleGetFunction, proto::ModuleSymbolRequest{module, static_cast<uint32_t>(name.size())},
                name)
        .header.status;
  }

 private:
  static constexpr size_t kPiece = 256 << 10;

  // The bytes into the upload ring, once vgpud has made room (it consumes a BLOB_APPEND's bytes
  // when it runs it).
  void upload(const std::vector<uint8_t>& bytes) {
    const auto& g = ch_.header()->geometry;
    proto::RingProducer ring(&ch_.header()->upload, ch_.region().data() + g.upload.offset, g.upload.size);
    REQUIRE(eventually([&] {
      auto room = ring.has_room(bytes.size());
      return room && *room;
    }));
    ring.write(bytes.data(), bytes.size());
    ring.publish();
  }

  RawChannel ch_;
  uint64_t seq_ = 1;
};

uint64_t image_size_of(const RawReply& r) {
  REQUIRE(r.header.status == 0);
  REQUIRE(r.payload.size() == sizeof(proto::LinkCompleteReply));
  proto::LinkCompleteReply reply;
  std::memcpy(&reply, r.payload.data(), sizeof reply);
  return reply.image_size;
}

proto::LinkReadReply read_head(const RawReply& r) {
  REQUIRE(r.header.status == 0);
  REQUIRE(r.payload.size() >= sizeof(proto::LinkReadReply));
  proto::LinkReadReply head;
  std::memcpy(&head, r.payload.data(), sizeof head);
  return head;
}

// A fake image with a NUL (or, with_nul false, without: vgpud adds it to PTX).
std::vector<uint8_t> input(std::initializer_list<std::string> lines, bool with_nul = true) {
  std::vector<uint8_t> bytes = bytes_of(fake::module_image(lines));
  if (with_nul) bytes.push_back(0);
  return bytes;
}

}  // namespace

TEST_CASE("a guest links two inputs on the host and loads what the linker made", "[link]") {
  VgpudProcess vgpud;
  LinkChannel ch(vgpud.socket("alpha"));

  const uint32_t link = ch.add_ok(0, kPtx, input({"kernel link_first 8,4"}), "first.ptx");
  CHECK(ch.add_ok(link, kPtx, input({"kernel link_second", "global link_table 64"}, false), "second.ptx") == link);
  CHECK(vgpud.fake_state("links") == 1);
  const uint64_t image_size = image_size_of(ch.complete(link));
  REQUIRE(image_size > 0);

  // The cubin, 7 bytes a reply, is the image that cuLinkComplete gave.
  const std::string cubin = ch.read_all(link, kLinkedCubin, 7);
  REQUIRE(cubin.size() == image_size);
  CHECK(cubin.find("kernel link_first 8,4\n") != std::string::npos);
  CHECK(cubin.find("kernel link_second\n") != std::string::npos);
  // Past the end: nothing, and the same total.
  for (uint64_t offset : {image_size, image_size + 1, UINT64_MAX}) {
    const proto::LinkReadReply head = read_head(ch.read(link, kLinkedCubin, offset, 64));
    CHECK(head.total == image_size);
    CHECK(head.returned == 0);
  }

  // Loaded like any module image (uploaded again), it has each input's kernel.
  const uint32_t module = ch.load_module(bytes_of(cubin));
  CHECK(ch.get_function(module, "link_first") == 0);
  CHECK(ch.get_function(module, "link_second") == 0);
  CHECK(ch.get_function(module, "link_third") != 0);

  // The info log says what the linker did; the error log is empty.
  const std::string info = ch.read_all(link, kInfoLog, 16);
  CHECK(info.find("'first.ptx'") != std::string::npos);
  CHECK(info.find("linked 2 input(s)") != std::string::npos);
  CHECK(info.find('\0') == std::string::npos);
  CHECK(ch.read_all(link, kErrorLog, 1024).empty());

  // Destroyed (posted): gone for the guest and for the driver.
  ch.post(CallId::LinkDestroy, proto::LinkDestroyRequest{link, 0});
  CHECK(ch.ping_async_status() == 0);
  CHECK(ch.read(link, kInfoLog, 0, 16).header.status == kInvalidHandle);
  CHECK(vgpud.fake_state("links") == 0);
}

TEST_CASE("hostile link calls get errors and the channel goes on", "[link][hostile]") {
  VgpudProcess vgpud;
  LinkChannel ch(vgpud.socket("alpha"));
  const std::vector<uint8_t> good = input({"kernel good_kernel"});

  SECTION("links it does not hold") {
    CHECK(ch.add(77, kPtx, good, "x.ptx").header.status == kInvalidHandle);
    CHECK(ch.complete(77).header.status == kInvalidHandle);
    CHECK(ch.read(77, kInfoLog, 0, 16).header.status == kInvalidHandle);
    ch.post(CallId::LinkDestroy, proto::LinkDestroyRequest{77, 0});
    CHECK(ch.ping_async_status() == kInvalidHandle);
    // The refused add consumed its pending image: a LINK_ADD alone has none.
    CHECK(ch.call(CallId::LinkAdd, proto::LinkAddRequest{0, kPtx, good.size(), 0, 0}).header.status ==
          kInvalidValue);
  }

  SECTION("inputs of the wrong size or type") {
    const long rejected = vgpud.counter("alpha", "rejected");
    CHECK(ch.add(0, kPtx, good, "short", good.size() + 1).header.status == kInvalidValue);
    CHECK(ch.add(0, kPtx, good, "long", good.size() - 1).header.status == kInvalidValue);
    CHECK(ch.add(0, kNvvm, good, "nvvm").header.status == kInvalidValue);
    CHECK(ch.add(0, 99, good, "unknown").header.status == kInvalidValue);
    // A cubin must be an ELF: a text is refused before the driver sees it.
    CHECK(ch.add(0, kCubin, good, "text.cubin").header.status == kInvalidImage);
    CHECK(vgpud.counter("alpha", "rejected") == rejected + 3);
    CHECK(vgpud.fake_state("links") <= 0);  // none made
  }

  SECTION("a failing input") {
    // The first: the new link is kept, and the failed reply names it, so that its error log can
    // be read (what the guest does for a PTX text that failed to load) and it can be destroyed.
    const RawReply first = ch.add(0, kPtx, input({"# BROKEN"}), "broken.ptx");
    CHECK(first.header.status == kInvalidPtx);
    REQUIRE(first.payload.size() == sizeof(proto::LinkAddReply));
    proto::LinkAddReply named{};
    std::memcpy(&named, first.payload.data(), sizeof named);
    CHECK(named.link != 0);
    CHECK(vgpud.fake_state("links") == 1);
    CHECK(ch.read_all(named.link, kErrorLog, 100).find("'broken.ptx'") != std::string::npos);
    ch.post(CallId::LinkDestroy, proto::LinkDestroyRequest{named.link, 0});
    CHECK(ch.complete(named.link).header.status == kInvalidHandle);  // gone
    CHECK(vgpud.fake_state("links") == 0);
    // A later one: the link stays, with the linker's word on it.
    const uint32_t link = ch.add_ok(0, kPtx, good, "good.ptx");
    CHECK(ch.add(link, kPtx, input({"# BROKEN"}), "later.ptx").header.status == kInvalidPtx);
    CHECK(ch.read_all(link, kErrorLog, 100).find("'later.ptx'") != std::string::npos);
    CHECK(image_size_of(ch.complete(link)) > 0);
  }

  SECTION("a completed link") {
    const uint32_t link = ch.add_ok(0, kPtx, good, "good.ptx");
    const uint64_t size = image_size_of(ch.complete(link));
    CHECK(ch.add(link, kPtx, input({"kernel late"}), "late.ptx").header.status == kInvalidHandle);
    CHECK(image_size_of(ch.complete(link)) == size);  // a second complete answers the first's result
    // A completion that fails (a kernel defined twice) leaves the error log, and fails again.
    const uint32_t twice = ch.add_ok(0, kPtx, good, "a.ptx");
    ch.add_ok(twice, kPtx, good, "b.ptx");
    CHECK(ch.complete(twice).header.status == kInvalidImage);
    CHECK(ch.complete(twice).header.status == kInvalidImage);
    CHECK(ch.read_all(twice, kErrorLog, 100).find("duplicate kernel 'good_kernel'") != std::string::npos);
    CHECK(read_head(ch.read(twice, kLinkedCubin, 0, 100)).total == 0);
    CHECK(ch.add(twice, kPtx, input({"kernel fix"}), "fix.ptx").header.status == kInvalidHandle);
  }

  SECTION("reads the parser refuses") {
    const uint32_t link = ch.add_ok(0, kPtx, good, "good.ptx");
    CHECK(ch.read(link, 3, 0, 16).header.status == kMalformed);
    CHECK(ch.read(link, kInfoLog, 0, limits::kMaxLinkRead + 1).header.status == kMalformed);
    CHECK(read_head(ch.read(link, kInfoLog, 0, limits::kMaxLinkRead)).returned > 0);
  }

  SECTION("at most kMaxLinks links") {
    std::vector<uint32_t> links;
    for (uint32_t i = 0; i < limits::kMaxLinks; ++i) links.push_back(ch.add_ok(0, kPtx, good, "good.ptx"));
    const long rejected = vgpud.counter("alpha", "rejected");
    CHECK(ch.add(0, kPtx, good, "17th.ptx").header.status == kLimitExceeded);
    CHECK(vgpud.counter("alpha", "rejected") == rejected + 1);
    // An input for a link it holds still joins it; one destroyed makes room for a new one.
    CHECK(ch.add_ok(links[3], kPtx, input({"kernel more"}), "more.ptx") == links[3]);
    ch.post(CallId::LinkDestroy, proto::LinkDestroyRequest{links[0], 0});
    links.erase(links.begin());
    links.push_back(ch.add_ok(0, kPtx, good, "good.ptx"));
    CHECK(links.back() > limits::kMaxLinks);  // ids are never reused
    CHECK(vgpud.fake_state("links") == static_cast<long>(limits::kMaxLinks));
    for (uint32_t link : links) ch.post(CallId::LinkDestroy, proto::LinkDestroyRequest{link, 0});
    CHECK(ch.ping_async_status() == 0);
    CHECK(vgpud.fake_state("links") == 0);
  }

  // Whatever came before, the channel still works: a link made from scratch loads.
  const uint32_t link = ch.add_ok(0, kPtx, input({"kernel after_all"}), "after.ptx");
  const std::string cubin = ch.read_all(link, kLinkedCubin, limits::kMaxLinkRead);
  CHECK(cubin.empty());  // not completed yet
  REQUIRE(image_size_of(ch.complete(link)) > 0);
  const uint32_t module = ch.load_module(bytes_of(ch.read_all(link, kLinkedCubin, limits::kMaxLinkRead)));
  CHECK(ch.get_function(module, "after_all") == 0);
  CHECK(ch.ping_async_status() == 0);
}

TEST_CASE("links hold their inputs until destroyed, and nothing once the guest is gone",
          "[link][module_image_memory]") {
  // 8 MiB for the tenant's images: an 8 MiB upload fits only when nothing else is held. A
  // staged image holds its capacity, which doubles as it grows: the 1.5 MiB input holds 2 MiB.
  VgpudProcess vgpud({TenantSpec{"alpha", "      module_image_memory: 8MiB\n"}});
  std::string big = fake::module_image({"kernel big_kernel"}) + "#" + std::string(3 << 19, 'x') + "\n";
  const std::vector<uint8_t> big_input(big.c_str(), big.c_str() + big.size() + 1);

  {
    LinkChannel ch(vgpud.socket("alpha"));
    // LINK_DESTROY gives an input's bytes back.
    const uint32_t link = ch.add_ok(0, kPtx, big_input, "big.ptx");
    CHECK(ch.stage_answered(8 << 20) == kLimitExceeded);
    ch.post(CallId::LinkDestroy, proto::LinkDestroyRequest{link, 0});
    CHECK(ch.stage_answered(8 << 20) == 0);
    CHECK(ch.call(CallId::LinkAdd, proto::LinkAddRequest{0, kCubin, 1, 0, 0}).header.status == kInvalidValue);

    // DEVICE_RESET destroys the links made on the device, with its context.
    const uint32_t reset = ch.add_ok(0, kPtx, input({"kernel small"}), "small.ptx");
    CHECK(ch.bare(CallId::DeviceReset).header.status == 0);
    CHECK(ch.read(reset, kInfoLog, 0, 16).header.status == kInvalidHandle);
    CHECK(vgpud.fake_state("links") == 0);

    // Links left open: two inputs held (4 MiB), another in a completed link.
    const uint32_t open = ch.add_ok(0, kPtx, big_input, "big.ptx");
    ch.add_ok(open, kPtx, big_input, "big2.ptx");
    const uint32_t done = ch.add_ok(0, kPtx, input({"kernel done"}), "done.ptx");
    image_size_of(ch.complete(done));
    CHECK(vgpud.fake_state("links") == 2);
    LinkChannel other(vgpud.socket("alpha"));
    CHECK(other.stage_answered(5 << 20) == kLimitExceeded);  // it would hold 8 MiB
  }  // both guests exit

  // Every link was destroyed through the driver, and the budget is whole again.
  CHECK(eventually([&] { return vgpud.fake_state("links") == 0; }));
  CHECK(eventually([&] {
    LinkChannel probe(vgpud.socket("alpha"));
    return probe.stage_answered(8 << 20) == 0;
  }));
}
