#include "vgpud/request/work_queue.h"

#include <poll.h>

#include <catch2/catch.hpp>
#include <chrono>

using vgpud::Request;
using vgpud::WorkQueue;

namespace {

Request ping(uint64_t seq) { return Request{vgpu::proto::CallId::Ping, 0, seq, vgpud::PingCmd{}}; }

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

}  // namespace

TEST_CASE("the work queue is bounded by count", "[work_queue]") {
  WorkQueue q;
  uint64_t pushed = 0;
  while (q.has_room()) REQUIRE(q.push(ping(++pushed), 16));
  REQUIRE(pushed == WorkQueue::kCapacity);
  REQUIRE_FALSE(q.push(ping(0), 16));
}

TEST_CASE("the work queue is bounded by bytes, overshooting by one message at most",
          "[work_queue]") {
  WorkQueue q;
  constexpr uint32_t kMessage = 32 * 1024 + 40;  // an inline copy of 32 KiB
  uint64_t pushed = 0;
  while (q.has_room()) REQUIRE(q.push(ping(++pushed), kMessage));
  REQUIRE(pushed * kMessage >= WorkQueue::kByteCapacity);
  REQUIRE(pushed * kMessage < WorkQueue::kByteCapacity + kMessage);
  REQUIRE(pushed < WorkQueue::kCapacity);
}

TEST_CASE("a mediator waiting on a full queue is woken once the executor emptied half of it",
          "[work_queue]") {
  WorkQueue q;
  uint64_t pushed = 0;
  while (q.has_room()) REQUIRE(q.push(ping(++pushed), 16));
  REQUIRE(q.prepare_to_wait_for_room());  // full: the mediator may sleep
  Request r;
  uint64_t popped = 0;
  while (!readable(q.room_fd())) {
    REQUIRE(q.pop(&r, std::chrono::microseconds(0)));
    ++popped;
    REQUIRE(popped <= WorkQueue::kCapacity / 2);
  }
  REQUIRE(pushed - popped == WorkQueue::kCapacity / 2);
  q.end_wait_for_room();
  REQUIRE_FALSE(readable(q.room_fd()));
  REQUIRE(q.has_room());

  // Room after all: the mediator is told not to sleep, and nobody writes the eventfd.
  REQUIRE_FALSE(q.prepare_to_wait_for_room());
  REQUIRE(q.pop(&r, std::chrono::microseconds(0)));
  REQUIRE_FALSE(readable(q.room_fd()));

  REQUIRE_FALSE(q.producer_stopped());
  q.stop_producer();  // the executor gave up on the channel
  REQUIRE(readable(q.room_fd()));
  REQUIRE(q.producer_stopped());
}
