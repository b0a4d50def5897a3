// Single-producer/single-consumer byte ring over shared memory.
//
// Each side keeps its own position privately and only *reads* the other side's index from
// shared memory, checking it every time: a peer that writes garbage into an index gets
// RingError::CorruptIndex, never an out-of-bounds access or an endless wait. Data is copied
// with wrap-around, so a record may straddle the end of the data area.
//
// Publication is batched: a producer may write() several records and publish() once.
#pragma once
#include <cstdint>
#include <span>

#include "vgpu/protocol/channel_layout.h"
#include "vgpu/common/result.h"

namespace vgpu::proto {

enum class RingError {
  CorruptIndex,  // the peer's index is impossible (ahead of data, or more than capacity apart)
};
const char* ring_error_message(RingError e);

// Up to two pieces of the data area that together hold a contiguous run of ring bytes.
struct RingSegments {
  std::span<uint8_t> first;
  std::span<uint8_t> second;
  uint64_t size() const { return first.size() + second.size(); }
};

class RingProducer {
 public:
  RingProducer() = default;
  // capacity must be a power of two (validate_geometry checked it).
  RingProducer(RingControl* control, uint8_t* data, uint64_t capacity);

  // Bytes that can be written now without overwriting unconsumed data (reads the consumer's
  // head).
  Result<uint64_t, RingError> free_space() const;
  // Whether `bytes` can be written now. Reads the consumer's head only when the head it read
  // last does not leave room: head only grows, so an old value is a safe lower bound, and
  // leaving the consumer's cache line alone saves a cache-line transfer on every message.
  Result<bool, RingError> has_room(uint64_t bytes);

  // Copies len bytes at the write position. The caller checked free_space() first.
  void write(const void* src, uint64_t len);
  // The next len bytes after the write position, to fill in place; then advance(len).
  RingSegments reserve(uint64_t len);
  void advance(uint64_t len) { pending_tail_ += len; }

  // Makes everything written so far visible to the consumer.
  void publish();
  // Whether the consumer said it is about to sleep (then the producer rings its doorbell).
  bool consumer_waiting() const;

  uint64_t capacity() const { return capacity_; }
  uint64_t pending_tail() const { return pending_tail_; }

 private:
  RingControl* control_ = nullptr;
  uint8_t* data_ = nullptr;
  uint64_t capacity_ = 0;
  uint64_t pending_tail_ = 0;  // written, maybe not yet published
  uint64_t known_head_ = 0;    // the consumer's head as last read (and checked)
};

class RingConsumer {
 public:
  RingConsumer() = default;
  RingConsumer(RingControl* control, uint8_t* data, uint64_t capacity);

  // Bytes published by the producer and not yet consumed.
  Result<uint64_t, RingError> available() const;

  // Copies len bytes starting offset bytes past the read position. Caller checked available().
  void read(void* dst, uint64_t len, uint64_t offset = 0) const;
  // The next len bytes at the read position, in place (for DMA straight from the ring).
  RingSegments peek(uint64_t len) const;
  // Starts moving the next len bytes at the read position into this core's cache (the
  // producer wrote them on another core), so that a read() later does not stall on them.
  // Caller checked available(). A hint only: nothing is read.
  void prefetch(uint64_t len) const;

  // Frees len bytes for the producer.
  void consume(uint64_t len);

  // Consumer-side sleep protocol: set_waiting(true), re-check available(), then block.
  void set_waiting(bool waiting);

  uint64_t capacity() const { return capacity_; }
  uint64_t head() const { return head_; }

 private:
  RingSegments segments_at(uint64_t position, uint64_t len) const;

  RingControl* control_ = nullptr;
  uint8_t* data_ = nullptr;
  uint64_t capacity_ = 0;
  uint64_t head_ = 0;
};

}  // namespace vgpu::proto
