// The tenant's module cache (docs/protocol.md, "Module cache"): an image reaches vgpud once per
// tenant. A second process of the tenant that loads it sends its digest and no bytes; another
// tenant's process never finds it; and a guest can neither name a digest for bytes it did not
// send nor get anything for a digest nothing has.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "guest/client/channel.h"
#include "test/fake-cuda/fake_module.h"
#include "test/integration/raw_channel.h"
#include "test/integration/vgpud_process.h"
#include "vgpu/common/sha256.h"

using namespace vgpu;
using namespace vgpu::test;
using proto::CallId;

namespace {

constexpr int32_t kInvalidValue = 1;  // CUDA_ERROR_INVALID_VALUE
constexpr int32_t kMalformed = static_cast<int32_t>(proto::Status::MalformedMessage);

// Sets an environment variable for a scope: guest::Channel::open() reads its endpoint there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { unsetenv(name_); }

 private:
  const char* name_;
};

// A guest process's channel, as the shims open it.
std::unique_ptr<guest::Channel> open_channel(const VgpudProcess& vgpud, const std::string& tenant) {
  ScopedEnv transport("VGPU_TRANSPORT", "local");
  ScopedEnv socket("VGPU_SOCKET", vgpud.socket(tenant));
  auto channel = guest::Channel::open();
  REQUIRE(channel);
  return std::move(channel).value();
}

// Larger than a quarter of the upload ring, so that uploading it takes several BLOB_APPENDs.
std::vector<uint8_t> kernel_image() {
  std::string text = vgpu::fake::module_image({"kernel fake_vector_add 8,8,8,4"});
  text += std::string(6 << 20, '#');  // a comment the fake driver skips
  std::vector<uint8_t> image(text.begin(), text.end());
  image.push_back(0);
  return image;
}

// Loads the image through the channel; returns how many messages the tenant's vgpud took off
// submit rings meanwhile (MODULE_LOAD_CACHED alone on a hit).
long messages_for_load(const VgpudProcess& vgpud, const std::string& tenant,
                       guest::Channel& channel, const std::vector<uint8_t>& image) {
  const long before = vgpud.counter(tenant, "received");
  uint32_t module = 0;
  REQUIRE(channel.load_module(image.data(), image.size(), &module) == 0);
  return vgpud.counter(tenant, "received") - before;
}

proto::ModuleLoadCachedRequest cached_request(const std::vector<uint8_t>& image) {
  proto::ModuleLoadCachedRequest request{};
  const Sha256Digest digest = Sha256::of(image);
  std::memcpy(request.digest, digest.data(), digest.size());
  request.size = image.size();
  return request;
}

RawReply call(RawChannel& ch, const proto::ModuleLoadCachedRequest& request, uint64_t seq) {
  ch.send(CallId::ModuleLoadCached, request, seq);
  auto r = ch.receive();
  REQUIRE(r.has_value());
  REQUIRE(r->header.seq == seq);
  return *r;
}

}  // namespace

TEST_CASE("a module image travels to vgpud once per tenant", "[module_cache]") {
  VgpudProcess vgpud({TenantSpec{"alpha", ""}, TenantSpec{"beta", ""}});
  const std::vector<uint8_t> image = kernel_image();

  // The first process of the tenant uploads it: a miss, the chunks, the load.
  auto first = open_channel(vgpud, "alpha");
  CHECK(messages_for_load(vgpud, "alpha", *first, image) > 3);
  CHECK(vgpud.counter("alpha", "cache_misses") == 1);
  CHECK(vgpud.counter("alpha", "cache_inserts") == 1);
  first.reset();  // the process that sent it is gone; the cache keeps the image

  // A second process of the tenant: its digest is found, and no byte of the image is sent.
  auto second = open_channel(vgpud, "alpha");
  CHECK(messages_for_load(vgpud, "alpha", *second, image) == 1);
  CHECK(vgpud.counter("alpha", "cache_hits") == 1);
  // The module loaded from the cache is a module like any other.
  uint32_t module = 0;
  REQUIRE(second->load_module(image.data(), image.size(), &module) == 0);
  const std::string name = "fake_vector_add";
  const proto::ModuleSymbolRequest symbol{module, static_cast<uint32_t>(name.size())};
  std::vector<uint8_t> reply(sizeof(proto::ModuleGetFunctionReply) +
                             16 * sizeof(proto::KernelParamInfo));
  const guest::CallResult f =
      second->call(CallId::ModuleGetFunction,
                   {{&symbol, sizeof symbol}, {name.data(), symbol.name_length}}, reply);
  CHECK(f.status == 0);

  // Another tenant never finds it: it uploads its own copy.
  auto other = open_channel(vgpud, "beta");
  CHECK(messages_for_load(vgpud, "beta", *other, image) > 3);
  CHECK(vgpud.counter("beta", "cache_hits") == 0);
  CHECK(vgpud.counter("beta", "cache_misses") == 1);
  CHECK(vgpud.counter("alpha", "cache_hits") == 2);
}

