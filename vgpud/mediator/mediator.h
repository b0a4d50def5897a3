// A channel's mediator: the input of its executor. It takes requests off the guest's submit
// ring, copies each out once and parses it into a validated Request, on the executor's thread
// (RequestSource::next), so that a call reaches the driver without a hand-off between threads.
// When the ring stays empty it spins a little, then sleeps on the doorbell, and notices the
// guest going away (socket closed) in that sleep.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "vgpu/protocol/channel_layout.h"
#include "vgpu/protocol/messages.h"
#include "vgpu/protocol/ring.h"
#include "vgpud/metrics/hop_counters.h"
#include "vgpud/request/request_source.h"

namespace vgpud {

struct MediatorSetup {
  std::string name;                 // "tenant/pid", for logs
  proto::ChannelHeader* header = nullptr;
  uint8_t* submit_data = nullptr;   // from vgpud's own geometry
  uint64_t submit_size = 0;
  int doorbell_fd = -1;             // eventfd the guest rings
  int peer_fd = -1;                 // the guest's socket: closes when the guest dies
  HopCounters* counters = nullptr;
  std::chrono::microseconds spin{50};
  std::function<void()> on_exit;    // called once, from next(), when the channel ends
};

class ChannelMediator final : public RequestSource {
 public:
  explicit ChannelMediator(MediatorSetup setup);
  ~ChannelMediator() override;

  ChannelMediator(const ChannelMediator&) = delete;
  ChannelMediator& operator=(const ChannelMediator&) = delete;

  [[nodiscard]] bool next(Request* out) override;
  void end(const std::string& reason) override;

  // Why the channel ended; empty while it runs.
  std::string exit_reason() const;

 private:
  enum class Take { Request, Empty, Broken };

  Take take_message(Request* out);
  bool sleep_until_doorbell();  // false when the guest is gone or end() was called
  // Records why the channel ends, unless a reason was recorded before.
  void finish_reason(const std::string& reason);
  // next()'s end: finish_reason, and on_exit the first time. Returns false.
  bool finish(const std::string& reason);
  Request reject(const proto::RequestHeader& h, int32_t status, const char* why);
  void record_ring_indices(uint64_t ready, uint64_t wanted) const;

  MediatorSetup setup_;
  proto::RingConsumer submit_;
  int stop_fd_ = -1;
  std::atomic<bool> ended_{false};  // end() was called
  bool finished_ = false;           // next() returned false (the executor's thread only)
  std::string exit_reason_;
  mutable std::mutex reason_mutex_;
  std::vector<uint8_t> message_;  // private copy of the message being parsed
};

}  // namespace vgpud
