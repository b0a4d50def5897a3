// The hand-off from a channel's mediator thread (the one producer) to its executor thread
// (the one consumer): a fixed ring of validated requests, lock-free.
//
// Every call crosses it, so it costs one cache-line transfer each way and nothing more: no
// mutex the two threads would fight over while both are busy. The executor spins briefly
// when it runs dry (the next call is often microseconds away), then sleeps on a futex
// (std::atomic::wait); the mediator wakes it only when it said it sleeps.
//
// Capacity is limits::kMaxInFlightCalls: the mediator checks has_room() before it takes a
// message out of the guest's ring, so push() never finds the ring full.
#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include "vgpu/protocol/limits.h"
#include "vgpud/mediator/request.h"

namespace vgpud {

class WorkQueue {
 public:
  static constexpr uint64_t kCapacity = vgpu::limits::kMaxInFlightCalls;

  WorkQueue() : slots_(std::make_unique<std::array<Request, kCapacity>>()) {}

  // The mediator's side. False (and nothing queued) only if the ring is full, which the
  // has_room() check before taking a message rules out.
  // The mediator's side: whether a request can be pushed now. Reads the executor's head only
  // when the one read last says full (as RingProducer::has_room), so checking costs no
  // cache-line transfer per message.
  bool has_room() {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - known_head_ < kCapacity) return true;
    known_head_ = head_.load(std::memory_order_acquire);
    return tail - known_head_ < kCapacity;
  }

  [[nodiscard]] bool push(Request r) {
    if (!has_room()) return false;
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    (*slots_)[tail % kCapacity] = std::move(r);
    tail_.store(tail + 1, std::memory_order_seq_cst);
    if (consumer_sleeping_.load(std::memory_order_seq_cst)) wake();
    return true;
  }

  // The executor's side: the next request; false once closed and drained.
  bool pop(Request* out, std::chrono::microseconds spin) {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    uint64_t tail = tail_.load(std::memory_order_acquire);
    if (tail == head) tail = wait_for_more(head, spin);
    if (tail == head) return false;  // closed
    Request& slot = (*slots_)[head % kCapacity];
    *out = std::move(slot);
    slot = Request{};  // drop what the moved-from request still holds
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // The executor's side: the request pop() gave has been executed.
  void mark_done() { done_.store(done_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }
  // Every pushed request executed (the mediator asks: while the executor works, a reply and
  // then the guest's next call are coming, so it keeps polling instead of sleeping).
  bool all_done() const {
    return done_.load(std::memory_order_acquire) == tail_.load(std::memory_order_relaxed);
  }

  // No more pushes; pop() drains what is queued, then returns false.
  void close() {
    closed_.store(true, std::memory_order_seq_cst);
    wake();
  }

 private:
  // Spins, then sleeps until the tail moves past `head` or the queue closes; returns the tail.
  uint64_t wait_for_more(uint64_t head, std::chrono::microseconds spin) {
    const auto until = std::chrono::steady_clock::now() + spin;
    for (;;) {
      uint64_t tail = tail_.load(std::memory_order_acquire);
      if (tail != head) return tail;
      if (closed_.load(std::memory_order_acquire)) {
        tail = tail_.load(std::memory_order_acquire);  // a last push before close
        return tail;
      }
      if (std::chrono::steady_clock::now() < until) continue;  // no pause: vgpu/cpu_relax.h
      // Announce the sleep, then look again: a push that missed the flag is seen here, and
      // one that saw it has moved wake_ past `ticket`, so the wait returns at once.
      const uint32_t ticket = wake_.load(std::memory_order_seq_cst);
      consumer_sleeping_.store(true, std::memory_order_seq_cst);
      tail = tail_.load(std::memory_order_seq_cst);
      if (tail == head && !closed_.load(std::memory_order_seq_cst)) wake_.wait(ticket);
      consumer_sleeping_.store(false, std::memory_order_relaxed);
    }
  }

  void wake() {
    wake_.fetch_add(1, std::memory_order_seq_cst);
    wake_.notify_one();
  }

  std::unique_ptr<std::array<Request, kCapacity>> slots_;
  alignas(64) std::atomic<uint64_t> head_{0};  // written by the executor
  alignas(64) std::atomic<uint64_t> tail_{0};  // written by the mediator
  uint64_t known_head_ = 0;                     // the mediator's last read of head_
  alignas(64) std::atomic<uint64_t> done_{0};  // written by the executor after each request
  alignas(64) std::atomic<bool> consumer_sleeping_{false};
  std::atomic<bool> closed_{false};
  std::atomic<uint32_t> wake_{0};  // what a sleeping executor waits on (a futex)
};

}  // namespace vgpud
