#include "vgpu/protocol/ring.h"

#include <cstring>

namespace vgpu::proto {

const char* ring_error_message(RingError e) {
  switch (e) {
    case RingError::CorruptIndex: return "ring index written by the peer is impossible";
  }
  return "unknown ring error";
}

namespace {

RingSegments split(uint8_t* data, uint64_t capacity, uint64_t position, uint64_t len) {
  const uint64_t start = position & (capacity - 1);
  const uint64_t first = std::min(len, capacity - start);
  return RingSegments{std::span<uint8_t>(data + start, first),
                      std::span<uint8_t>(data, len - first)};
}

}  // namespace

RingProducer::RingProducer(RingControl* control, uint8_t* data, uint64_t capacity)
    : control_(control), data_(data), capacity_(capacity) {
  pending_tail_ = control_->tail.load(std::memory_order_relaxed);
  // Checked like any head the first time has_room() finds it does not leave room.
  known_head_ = control_->head.load(std::memory_order_acquire);
}

Result<uint64_t, RingError> RingProducer::free_space() const {
  const uint64_t head = control_->head.load(std::memory_order_acquire);
  const uint64_t used = pending_tail_ - head;  // wraps to a huge value if head > tail
  if (used > capacity_) return Err{RingError::CorruptIndex};
  return capacity_ - used;
}

Result<bool, RingError> RingProducer::has_room(uint64_t bytes) {
  const uint64_t used = pending_tail_ - known_head_;
  if (used <= capacity_ && capacity_ - used >= bytes) return true;
  auto free = free_space();
  if (!free) return Err{free.error()};
  known_head_ = pending_tail_ - (capacity_ - *free);
  return *free >= bytes;
}

RingSegments RingProducer::reserve(uint64_t len) {
  return split(data_, capacity_, pending_tail_, len);
}

void RingProducer::write(const void* src, uint64_t len) {
  if (len == 0) return;  // src may be null for an empty payload; memcpy must not see it
  const RingSegments seg = reserve(len);
  std::memcpy(seg.first.data(), src, seg.first.size());
  if (!seg.second.empty())
    std::memcpy(seg.second.data(), static_cast<const uint8_t*>(src) + seg.first.size(),
                seg.second.size());
  pending_tail_ += len;
}

void RingProducer::publish() {
  // seq_cst pairs with the consumer's set_waiting(): either the consumer sees the new tail
  // before it sleeps, or we see its waiting flag and ring the doorbell.
  control_->tail.store(pending_tail_, std::memory_order_seq_cst);
}

bool RingProducer::consumer_waiting() const {
  return control_->consumer_waiting.load(std::memory_order_seq_cst) != 0;
}

RingConsumer::RingConsumer(RingControl* control, uint8_t* data, uint64_t capacity)
    : control_(control), data_(data), capacity_(capacity) {
  head_ = control_->head.load(std::memory_order_relaxed);
}

Result<uint64_t, RingError> RingConsumer::available() const {
  const uint64_t tail = control_->tail.load(std::memory_order_acquire);
  const uint64_t ready = tail - head_;  // wraps to a huge value if tail < head
  if (ready > capacity_) return Err{RingError::CorruptIndex};
  return ready;
}

RingSegments RingConsumer::segments_at(uint64_t position, uint64_t len) const {
  return split(data_, capacity_, position, len);
}

void RingConsumer::read(void* dst, uint64_t len, uint64_t offset) const {
  if (len == 0) return;  // dst may be null for an empty buffer
  const RingSegments seg = segments_at(head_ + offset, len);
  std::memcpy(dst, seg.first.data(), seg.first.size());
  if (!seg.second.empty())
    std::memcpy(static_cast<uint8_t*>(dst) + seg.first.size(), seg.second.data(),
                seg.second.size());
}

RingSegments RingConsumer::peek(uint64_t len) const { return segments_at(head_, len); }

void RingConsumer::prefetch(uint64_t len) const {
  constexpr uint64_t kLine = 64;
  const RingSegments seg = segments_at(head_, len);
  for (const std::span<uint8_t> part : {seg.first, seg.second})
    for (uint64_t at = 0; at < part.size(); at += kLine) __builtin_prefetch(part.data() + at);
}

void RingConsumer::consume(uint64_t len) {
  head_ += len;
  control_->head.store(head_, std::memory_order_release);
}

void RingConsumer::set_waiting(bool waiting) {
  control_->consumer_waiting.store(waiting ? 1 : 0, std::memory_order_seq_cst);
}

}  // namespace vgpu::proto
