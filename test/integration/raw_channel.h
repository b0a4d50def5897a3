// A deliberately unprotected client for hostile tests: it connects like the shim does, then
// lets the test write anything into the rings and the region.
#pragma once
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "guest/transport/local_transport.h"
#include "vgpu/protocol/messages.h"
#include "vgpu/protocol/ring.h"

namespace vgpu::test {

struct RawReply {
  proto::ReplyHeader header;
  std::vector<uint8_t> payload;
};

class RawChannel {
 public:
  explicit RawChannel(const std::string& socket) {
    auto t = guest::connect_local(socket);
    if (!t) throw std::runtime_error("connect failed: " + t.error().message);
    transport_ = std::move(t).value();
    region_ = transport_->region();
    header_ = reinterpret_cast<proto::ChannelHeader*>(region_.data());
    const auto& g = header_->geometry;
    submit_ = proto::RingProducer(&header_->submit, region_.data() + g.submit.offset, g.submit.size);
    reply_ = proto::RingConsumer(&header_->reply, region_.data() + g.reply.offset, g.reply.size);
  }

  proto::ChannelHeader* header() { return header_; }
  std::span<uint8_t> region() { return region_; }

  // Writes raw bytes (padded to 8) into the submit ring, publishes, rings the doorbell.
  void send_bytes(const std::vector<uint8_t>& bytes) {
    std::vector<uint8_t> padded = bytes;
    padded.resize(proto::padded_size(static_cast<uint32_t>(bytes.size())), 0);
    submit_.write(padded.data(), padded.size());
    submit_.publish();
    transport_->notify_host();
  }

  template <typename Payload>
  void send(proto::CallId call, const Payload& p, uint64_t seq, uint16_t flags = proto::kFlagNeedsReply,
            const std::string& tail = {}) {
    const uint32_t size = sizeof(proto::RequestHeader) + sizeof(Payload) + tail.size();
    std::vector<uint8_t> m(size);
    const proto::RequestHeader h{size, static_cast<uint16_t>(call), flags, seq};
    std::memcpy(m.data(), &h, sizeof h);
    std::memcpy(m.data() + sizeof h, &p, sizeof p);
    std::memcpy(m.data() + sizeof h + sizeof p, tail.data(), tail.size());
    send_bytes(m);
  }

  // Waits until `bytes` (padded) fit in the submit ring, as the shim does before it writes; false
  // if vgpud took nothing out for timeout_ms (its executor is that far behind).
  bool wait_for_room(uint32_t bytes, int timeout_ms = 5000) {
    const uint64_t padded = proto::padded_size(bytes);
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      auto room = submit_.has_room(padded);
      if (room && *room) return true;
      if (!room || std::chrono::steady_clock::now() >= until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  // Next reply, or nothing within timeout.
  std::optional<RawReply> receive(int timeout_ms = 5000) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < until) {
      auto ready = reply_.available();
      if (ready && *ready >= sizeof(proto::ReplyHeader)) {
        RawReply r;
        reply_.read(&r.header, sizeof r.header);
        r.payload.resize(r.header.size - sizeof r.header);
        reply_.read(r.payload.data(), r.payload.size(), sizeof r.header);
        reply_.consume(proto::padded_size(r.header.size));
        return r;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return std::nullopt;
  }

  void doorbell() { transport_->notify_host(); }

  // Uploads a module image as the shim does (the bytes into the upload ring, BLOB_APPEND, then
  // MODULE_LOAD as seq + 1) and returns MODULE_LOAD's reply.
  std::optional<RawReply> load_module(const std::vector<uint8_t>& image, uint64_t seq) {
    const auto& g = header_->geometry;
    proto::RingProducer upload(&header_->upload, region_.data() + g.upload.offset, g.upload.size);
    if (image.size() > upload.capacity()) throw std::runtime_error("image larger than the upload ring");
    upload.write(image.data(), image.size());
    upload.publish();
    send(proto::CallId::BlobAppend, proto::BlobAppendRequest{image.size()}, seq, 0);
    send(proto::CallId::ModuleLoad, proto::ModuleLoadRequest{image.size(), 0}, seq + 1);
    return receive();
  }

  bool host_closed() const { return header_->host_closed.load() != 0; }
  // Whether vgpud closed our socket (it does when it drops the channel).
  bool disconnected() { return !transport_->wait_for_host(0); }

 private:
  std::unique_ptr<guest::Transport> transport_;
  std::span<uint8_t> region_;
  proto::ChannelHeader* header_;
  proto::RingProducer submit_;
  proto::RingConsumer reply_;
};

}  // namespace vgpu::test
