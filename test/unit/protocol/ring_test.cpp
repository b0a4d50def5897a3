#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <numeric>
#include <vector>

#include "vgpu/protocol/ring.h"

using namespace vgpu::proto;

namespace {

struct TestRing {
  explicit TestRing(uint64_t capacity) : data(capacity, 0), producer(&control, data.data(), capacity),
                                         consumer(&control, data.data(), capacity) {}
  RingControl control{};
  std::vector<uint8_t> data;
  RingProducer producer;
  RingConsumer consumer;
};

}  // namespace

TEST_CASE("ring carries bytes in order across the wrap", "[ring]") {
  TestRing r(64);
  std::vector<uint8_t> out(48);
  for (int round = 0; round < 10; ++round) {
    std::vector<uint8_t> in(48);
    std::iota(in.begin(), in.end(), static_cast<uint8_t>(round * 7));
    REQUIRE(*r.producer.free_space() >= 48);
    r.producer.write(in.data(), in.size());
    // Nothing is visible before publish.
    REQUIRE(*r.consumer.available() == 0);
    r.producer.publish();
    REQUIRE(*r.consumer.available() == 48);
    r.consumer.read(out.data(), out.size());
    REQUIRE(out == in);
    r.consumer.consume(48);
    REQUIRE(*r.consumer.available() == 0);
  }
}

TEST_CASE("ring batches several records into one publication", "[ring]") {
  TestRing r(4096);
  const uint32_t a = 0x11111111, b = 0x22222222;
  r.producer.write(&a, 4);
  r.producer.write(&b, 4);
  REQUIRE(*r.consumer.available() == 0);
  r.producer.publish();
  REQUIRE(*r.consumer.available() == 8);
  uint32_t got = 0;
  r.consumer.read(&got, 4, 4);
  REQUIRE(got == b);
}

TEST_CASE("ring free space accounts for unconsumed data", "[ring]") {
  TestRing r(128);
  std::vector<uint8_t> in(100, 1);
  r.producer.write(in.data(), in.size());
  r.producer.publish();
  REQUIRE(*r.producer.free_space() == 28);
  r.consumer.consume(60);
  REQUIRE(*r.producer.free_space() == 88);
}

TEST_CASE("a producer tail beyond capacity is reported, not followed", "[ring][hostile]") {
  TestRing r(256);
  r.control.tail.store(257);  // peer claims more than the ring can hold
  REQUIRE_FALSE(r.consumer.available().ok());
  REQUIRE(r.consumer.available().error() == RingError::CorruptIndex);
  r.control.tail.store(~0ull);  // wraps "behind" head
  REQUIRE_FALSE(r.consumer.available().ok());
}

TEST_CASE("a consumer head ahead of the producer is reported", "[ring][hostile]") {
  TestRing r(256);
  r.control.head.store(10);  // consumer claims to have read unwritten data
  REQUIRE_FALSE(r.producer.free_space().ok());
  r.control.head.store(0);
  REQUIRE(*r.producer.free_space() == 256);
}

TEST_CASE("peek returns both pieces of a wrapped run", "[ring]") {
  TestRing r(64);
  std::vector<uint8_t> pad(40, 0);
  r.producer.write(pad.data(), pad.size());
  r.producer.publish();
  r.consumer.consume(40);
  std::vector<uint8_t> in(40);
  std::iota(in.begin(), in.end(), 0);
  r.producer.write(in.data(), in.size());
  r.producer.publish();
  RingSegments seg = r.consumer.peek(40);
  REQUIRE(seg.first.size() == 24);
  REQUIRE(seg.second.size() == 16);
  REQUIRE(seg.first[0] == 0);
  REQUIRE(seg.second[0] == 24);
}

TEST_CASE("prefetch across the wrap neither reads nor moves anything", "[ring]") {
  TestRing r(64);
  std::vector<uint8_t> skip(40, 0);
  r.producer.write(skip.data(), skip.size());
  r.producer.publish();
  r.consumer.consume(40);
  std::vector<uint8_t> in(48);
  std::iota(in.begin(), in.end(), static_cast<uint8_t>(1));
  r.producer.write(in.data(), in.size());  // 24 bytes at the end, 24 at the start
  r.producer.publish();
  r.consumer.prefetch(48);
  REQUIRE(r.consumer.head() == 40);
  REQUIRE(*r.consumer.available() == 48);
  std::vector<uint8_t> out(48);
  r.consumer.read(out.data(), out.size());
  REQUIRE(out == in);
}

TEST_CASE("has_room reads the consumer's head only when the last one read leaves no room",
          "[ring]") {
  TestRing r(128);
  std::vector<uint8_t> in(100, 1);
  REQUIRE(*r.producer.has_room(100));
  r.producer.write(in.data(), in.size());
  r.producer.publish();
  REQUIRE(*r.producer.has_room(28));
  REQUIRE_FALSE(*r.producer.has_room(29));  // reads the head: nothing consumed
  r.consumer.consume(60);
  REQUIRE(*r.producer.has_room(88));  // reads the head again: 60 bytes came back
  // A head that moved backwards is still a lower bound: nothing is read while it leaves room.
  r.control.head.store(0);
  REQUIRE(*r.producer.has_room(88));
}

TEST_CASE("has_room reports an impossible head when it reads one", "[ring][hostile]") {
  TestRing r(256);
  std::vector<uint8_t> in(200, 1);
  r.producer.write(in.data(), in.size());
  r.producer.publish();
  r.control.head.store(300);  // consumed more than was ever written
  REQUIRE(*r.producer.has_room(56));  // the last head read (0) still leaves room
  REQUIRE_FALSE(r.producer.has_room(57).ok());
  REQUIRE(r.producer.has_room(57).error() == RingError::CorruptIndex);
}
