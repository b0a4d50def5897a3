#include "vgpud/mediator/mediator.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cassert>
#include <cstring>

#include "vgpu/common/corpus_recorder.h"
#include "vgpu/protocol/limits.h"
#include "vgpu/protocol/messages.h"
#include "vgpud/log/channel_log.h"
#include "vgpud/log/log.h"
#include "vgpud/mediator/parse.h"

namespace vgpud {

namespace {
// How long the mediator keeps polling while its executor is busy (the guest's shim spins as
// long for a reply before it sleeps, guest/client/channel.cpp).
constexpr std::chrono::microseconds kPollWhileExecuting{2000};
}  // namespace

ChannelMediator::ChannelMediator(MediatorSetup setup, WorkQueue& queue)
    : setup_(std::move(setup)),
      queue_(queue),
      submit_(&setup_.header->submit, setup_.submit_data, setup_.submit_size) {
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  message_.reserve(vgpu::limits::kMaxMessageSize);
}

ChannelMediator::~ChannelMediator() {
  stop();
  if (stop_fd_ >= 0) close(stop_fd_);
}

void ChannelMediator::start() { thread_ = std::thread([this] { run(); }); }

void ChannelMediator::stop() {
  stop_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(stop_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

std::string ChannelMediator::exit_reason() const {
  std::lock_guard lock(reason_mutex_);
  return exit_reason_;
}

void ChannelMediator::finish(std::string reason) {
  std::lock_guard lock(reason_mutex_);
  if (exit_reason_.empty()) exit_reason_ = std::move(reason);
}

void ChannelMediator::run() {
  auto idle_since = std::chrono::steady_clock::now();
  while (!stop_.load(std::memory_order_acquire)) {
    if (queue_.producer_stopped()) {
      finish("executor closed the channel");
      break;
    }
    const Step step = take_messages();
    if (step == Step::Broken) break;
    if (step == Step::Progress) {
      idle_since = std::chrono::steady_clock::now();
      continue;
    }
    if (!queue_.has_room()) {
      // The executor is far behind (a long kernel, a guest that does not read its replies):
      // the messages wait in the ring, and this thread sleeps until the executor makes room.
      if (!sleep_until_room()) break;
      idle_since = std::chrono::steady_clock::now();
      continue;
    }
    // Spin a little while the ring is empty: the next call is often microseconds away. While
    // the executor still works on this channel's calls, longer: the guest waits for a reply
    // and sends its next call right after it, so waking from a sleep would add to every call
    // that takes the driver a while (a large cudaMalloc, a synchronize).
    const auto idle = std::chrono::steady_clock::now() - idle_since;
    // (No pause in this loop: see vgpu/common/cpu_relax.h.)
    if (idle < setup_.spin || (idle < kPollWhileExecuting && !queue_.all_done()))
      continue;
    if (!sleep_until_doorbell()) break;
    idle_since = std::chrono::steady_clock::now();
  }
  if (setup_.on_exit) setup_.on_exit();
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
  short doorbell = 0;
  const bool go_on = sleep_on(setup_.doorbell_fd, &doorbell);
  submit_.set_waiting(false);
  if (go_on && (doorbell & POLLIN)) {
    uint64_t count;
    if (read(setup_.doorbell_fd, &count, sizeof count) == sizeof count)
      setup_.counters->doorbells.fetch_add(count, std::memory_order_relaxed);
  }
  return go_on;
}

bool ChannelMediator::sleep_until_room() {
  if (!queue_.prepare_to_wait_for_room()) return true;
  // room_fd is among the descriptors sleep_on() always polls.
  const bool go_on = sleep_on(-1, nullptr);
  queue_.end_wait_for_room();
  return go_on;
}

bool ChannelMediator::sleep_on(int fd, short* revents) {
  pollfd fds[4] = {{setup_.peer_fd, POLLIN | POLLRDHUP, 0},
                   {stop_fd_, POLLIN, 0},
                   {queue_.room_fd(), POLLIN, 0},
                   {fd, POLLIN, 0}};
  // The timeout only bounds how long a lost wake-up could cost; it is not a poll interval.
  const int n = poll(fds, fd >= 0 ? 4 : 3, 1000);
  if (n < 0) return true;
  if (fds[1].revents & POLLIN) return false;
  if (fds[0].revents & (POLLHUP | POLLRDHUP | POLLERR | POLLIN)) {
    finish("guest process disconnected");
    return false;
  }
  // The executor made room, or gave up on the channel (run() looks at both).
  if (fds[2].revents & POLLIN) queue_.clear_room_fd();
  if (revents != nullptr) *revents = fds[3].revents;
  return true;
}

void ChannelMediator::reject(const proto::RequestHeader& h, int32_t status, const char* why) {
  HopCounters::bump(setup_.counters->rejected);
  // The guest can send rejectable messages as fast as the ring takes them: the counter counts
  // each one, the log only as many as the channel's rate limit lets through (channel_log.h).
  // `why` and the call's name are vgpud's own strings, never the guest's.
  log::guest_warn(log::mediator(), "vm={} seq={} call={} rejected: {}", setup_.name, h.seq,
                  proto::call_name(h.call), why);
  // Rejections travel through the executor so replies stay in request order.
  hand_over(Request{static_cast<proto::CallId>(h.call), h.flags, h.seq, RejectedCmd{status}},
            h.size);
}

void ChannelMediator::hand_over(Request request, uint32_t bytes) {
  // take_messages() checked for room before taking the message out of the ring.
  [[maybe_unused]] const bool queued = queue_.push(std::move(request), bytes);
  assert(queued);
}

// The submit ring's indices as fuzz_ring takes them: head, tail, bytes wanted.
void ChannelMediator::record_ring_indices([[maybe_unused]] uint64_t ready,
                                          [[maybe_unused]] uint64_t wanted) const {
#ifdef VGPU_CORPUS_RECORDER
  const uint64_t indices[3] = {submit_.head(), submit_.head() + ready, wanted};
  vgpu::corpus::record("ring", std::span(reinterpret_cast<const uint8_t*>(indices), sizeof indices));
#endif
}

ChannelMediator::Step ChannelMediator::take_messages() {
  bool progress = false;
  auto& logger = log::mediator();
  // Back-pressure: leave messages in the ring while the executor is far behind.
  while (queue_.has_room()) {
    auto ready = submit_.available();
    if (!ready) {
      finish("submit ring index corrupted by the guest");
      logger.warn("vm={} channel closed: {}", setup_.name, exit_reason());
      return Step::Broken;
    }
    if (*ready < sizeof(proto::RequestHeader)) break;

    // The one read of guest memory for this message: header first (for the size), then the
    // rest, each byte copied exactly once into message_.
    message_.resize(sizeof(proto::RequestHeader));
    submit_.read(message_.data(), sizeof(proto::RequestHeader));
    auto header = parse_header(message_);
    if (!header || proto::padded_size(header->size) > *ready) {
      // Without a trustworthy size the stream of messages cannot be resynchronized.
      finish(std::string("malformed message header: ") +
             (header ? "size beyond the published data" : parse_error_message(header.error())));
      logger.warn("vm={} channel closed: {}", setup_.name, exit_reason());
      HopCounters::bump(setup_.counters->rejected);
      return Step::Broken;
    }
    const uint32_t size = header->size;
    record_ring_indices(*ready, proto::padded_size(size));
    message_.resize(size);
    submit_.read(message_.data() + sizeof(proto::RequestHeader),
                 size - sizeof(proto::RequestHeader), sizeof(proto::RequestHeader));
    submit_.consume(proto::padded_size(size));
    vgpu::corpus::record("parse_request", message_);
    progress = true;
    HopCounters::bump(setup_.counters->received);

    auto request = parse_request(message_);
    if (!request) {
      reject(*header, parse_error_status(request.error()), parse_error_message(request.error()));
      continue;
    }
    if (logger.should_log(spdlog::level::debug))
      logger.debug("vm={} seq={} call={} received size={} validated dispatched", setup_.name,
                   request->seq, proto::call_name(request->call), size);
    HopCounters::bump(setup_.counters->dispatched);
    hand_over(std::move(request).value(), size);
  }
  return progress ? Step::Progress : Step::Idle;
}

}  // namespace vgpud
