#include "vgpud/mediator/mediator.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "vgpu/common/corpus_recorder.h"
#include "vgpu/protocol/limits.h"
#include "vgpu/protocol/messages.h"
#include "vgpud/log/channel_log.h"
#include "vgpud/log/log.h"
#include "vgpud/mediator/parse.h"

namespace vgpud {

namespace {
// How much of what follows a message is prefetched: a launch with its arguments, or two.
constexpr uint64_t kPrefetchBytes = 256;
}  // namespace

ChannelMediator::ChannelMediator(MediatorSetup setup)
    : setup_(std::move(setup)), submit_(&setup_.header->submit, setup_.submit_data, setup_.submit_size) {
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  message_.reserve(vgpu::limits::kMaxMessageSize);
}

ChannelMediator::~ChannelMediator() {
  if (stop_fd_ >= 0) close(stop_fd_);
}

void ChannelMediator::finish_reason(const std::string& reason) {
  std::lock_guard lock(reason_mutex_);
  if (exit_reason_.empty()) exit_reason_ = reason;
}

void ChannelMediator::end(const std::string& reason) {
  finish_reason(reason);
  ended_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(stop_fd_, &one, sizeof one);
}

std::string ChannelMediator::exit_reason() const {
  std::lock_guard lock(reason_mutex_);
  return exit_reason_;
}

bool ChannelMediator::finish(const std::string& reason) {
  finish_reason(reason);
  if (!finished_) {
    finished_ = true;
    if (setup_.on_exit) setup_.on_exit();
  }
  return false;
}

bool ChannelMediator::next(Request* out) {
  if (finished_) return false;
  std::optional<std::chrono::steady_clock::time_point> idle_since;
  for (;;) {
    if (ended_.load(std::memory_order_acquire)) return finish("channel ended");
    switch (take_message(out)) {
      case Take::Request: return true;
      case Take::Broken: return finish("channel broken");  // take_message recorded why
      case Take::Empty: break;
    }
    // Spin a little while the ring is empty: the next call is often microseconds away (the
    // guest sends it right after the reply it waited for). No pause: vgpu/common/cpu_relax.h.
    const auto now = std::chrono::steady_clock::now();
    if (!idle_since) idle_since = now;
    if (now - *idle_since < setup_.spin) continue;
    if (!sleep_until_doorbell()) return finish("channel ended");
    idle_since.reset();
  }
}

bool ChannelMediator::sleep_until_doorbell() {
  submit_.set_waiting(true);
  // Look once more after announcing the sleep: a message published before the guest saw the
  // flag would otherwise wait for the next doorbell.
  auto ready = submit_.available();
  if (!ready || *ready > 0) {
    submit_.set_waiting(false);
    return true;
  }
  pollfd fds[3] = {{setup_.peer_fd, POLLIN | POLLRDHUP, 0},
                   {stop_fd_, POLLIN, 0},
                   {setup_.doorbell_fd, POLLIN, 0}};
  // The timeout only bounds how long a lost wake-up could cost; it is not a poll interval.
  const int n = poll(fds, 3, 1000);
  submit_.set_waiting(false);
  if (n < 0) return true;
  if (fds[1].revents & POLLIN) return false;  // end(): the reason is recorded
  if (fds[0].revents & (POLLHUP | POLLRDHUP | POLLERR | POLLIN)) {
    finish_reason("guest process disconnected");
    return false;
  }
  if (fds[2].revents & POLLIN) {
    uint64_t count;
    if (read(setup_.doorbell_fd, &count, sizeof count) == sizeof count)
      setup_.counters->doorbells.fetch_add(count, std::memory_order_relaxed);
  }
  return true;
}

Request ChannelMediator::reject(const proto::RequestHeader& h, int32_t status, const char* why) {
  HopCounters::bump(setup_.counters->rejected);
  // The guest can send rejectable messages as fast as the ring takes them: the counter counts
  // each one, the log only as many as the channel's rate limit lets through (channel_log.h).
  // `why` and the call's name are vgpud's own strings, never the guest's.
  log::guest_warn(log::mediator(), "vm={} seq={} call={} rejected: {}", setup_.name, h.seq,
                  proto::call_name(h.call), why);
  // The executor answers it like any call, so replies stay in request order.
  return Request{static_cast<proto::CallId>(h.call), h.flags, h.seq, RejectedCmd{status}};
}

// The submit ring's indices as fuzz_ring takes them: head, tail, bytes wanted.
void ChannelMediator::record_ring_indices([[maybe_unused]] uint64_t ready,
                                          [[maybe_unused]] uint64_t wanted) const {
#ifdef VGPU_CORPUS_RECORDER
  const uint64_t indices[3] = {submit_.head(), submit_.head() + ready, wanted};
  vgpu::corpus::record("ring", std::span(reinterpret_cast<const uint8_t*>(indices), sizeof indices));
#endif
}

ChannelMediator::Take ChannelMediator::take_message(Request* out) {
  auto& logger = log::mediator();
  auto ready = submit_.available();
  if (!ready) {
    finish_reason("submit ring index corrupted by the guest");
    logger.warn("vm={} channel closed: {}", setup_.name, exit_reason());
    return Take::Broken;
  }
  if (*ready < sizeof(proto::RequestHeader)) return Take::Empty;

  // The one read of guest memory for this message: header first (for the size), then the
  // rest, each byte copied exactly once into message_.
  message_.resize(sizeof(proto::RequestHeader));
  submit_.read(message_.data(), sizeof(proto::RequestHeader));
  auto header = parse_header(message_);
  if (!header || proto::padded_size(header->size) > *ready) {
    // Without a trustworthy size the stream of messages cannot be resynchronized.
    finish_reason(std::string("malformed message header: ") +
                  (header ? "size beyond the published data" : parse_error_message(header.error())));
    logger.warn("vm={} channel closed: {}", setup_.name, exit_reason());
    HopCounters::bump(setup_.counters->rejected);
    return Take::Broken;
  }
  const uint32_t size = header->size;
  record_ring_indices(*ready, proto::padded_size(size));
  message_.resize(size);
  submit_.read(message_.data() + sizeof(proto::RequestHeader),
               size - sizeof(proto::RequestHeader), sizeof(proto::RequestHeader));
  submit_.consume(proto::padded_size(size));
  // The guest often has the next calls published already (launches come faster than the
  // driver takes them): their first bytes travel to this core while this one runs.
  if (const uint64_t after = *ready - proto::padded_size(size); after > 0)
    submit_.prefetch(std::min<uint64_t>(after, kPrefetchBytes));
  vgpu::corpus::record("parse_request", message_);
  HopCounters::bump(setup_.counters->received);

  auto request = parse_request(message_);
  if (!request) {
    *out = reject(*header, parse_error_status(request.error()), parse_error_message(request.error()));
    return Take::Request;
  }
  if (logger.should_log(spdlog::level::debug))
    logger.debug("vm={} seq={} call={} received size={} validated dispatched", setup_.name,
                 request->seq, proto::call_name(request->call), size);
  HopCounters::bump(setup_.counters->dispatched);
  *out = std::move(request).value();
  return Take::Request;
}

}  // namespace vgpud
