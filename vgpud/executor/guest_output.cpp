#include "vgpud/executor/guest_output.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>

namespace vgpud {

namespace {

// A reading guest frees room within microseconds to milliseconds; 5 s also leaves room for a
// guest descheduled on a loaded host. Fixed (docs/protocol.md §3).
constexpr std::chrono::seconds kGuestStallLimit{5};
// The naps between looks: a quarter of the time waited so far, within these bounds: at most
// a quarter more latency on a copy, and 250 wake-ups a second (under 1 % of a CPU) for a
// guest that does not read.
constexpr std::chrono::microseconds kMinNap{50};
constexpr std::chrono::microseconds kMaxNap{4000};

void signal_eventfd(int fd) {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(fd, &one, sizeof one);
}

}  // namespace

GuestOutput::GuestOutput(uint8_t* region, const proto::ChannelGeometry& geometry, int notify_fd)
    : header_(reinterpret_cast<proto::ChannelHeader*>(region)),
      reply_(&header_->reply, region + geometry.reply.offset, geometry.reply.size),
      download_(&header_->download, region + geometry.download.offset, geometry.download.size),
      notify_fd_(notify_fd),
      // Without it, waits sleep their naps in full instead of ending at once on stop.
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

GuestOutput::~GuestOutput() {
  if (wake_fd_ >= 0) close(wake_fd_);
}

void GuestOutput::stop() {
  stopped_.store(true, std::memory_order_release);
  // Never read back: once stopped, every later wait ends at once too.
  signal_eventfd(wake_fd_);
}

void GuestOutput::close_for_guest() {
  header_->host_closed.store(1, std::memory_order_release);
  signal_eventfd(notify_fd_);
}

std::string GuestOutput::failure(Room room, const char* ring) {
  if (room == Room::Corrupt) return std::string(ring) + " ring index corrupted by the guest";
  return "the guest made no room in its " + std::string(ring) + " ring for " +
         std::to_string(kGuestStallLimit.count()) + " s: it stopped reading";
}

GuestOutput::Room GuestOutput::wait_for_room(const std::atomic<uint64_t>& consumer_head,
                                             const std::function<std::optional<bool>()>& room) {
  using Clock = std::chrono::steady_clock;
  // The head is the guest's to write: only ever compared with itself, to see it move.
  uint64_t head = consumer_head.load(std::memory_order_acquire);
  auto progress_at = Clock::now();
  for (;;) {
    const std::optional<bool> there = room();
    if (!there) return Room::Corrupt;
    if (*there) return Room::Ready;
    if (stopped_.load(std::memory_order_acquire)) return Room::Stopped;
    const auto now = Clock::now();
    if (const uint64_t h = consumer_head.load(std::memory_order_acquire); h != head) {
      head = h;
      progress_at = now;
    }
    const auto stalled = now - progress_at;
    if (stalled >= kGuestStallLimit) return Room::Stalled;
    const auto nap = std::clamp(std::chrono::duration_cast<std::chrono::microseconds>(stalled / 4),
                                kMinNap, kMaxNap);
    const timespec ts{0, static_cast<long>(std::chrono::nanoseconds(nap).count())};
    pollfd wake{wake_fd_, POLLIN, 0};
    ppoll(&wake, 1, &ts, nullptr);
  }
}

GuestOutput::Room GuestOutput::write_reply(const proto::ReplyHeader& header,
                                           std::span<const uint8_t> payload) {
  const uint32_t padded = proto::padded_size(header.size);
  const Room room = wait_for_room(header_->reply.head, [&]() -> std::optional<bool> {
    auto r = reply_.has_room(padded);
    if (!r) return std::nullopt;
    return *r;
  });
  if (room != Room::Ready) return room;
  reply_.write(&header, sizeof header);
  reply_.write(payload.data(), payload.size());
  static constexpr uint8_t kZeros[proto::kMessageAlignment] = {};
  reply_.write(kZeros, padded - header.size);
  reply_.publish();
  wake_guest_if_waiting();
  return Room::Ready;
}

GuestOutput::Room GuestOutput::reserve_download(uint64_t size, proto::RingSegments* out) {
  const Room room = wait_for_room(header_->download.head, [&]() -> std::optional<bool> {
    auto r = download_.has_room(size);
    if (!r) return std::nullopt;
    return *r;
  });
  if (room == Room::Ready) *out = download_.reserve(size);
  return room;
}

void GuestOutput::publish_download(uint64_t size) {
  download_.advance(size);
  download_.publish();
  wake_guest_if_waiting();
}

void GuestOutput::wake_guest_if_waiting() {
  if (reply_.consumer_waiting() ||
      header_->download.consumer_waiting.load(std::memory_order_seq_cst) != 0)
    signal_eventfd(notify_fd_);
}

}  // namespace vgpud
