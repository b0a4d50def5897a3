// A channel's mediator: takes requests off the guest's submit ring, copies each out once,
// parses it into a validated Request and hands it to the channel's executor. It sleeps on the
// doorbell when the ring stays empty, sleeps until the executor makes room when the work queue
// is full, and notices the guest going away (socket closed) in either sleep.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "vgpu/protocol/channel_layout.h"
#include "vgpu/protocol/messages.h"
#include "vgpu/protocol/ring.h"
#include "vgpud/metrics/hop_counters.h"
#include "vgpud/request/work_queue.h"

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
  std::function<void()> on_exit;    // called from the mediator thread when it stops
};

class ChannelMediator {
 public:
  // Hands what it parses to `queue`, which the channel's executor runs.
  ChannelMediator(MediatorSetup setup, WorkQueue& queue);
  ~ChannelMediator();

  void start();
  // Asks the thread to stop taking messages and waits for it.
  void stop();

  // Why the mediator stopped; empty while it runs.
  std::string exit_reason() const;

 private:
  enum class Step { Progress, Idle, Broken };

  void run();
  Step take_messages();
  bool sleep_until_doorbell();  // false when the guest is gone or stop was asked
  bool sleep_until_room();      // likewise
  // Polls `fd` with the guest's socket, the stop eventfd and the queue's room_fd; false when
  // the guest is gone or stop was asked. Returns fd's revents through *revents.
  bool sleep_on(int fd, short* revents);
  void reject(const proto::RequestHeader& h, int32_t status, const char* why);
  void record_ring_indices(uint64_t ready, uint64_t wanted) const;
  void hand_over(Request request, uint32_t bytes);
  void finish(std::string reason);

  MediatorSetup setup_;
  WorkQueue& queue_;
  proto::RingConsumer submit_;
  std::thread thread_;
  int stop_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::string exit_reason_;
  mutable std::mutex reason_mutex_;
  std::vector<uint8_t> message_;  // private copy of the message being parsed
};

}  // namespace vgpud