TEST_CASE("module_cache_memory 0 turns the cache off; loads upload as before", "[module_cache]") {
  VgpudProcess vgpud({TenantSpec{"alpha", "      module_cache_memory: 0\n"}});
  const std::vector<uint8_t> image = kernel_image();
  auto first = open_channel(vgpud, "alpha");
  CHECK(messages_for_load(vgpud, "alpha", *first, image) > 3);
  auto second = open_channel(vgpud, "alpha");
  CHECK(messages_for_load(vgpud, "alpha", *second, image) > 3);
  CHECK(vgpud.counter("alpha", "cache_hits") == 0);
  CHECK(vgpud.counter("alpha", "cache_misses") == 2);
  CHECK(vgpud.counter("alpha", "cache_inserts") == 0);
}

TEST_CASE("a hostile guest gets nothing from the module cache it did not send",
          "[hostile][module_cache]") {
  VgpudProcess vgpud;
  RawChannel ch(vgpud.socket("alpha"));
  uint64_t seq = 1;

  // A digest nothing has: a miss, and nothing else happens.
  const std::string text = vgpu::fake::module_image({"kernel fake_vector_add 8,8,8,4"});
  std::vector<uint8_t> sent(text.begin(), text.end());
  sent.push_back(0);
  RawReply r = call(ch, cached_request(sent), seq++);
  CHECK(r.header.status == proto::kStatusNotCached);
  CHECK(r.payload.empty());

  // What vgpud keeps is filed under its own digest of the bytes it received; a digest the guest
  // names for other bytes finds nothing, though it claims the size of what was sent.
  auto loaded = ch.load_module(sent, seq);
  seq += 2;
  REQUIRE(loaded.has_value());
  REQUIRE(loaded->header.status == 0);
  std::vector<uint8_t> claimed = sent;
  claimed[claimed.size() - 2] ^= 1;
  r = call(ch, cached_request(claimed), seq++);
  CHECK(r.header.status == proto::kStatusNotCached);
  CHECK(vgpud.counter("alpha", "cache_hits") == 0);

  // The right digest with another size is refused, counted as a rejection.
  const long rejected = vgpud.counter("alpha", "rejected");
  proto::ModuleLoadCachedRequest other_size = cached_request(sent);
  other_size.size += 1;
  r = call(ch, other_size, seq++);
  CHECK(r.header.status == kInvalidValue);
  CHECK(vgpud.counter("alpha", "rejected") == rejected + 1);
  other_size.size = sent.size() - 1;
  r = call(ch, other_size, seq++);
  CHECK(r.header.status == kInvalidValue);

  // Truncated requests do not parse.
  const proto::ModuleLoadCachedRequest whole = cached_request(sent);
  for (size_t size : {size_t{0}, size_t{16}, sizeof whole.digest, sizeof whole - 1}) {
    INFO(size);
    const uint32_t total = static_cast<uint32_t>(sizeof(proto::RequestHeader) + size);
    std::vector<uint8_t> m(total);
    const proto::RequestHeader h{total, static_cast<uint16_t>(CallId::ModuleLoadCached),
                                 proto::kFlagNeedsReply, seq};
    std::memcpy(m.data(), &h, sizeof h);
    const auto* bytes = reinterpret_cast<const uint8_t*>(&whole);
    std::copy(bytes, bytes + size, m.begin() + sizeof h);
    ch.send_bytes(m);
    auto reply = ch.receive();
    REQUIRE(reply.has_value());
    CHECK(reply->header.seq == seq++);
    CHECK(reply->header.status == kMalformed);
  }

  // And the honest request still hits: the channel goes on.
  r = call(ch, whole, seq++);
  CHECK(r.header.status == 0);
  CHECK(r.payload.size() == sizeof(proto::ModuleLoadReply));
  CHECK(vgpud.counter("alpha", "cache_hits") == 1);
}
