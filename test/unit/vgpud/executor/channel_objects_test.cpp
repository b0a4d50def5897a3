#include <catch2/catch.hpp>

#include "vgpud/executor/channel_objects.h"

using vgpud::ChannelObjects;
using vgpud::DeviceMemoryMap;
namespace proto = vgpu::proto;

namespace {

CUmodule fake_module(uintptr_t v) { return reinterpret_cast<CUmodule>(v); }
CUstream fake_stream(uintptr_t v) { return reinterpret_cast<CUstream>(v); }

}  // namespace

TEST_CASE("stream ids resolve to the channel's streams; legacy ids to the default stream", "[executor][objects]") {
  ChannelObjects objects;
  const uint64_t id = objects.streams.insert({fake_stream(0x50), 0});
  CUstream s = fake_stream(1);
  REQUIRE(objects.resolve_stream(proto::kStreamLegacy, &s));
  REQUIRE(s == nullptr);
  REQUIRE(objects.resolve_stream(id, &s));
  REQUIRE(s == fake_stream(0x50));
  REQUIRE_FALSE(objects.resolve_stream(id + 1, &s));
}

TEST_CASE("forgetting a module forgets its functions and globals and returns its footprint", "[executor][objects]") {
  ChannelObjects objects;
  objects.memory.add(0x1000, 0x10, DeviceMemoryMap::Kind::ModuleGlobal, 0);
  const uint32_t a = objects.modules.insert({fake_module(0xa), 0, {0x1000}, 4096});
  const uint32_t b = objects.modules.insert({fake_module(0xb), 0, {}, 8192});
  const uint32_t fa = objects.functions.insert({nullptr, fake_module(0xa), 0, {}, 0});
  const uint32_t fb = objects.functions.insert({nullptr, fake_module(0xb), 0, {}, 0});

  REQUIRE(objects.forget_module(a) == 4096);
  REQUIRE(objects.modules.find(a) == nullptr);
  REQUIRE(objects.functions.find(fa) == nullptr);
  REQUIRE_FALSE(objects.memory.contains(0x1000, 1));
  REQUIRE(objects.modules.find(b) != nullptr);
  REQUIRE(objects.functions.find(fb) != nullptr);
  REQUIRE(objects.forget_module(a) == 0);  // a stale id frees nothing twice
}

TEST_CASE("forgetting a device forgets exactly its objects and returns its bytes", "[executor][objects]") {
  ChannelObjects objects;
  objects.memory.add(0x1000, 0x100, DeviceMemoryMap::Kind::Allocation, 0);
  objects.memory.add(0x2000, 0x200, DeviceMemoryMap::Kind::Allocation, 1);
  const uint32_t m0 = objects.modules.insert({fake_module(1), 0, {}, 1000});
  const uint32_t m1 = objects.modules.insert({fake_module(2), 1, {}, 3000});
  const uint64_t s0 = objects.streams.insert({fake_stream(1), 0});
  const uint64_t s1 = objects.streams.insert({fake_stream(2), 1});
  const uint32_t e1 = objects.events.insert({nullptr, 1});
  const uint32_t f1 = objects.functions.insert({nullptr, fake_module(2), 1, {}, 0});

  REQUIRE(objects.forget_device(1) == 0x200 + 3000);
  REQUIRE(objects.modules.find(m1) == nullptr);
  REQUIRE(objects.streams.find(s1) == nullptr);
  REQUIRE(objects.events.find(e1) == nullptr);
  REQUIRE(objects.functions.find(f1) == nullptr);
  REQUIRE_FALSE(objects.memory.contains(0x2000, 1));
  REQUIRE(objects.modules.find(m0) != nullptr);
  REQUIRE(objects.streams.find(s0) != nullptr);
  REQUIRE(objects.memory.contains(0x1000, 0x100));
}
