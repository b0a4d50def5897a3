// The executor's thread, reply path and context lifecycle. Handlers live in executor_*.cpp.
#include "vgpud/executor/channel_executor.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <string>
#include <thread>

#include "vgpu/protocol/limits.h"
#include "vgpud/log/log.h"

namespace vgpud {

namespace {

// A guest that frees no room in a ring vgpud writes (reply, download) for this long while
// vgpud waits to write has stopped reading: the channel fails rather than hold its worker,
// contexts and tenant slot for as long as the process lives. A reading guest frees room
// within microseconds to milliseconds; 5 s also leaves room for a guest descheduled on a
// loaded host. Fixed (docs/protocol.md §3).
constexpr std::chrono::seconds kGuestStallLimit{5};
// The sleeps between looks while waiting for room: the guest cannot say that it consumed
// (only producers ring), so the executor looks again after a quarter of the time it has
// waited so far, within these bounds: at most a quarter more latency on a copy, and 250
// wake-ups a second (under 1 % of a CPU) for a guest that does not read.
constexpr std::chrono::microseconds kMinNap{50};
constexpr std::chrono::microseconds kMaxNap{4000};

}  // namespace

ChannelExecutor::ChannelExecutor(ExecutorSetup setup)
    : setup_(std::move(setup)),
      cu_(*setup_.driver),
      header_(reinterpret_cast<proto::ChannelHeader*>(setup_.region)),
      streams_(proto::kFirstStreamId, vgpu::limits::kMaxStreams),
      events_(1, vgpu::limits::kMaxEvents),
      modules_(1, vgpu::limits::kMaxModules),
      functions_(1, vgpu::limits::kMaxFunctions) {
  const auto& g = setup_.geometry;
  uint8_t* base = setup_.region;
  reply_ring_ = proto::RingProducer(&header_->reply, base + g.reply.offset, g.reply.size);
  upload_ring_ = proto::RingConsumer(&header_->upload, base + g.upload.offset, g.upload.size);
  download_ring_ =
      proto::RingProducer(&header_->download, base + g.download.offset, g.download.size);
  contexts_.assign(setup_.devices.size(), nullptr);
  // Without it, waits sleep their naps in full instead of ending at once on stop.
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

ChannelExecutor::~ChannelExecutor() {
  drain_and_stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void ChannelExecutor::start() { thread_ = std::thread([this] { run(); }); }

void ChannelExecutor::abandon() {
  abandoned_.store(true, std::memory_order_release);
  wake_waits();
}

void ChannelExecutor::drain_and_stop() {
  stopping_.store(true, std::memory_order_release);
  wake_waits();
  queue_.close();
  if (thread_.joinable()) thread_.join();
}

void ChannelExecutor::wake_waits() {
  // Never read back: once stopping or abandoned, every later wait ends at once too.
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
}

void ChannelExecutor::run() {
  // No context is made here: a context costs about 0.5 GB of GPU memory (H200, driver 580),
  // which limits.device_memory does not count, so a channel that never calls the GPU must
  // not hold one. The first call that needs one makes it (require_context()).
  Request request;
  while (queue_.pop(&request, setup_.spin)) {
    // A broken or abandoned channel drains without executing.
    if (!broken() && !abandoned_.load(std::memory_order_acquire)) execute(request);
    queue_.mark_done();
  }
  release_all();
}

CUresult ChannelExecutor::traced(const char* function, CUresult r, const std::string& detail) {
  if (r != CUDA_SUCCESS) HopCounters::bump(setup_.counters->driver_errors);
  auto& logger = log::executor();
  if (logger.should_log(spdlog::level::debug))
    logger.debug("vm={} seq={} {} → {}{}{}", setup_.name, current_seq_, function,
                 cu_.error_name(r), detail.empty() ? "" : " ", detail);
  return r;
}

void ChannelExecutor::execute(Request& request) {
  current_seq_ = request.seq;
  synchronize_current_ = request.synchronize();
  Reply reply;
  reply.status = std::visit([&](const auto& cmd) { return handle(cmd, reply); }, request.command);
  HopCounters::bump(setup_.counters->executed);
  if (broken()) return;
  if (request.needs_reply()) {
    post_reply(request, reply.status, reply.payload);
  } else if (reply.status != 0 && pending_async_error_ == 0) {
    // A posted call failed: the guest learns at its next reply, as CUDA reports async errors.
    pending_async_error_ = reply.status;
  }
}

bool ChannelExecutor::wait_for_guest(const std::atomic<uint64_t>& consumer_head, const char* ring,
                                     const std::function<bool()>& ready) {
  using Clock = std::chrono::steady_clock;
  // The head is the guest's to write: only ever compared with itself, to see it move.
  uint64_t head = consumer_head.load(std::memory_order_acquire);
  auto progress_at = Clock::now();
  while (!ready()) {
    if (broken() || stopping_.load(std::memory_order_acquire) ||
        abandoned_.load(std::memory_order_acquire))
      return false;
    const auto now = Clock::now();
    if (const uint64_t h = consumer_head.load(std::memory_order_acquire); h != head) {
      head = h;
      progress_at = now;
    }
    const auto stalled = now - progress_at;
    if (stalled >= kGuestStallLimit) {
      fail_channel(("the guest made no room in its " + std::string(ring) + " ring for " +
                    std::to_string(kGuestStallLimit.count()) + " s: it stopped reading")
                       .c_str());
      return false;
    }
    const auto nap = std::clamp(std::chrono::duration_cast<std::chrono::microseconds>(stalled / 4),
                                kMinNap, kMaxNap);
    const timespec ts{0, static_cast<long>(std::chrono::nanoseconds(nap).count())};
    pollfd wake{wake_fd_, POLLIN, 0};
    ppoll(&wake, 1, &ts, nullptr);
  }
  return true;
}

void ChannelExecutor::post_reply(const Request& request, int32_t status,
                                 std::span<const uint8_t> payload) {
  const uint64_t size = sizeof(proto::ReplyHeader) + payload.size();
  const uint32_t padded = proto::padded_size(static_cast<uint32_t>(size));
  bool corrupt = false;
  const bool has_space = wait_for_guest(header_->reply.head, "reply", [&] {
    auto room = reply_ring_.has_room(padded);
    if (!room) corrupt = true;
    return corrupt || *room;
  });
  if (corrupt) return fail_channel("reply ring index corrupted by the guest");
  if (!has_space) return;

  const proto::ReplyHeader h{static_cast<uint32_t>(size), static_cast<uint16_t>(request.call), 0,
                             request.seq, status, pending_async_error_};
  pending_async_error_ = 0;
  reply_ring_.write(&h, sizeof h);
  reply_ring_.write(payload.data(), payload.size());
  static constexpr uint8_t kZeros[proto::kMessageAlignment] = {};
  reply_ring_.write(kZeros, padded - size);
  reply_ring_.publish();
  notify_guest_if_waiting();
  HopCounters::bump(setup_.counters->answered);
  auto& logger = log::executor();
  if (logger.should_log(spdlog::level::debug))
    logger.debug("vm={} seq={} call={} answered status={}", setup_.name, request.seq,
                 proto::call_name(request.call), status);
}

void ChannelExecutor::notify_guest_if_waiting() {
  if (reply_ring_.consumer_waiting() ||
      header_->download.consumer_waiting.load(std::memory_order_seq_cst) != 0) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(setup_.notify_fd, &one, sizeof one);
  }
}

void ChannelExecutor::fail_channel(const char* why) {
  if (broken_.exchange(true)) return;
  log::executor().warn("vm={} seq={} channel closed: {}", setup_.name, current_seq_, why);
  header_->host_closed.store(1, std::memory_order_release);
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(setup_.notify_fd, &one, sizeof one);
  queue_.stop_producer();  // the mediator stops taking messages, asleep or not
}

CUresult ChannelExecutor::ensure_context(uint32_t device) {
  if (device >= contexts_.size()) return CUDA_ERROR_INVALID_DEVICE;
  if (contexts_[device] == nullptr) {
    CUcontext ctx = nullptr;
    // cuCtxCreate also makes the new context current.
    const CUresult r = traced("cuCtxCreate", cu_.cuCtxCreate(&ctx, 0, setup_.devices[device]));
    if (r != CUDA_SUCCESS) return r;
    contexts_[device] = ctx;
    register_region(device);
  }
  current_device_ = device;
  return traced("cuCtxSetCurrent", cu_.cuCtxSetCurrent(contexts_[device]));
}

void ChannelExecutor::register_region(uint32_t device) {
  if (region_registered_in_ || region_registration_failed_) return;
  // The whole region is pinned once, so staged and cudaMallocHost copies are DMA.
  // PORTABLE makes the registration valid for this channel's other contexts too.
  const CUresult r = traced("cuMemHostRegister", cu_.cuMemHostRegister(setup_.region, setup_.region_size,
                                                                       CU_MEMHOSTREGISTER_PORTABLE));
  if (r == CUDA_SUCCESS) {
    region_registered_in_ = device;
    return;
  }
  region_registration_failed_ = true;
  log::executor().warn("vm={} could not pin the channel region ({}): copies will be slower", setup_.name,
                       cu_.error_name(r));
}

void ChannelExecutor::release_device(uint32_t device, bool keep_region_pinned) {
  if (device >= contexts_.size() || contexts_[device] == nullptr) return;
  // The pinning belongs to the context that made it: undo it while that context still
  // lives, and pin again below in a surviving one.
  const bool was_pinned_here = region_registered_in_ == device;
  if (was_pinned_here && cu_.cuCtxSetCurrent(contexts_[device]) == CUDA_SUCCESS) {
    cu_.cuMemHostUnregister(setup_.region);
    region_registered_in_.reset();
  }
  // Destroying a context frees every allocation, module, stream and event made in it.
  traced("cuCtxDestroy", cu_.cuCtxDestroy(contexts_[device]));
  contexts_[device] = nullptr;
  uint64_t freed = memory_.remove_device(device);
  modules_.for_each([&](uint32_t, Module& m) {
    if (m.device == device) freed += m.device_bytes;
  });
  device_budget().release(freed);
  streams_.erase_if([device](const Stream& s) { return s.device == device; });
  events_.erase_if([device](const Event& e) { return e.device == device; });
  modules_.erase_if([device](const Module& m) { return m.device == device; });
  functions_.erase_if([device](const Function& f) { return f.device == device; });
  if (was_pinned_here && keep_region_pinned) {
    for (uint32_t d = 0; d < contexts_.size() && !region_registered_in_; ++d)
      if (contexts_[d] != nullptr && cu_.cuCtxSetCurrent(contexts_[d]) == CUDA_SUCCESS) register_region(d);
    // Back to the device the guest works on; require_context() trusts that its context, when
    // it exists, is the current one.
    if (contexts_[current_device_] != nullptr) cu_.cuCtxSetCurrent(contexts_[current_device_]);
  }
}

void ChannelExecutor::release_all() {
  for (uint32_t d = 0; d < contexts_.size(); ++d) release_device(d, /*keep_region_pinned=*/false);
  drop_pending_image();
}

int32_t ChannelExecutor::handle(const RejectedCmd& cmd, Reply&) { return cmd.status; }

bool ChannelExecutor::resolve_stream(uint64_t id, CUstream* out) {
  if (id == proto::kStreamLegacy || id == proto::kStreamLegacyAlias) {
    *out = nullptr;  // the context's legacy default stream
    return true;
  }
  Stream* s = streams_.find(id);
  if (s == nullptr) return false;
  *out = s->handle;
  return true;
}

bool ChannelExecutor::device_range_ok(uint64_t ptr, uint64_t len) const {
  return memory_.contains(ptr, len);
}

bool ChannelExecutor::heap_range_ok(uint64_t offset, uint64_t len) const {
  const uint64_t heap = setup_.geometry.heap.size;
  return offset <= heap && len <= heap - offset;
}

}  // namespace vgpud

namespace vgpud {

int32_t ChannelExecutor::require_context() {
  if (current_device_ < contexts_.size() && contexts_[current_device_] != nullptr) return 0;
  const CUresult r = ensure_context(current_device_);
  return r == CUDA_SUCCESS ? 0 : static_cast<int32_t>(proto::Status::DriverUnavailable);
}

}  // namespace vgpud
