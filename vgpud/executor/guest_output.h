// What the executor writes to its guest: replies (the reply ring) and the data of staged
// device-to-host copies (the download ring). Both rings are the guest's to consume, so every
// write may first have to wait for room; the guest cannot say that it consumed (only
// producers ring), so the wait looks again and again, napping between looks.
//
// A guest that frees no room for kGuestStallLimit while vgpud waits has stopped reading: the
// wait gives up, and the executor fails the channel rather than hold its worker, contexts and
// tenant slot for as long as the process lives.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "vgpu/protocol/channel_layout.h"
#include "vgpu/protocol/messages.h"
#include "vgpu/protocol/ring.h"
#include "vgpud/protocol_alias.h"

namespace vgpud {

class GuestOutput {
 public:
  // How a wait for room ended.
  enum class Room {
    Ready,    // the room is there
    Stopped,  // stop() was called: nobody waits for the data any more
    Corrupt,  // the guest wrote a consumer index that cannot be
    Stalled,  // the guest made no room for kGuestStallLimit
  };

  // `region` is the channel region, laid out as `geometry` (vgpud's own copy); notify_fd is
  // the eventfd that wakes the guest.
  GuestOutput(uint8_t* region, const proto::ChannelGeometry& geometry, int notify_fd);
  ~GuestOutput();
  GuestOutput(const GuestOutput&) = delete;
  GuestOutput& operator=(const GuestOutput&) = delete;

  // Writes one reply (header and payload, padded) and wakes the guest if it sleeps.
  [[nodiscard]] Room write_reply(const proto::ReplyHeader& header, std::span<const uint8_t> payload);
  // Waits for `size` bytes of room in the download ring and returns them in place, to fill;
  // then publish_download(size).
  [[nodiscard]] Room reserve_download(uint64_t size, proto::RingSegments* out);
  void publish_download(uint64_t size);
  uint64_t download_capacity() const { return download_.capacity(); }

  // Marks the channel closed for the guest and wakes it.
  void close_for_guest();
  // Ends every wait, now and later, once the room is not already there (the channel stops,
  // was abandoned or failed).
  void stop();

  // Why the channel fails after a wait on `ring` ended as `room` (Corrupt or Stalled).
  static std::string failure(Room room, const char* ring);

 private:
  Room wait_for_room(const std::atomic<uint64_t>& consumer_head, const std::function<std::optional<bool>()>& room);
  void wake_guest_if_waiting();

  proto::ChannelHeader* header_;
  proto::RingProducer reply_;
  proto::RingProducer download_;
  int notify_fd_;
  int wake_fd_ = -1;  // eventfd: readable once stopped (the naps between looks sleep on it)
  std::atomic<bool> stopped_{false};
};

}  // namespace vgpud
