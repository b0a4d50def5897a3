// The transport alone, as a benchmark case child (bench/README.md has the line protocol).
//
//   vgpu-bench-transport            through vgpud: a guest channel (VGPU_SOCKET) sending PING,
//                                   which crosses the submit ring, the mediator, the executor
//                                   and the reply ring and touches no driver
//   vgpu-bench-transport --floor    the same rings in this process, served by a second thread
//                                   that only reads each header and answers: the floor the
//                                   design can reach on this machine (what "native" means for
//                                   these cases)
//
// Cases (unit, one sample):
//   ring_round_trip   us          one request that needs a reply, sent and answered
//   ring_messages     messages/s  10000 posted requests, then one that needs a reply
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/cases/case_server.h"
#include "guest/client/channel.h"
#include "vgpu/protocol/channel_layout.h"
#include "vgpu/protocol/messages.h"
#include "vgpu/protocol/ring.h"

namespace {

using namespace vgpu;
using Clock = std::chrono::steady_clock;

constexpr int kMessagesPerSample = 10000;

double micros_since(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

// Something that sends PING and waits for answers; the two implementations below.
class PingPeer {
 public:
  virtual ~PingPeer() = default;
  virtual bool round_trip() = 0;  // one PING that needs a reply
  virtual bool post() = 0;        // one PING without a reply
};

// Through vgpud, with the shim's own channel client.
class VgpudPeer : public PingPeer {
 public:
  explicit VgpudPeer(std::unique_ptr<guest::Channel> channel) : channel_(std::move(channel)) {}
  bool round_trip() override { return channel_->call(proto::CallId::Ping, {}, {}).status == 0; }
  bool post() override { return channel_->post(proto::CallId::Ping, {}) == 0; }

 private:
  std::unique_ptr<guest::Channel> channel_;
};

// Two rings in this process's memory and a thread that answers every request needing one:
// the cost of the rings and two cores exchanging cache lines, nothing else.
class FloorPeer : public PingPeer {
 public:
  FloorPeer() : rings_(std::make_unique<Rings>()) {
    submit_ = proto::RingProducer(&rings_->submit, rings_->submit_data, kRingSize);
    reply_ = proto::RingConsumer(&rings_->reply, rings_->reply_data, kRingSize);
    server_ = std::thread([this] {
      serve(proto::RingConsumer(&rings_->submit, rings_->submit_data, kRingSize),
            proto::RingProducer(&rings_->reply, rings_->reply_data, kRingSize));
    });
  }
  ~FloorPeer() override {
    stop_.store(true);
    server_.join();
  }

  bool round_trip() override {
    send(proto::kFlagNeedsReply);
    for (;;) {
      auto ready = reply_.available();
      if (!ready) return false;
      if (*ready >= sizeof(proto::ReplyHeader)) break;
    }
    proto::ReplyHeader h;
    reply_.read(&h, sizeof h);
    reply_.consume(proto::padded_size(h.size));
    return h.status == 0;
  }
  bool post() override {
    send(0);
    return true;
  }

 private:
  static constexpr uint64_t kRingSize = 1 << 20;
  struct Rings {
    proto::RingControl submit{};
    proto::RingControl reply{};
    alignas(4096) uint8_t submit_data[kRingSize];
    alignas(4096) uint8_t reply_data[kRingSize];
  };

  void send(uint16_t flags) {
    const proto::RequestHeader h{sizeof(proto::RequestHeader),
                                 static_cast<uint16_t>(proto::CallId::Ping), flags, ++seq_};
    for (;;) {
      auto room = submit_.has_room(sizeof h);
      if (room && *room) break;
    }
    submit_.write(&h, sizeof h);
    submit_.publish();
  }

  void serve(proto::RingConsumer submit, proto::RingProducer reply) {
    while (!stop_.load(std::memory_order_relaxed)) {
      auto ready = submit.available();
      if (!ready || *ready < sizeof(proto::RequestHeader)) continue;
      proto::RequestHeader h;
      submit.read(&h, sizeof h);
      submit.consume(proto::padded_size(h.size));
      if ((h.flags & proto::kFlagNeedsReply) == 0) continue;
      const proto::ReplyHeader r{sizeof(proto::ReplyHeader), h.call, 0, h.seq, 0, 0};
      reply.write(&r, sizeof r);
      reply.publish();
    }
  }

  std::unique_ptr<Rings> rings_;
  proto::RingProducer submit_;
  proto::RingConsumer reply_;
  uint64_t seq_ = 0;
  std::atomic<bool> stop_{false};
  std::thread server_;
};

// Untimed: the first calls fault pages in and wake whoever sleeps.
bool warm_up(PingPeer& peer) {
  for (int i = 0; i < 100; ++i)
    if (!peer.round_trip()) return false;
  return true;
}

bench::CaseResult ring_round_trip(PingPeer& peer, int samples) {
  if (!warm_up(peer)) return bench::CaseResult::failure("PING was not answered");
  std::vector<double> values;
  values.reserve(samples);
  for (int i = 0; i < samples; ++i) {
    const auto start = Clock::now();
    if (!peer.round_trip()) return bench::CaseResult::failure("PING was not answered");
    values.push_back(micros_since(start));
  }
  return bench::CaseResult::success(std::move(values));
}

bench::CaseResult ring_messages(PingPeer& peer, int samples) {
  if (!warm_up(peer)) return bench::CaseResult::failure("PING was not answered");
  std::vector<double> values;
  values.reserve(samples);
  for (int i = 0; i < samples; ++i) {
    const auto start = Clock::now();
    for (int m = 0; m < kMessagesPerSample; ++m)
      if (!peer.post()) return bench::CaseResult::failure("the channel broke");
    if (!peer.round_trip()) return bench::CaseResult::failure("PING was not answered");
    values.push_back((kMessagesPerSample + 1) / (micros_since(start) * 1e-6));
  }
  return bench::CaseResult::success(std::move(values));
}

}  // namespace

int main(int argc, char** argv) {
  const bool floor = argc > 1 && std::strcmp(argv[1], "--floor") == 0;
  std::unique_ptr<PingPeer> peer;
  std::string description;
  if (floor) {
    peer = std::make_unique<FloorPeer>();
    description = "in-process rings, two threads";
  } else {
    auto channel = guest::Channel::open();
    if (!channel) {
      std::printf("error cannot reach vgpud: %s\n", channel.error().message.c_str());
      return 1;
    }
    description = "vgpud over " + (*channel)->describe();
    peer = std::make_unique<VgpudPeer>(std::move(channel).value());
  }
  return bench::serve_cases(description, {
                                             {"ring_round_trip", [&](int n) { return ring_round_trip(*peer, n); }},
                                             {"ring_messages", [&](int n) { return ring_messages(*peer, n); }},
                                         });
}
