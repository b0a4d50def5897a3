// The hand-off from a channel's mediator thread (the one producer) to its executor thread
// (the one consumer): a fixed ring of validated requests, lock-free.
//
// Every call crosses it, so it costs one cache-line transfer each way and nothing more: no
// mutex the two threads would fight over while both are busy. The executor spins briefly
// when it runs dry (the next call is often microseconds away), then sleeps on a futex
// (std::atomic::wait); the mediator wakes it only when it said it sleeps.
//
// Bounds: kCapacity requests (limits::kMaxInFlightCalls) and kByteCapacity bytes of their
// messages (limits::kMaxInFlightBytes; a request is taken while fewer are queued, so one
// message may go past it). The mediator checks has_room() before it takes a message out of the
// guest's ring, so push() never finds the queue full; the rest waits in the guest's ring, which
// back-pressures the guest.
//
// When there is no room the mediator sleeps on room_fd() (an eventfd), never polls: the
// executor may be inside a kernel for seconds. It says so first (producer_waiting_), and the
// executor writes room_fd() once it has emptied the queue to half of both bounds, so that a
// slow executor wakes the mediator once per half queue, not once per request.
#pragma once
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include "vgpu/protocol/limits.h"
#include "vgpud/request/request.h"

namespace vgpud {

class WorkQueue {
 public:
  static constexpr uint64_t kCapacity = vgpu::limits::kMaxInFlightCalls;
  static constexpr uint64_t kByteCapacity = vgpu::limits::kMaxInFlightBytes;

  WorkQueue()
      : slots_(std::make_unique<std::array<Slot, kCapacity>>()),
        room_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~WorkQueue() {
    if (room_fd_ >= 0) ::close(room_fd_);
  }
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // The mediator's side: whether a request can be pushed now. Reads the executor's indices
  // only when the ones read last say full (as RingProducer::has_room), so checking costs no
  // cache-line transfer per message.
  bool has_room() {
    if (fits()) return true;
    known_head_ = head_.load(std::memory_order_acquire);
    known_bytes_out_ = bytes_out_.load(std::memory_order_acquire);
    return fits();
  }

  // The mediator's side: queues a request whose message was `bytes` long. False (and nothing
  // queued) only if the queue is full, which the has_room() check before taking a message
  // rules out.
  [[nodiscard]] bool push(Request r, uint32_t bytes) {
    if (!has_room()) return false;
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    Slot& slot = (*slots_)[tail % kCapacity];
    slot.request = std::move(r);
    slot.bytes = bytes;
    bytes_in_.store(bytes_in_.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
    tail_.store(tail + 1, std::memory_order_seq_cst);
    if (consumer_sleeping_.load(std::memory_order_seq_cst)) wake();
    return true;
  }

  // The mediator's side, after has_room() said no: announces that it is about to sleep on
  // room_fd() and looks once more. False when there is room after all (then it must not sleep).
  bool prepare_to_wait_for_room() {
    producer_waiting_.store(true, std::memory_order_seq_cst);
    // seq_cst against pop(): either this sees the head it moved, or pop() sees the flag.
    known_head_ = head_.load(std::memory_order_seq_cst);
    known_bytes_out_ = bytes_out_.load(std::memory_order_acquire);
    if (!fits()) return true;
    producer_waiting_.store(false, std::memory_order_relaxed);
    return false;
  }
  // Readable when the mediator should look at the queue (and the executor) again.
  int room_fd() const { return room_fd_; }
  // The mediator's side, after it woke: clears the flag and the eventfd.
  void end_wait_for_room() {
    producer_waiting_.store(false, std::memory_order_relaxed);
    clear_room_fd();
  }
  void clear_room_fd() {
    uint64_t count;
    [[maybe_unused]] ssize_t n = read(room_fd_, &count, sizeof count);
  }
  // The executor gave up on the channel (the guest corrupted a data ring, or stopped reading
  // what vgpud writes): the mediator stops taking messages, woken at once if it sleeps on a
  // full queue.
  void stop_producer() {
    producer_stopped_.store(true, std::memory_order_release);
    signal_room();
  }
  bool producer_stopped() const { return producer_stopped_.load(std::memory_order_acquire); }

  // The executor's side: the next request; false once closed and drained.
  bool pop(Request* out, std::chrono::microseconds spin) {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    uint64_t tail = tail_.load(std::memory_order_acquire);
    if (tail == head) tail = wait_for_more(head, spin);
    if (tail == head) return false;  // closed
    Slot& slot = (*slots_)[head % kCapacity];
    *out = std::move(slot.request);
    slot.request = Request{};  // drop what the moved-from request still holds
    const uint64_t bytes_out = bytes_out_.load(std::memory_order_relaxed) + slot.bytes;
    bytes_out_.store(bytes_out, std::memory_order_release);
    head_.store(head + 1, std::memory_order_seq_cst);
    if (producer_waiting_.load(std::memory_order_seq_cst) &&
        tail_.load(std::memory_order_acquire) - (head + 1) <= kCapacity / 2 &&
        bytes_in_.load(std::memory_order_acquire) - bytes_out <= kByteCapacity / 2 &&
        producer_waiting_.exchange(false, std::memory_order_seq_cst))
      signal_room();
    return true;
  }

  // The executor's side: the request pop() gave has been executed.
  void mark_done() {
    done_.store(done_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }
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
  struct Slot {
    Request request;
    uint32_t bytes = 0;
  };

  // By the mediator's last reads of the executor's indices.
  bool fits() const {
    return tail_.load(std::memory_order_relaxed) - known_head_ < kCapacity &&
           bytes_in_.load(std::memory_order_relaxed) - known_bytes_out_ < kByteCapacity;
  }

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
      if (std::chrono::steady_clock::now() < until) continue;  // no pause: vgpu/common/cpu_relax.h
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

  void signal_room() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(room_fd_, &one, sizeof one);
  }

  std::unique_ptr<std::array<Slot, kCapacity>> slots_;
  int room_fd_ = -1;
  alignas(64) std::atomic<uint64_t> head_{0};  // written by the executor
  std::atomic<uint64_t> bytes_out_{0};         // by the executor: message bytes popped
  alignas(64) std::atomic<uint64_t> tail_{0};  // written by the mediator
  std::atomic<uint64_t> bytes_in_{0};          // by the mediator: message bytes pushed
  uint64_t known_head_ = 0;                    // the mediator's last read of head_
  uint64_t known_bytes_out_ = 0;               // ... and of bytes_out_
  alignas(64) std::atomic<uint64_t> done_{0};  // written by the executor after each request
  alignas(64) std::atomic<bool> consumer_sleeping_{false};
  std::atomic<bool> closed_{false};
  std::atomic<bool> producer_stopped_{false};
  std::atomic<uint32_t> wake_{0};  // what a sleeping executor waits on (a futex)
  alignas(64) std::atomic<bool> producer_waiting_{false};  // the mediator sleeps on room_fd_
};

}  // namespace vgpud
