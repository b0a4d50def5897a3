#include <catch2/catch.hpp>

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <vector>

#include "vgpu/protocol/channel_layout.h"
#include "vgpu/protocol/ring.h"
#include "vgpud/executor/guest_output.h"

using vgpud::GuestOutput;
namespace proto = vgpu::proto;

namespace {

// A channel region laid out as vgpud lays it out, with the guest's end of the reply ring.
struct Region {
  Region() {
    proto::ChannelSizes sizes;
    sizes.submit = sizes.reply = sizes.upload = sizes.download = 4096;
    sizes.heap = 4096;
    geometry = *proto::compute_geometry(sizes);
    bytes.assign(geometry.region_size, 0);
    notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  }
  ~Region() { close(notify_fd); }
  proto::ChannelHeader* header() { return reinterpret_cast<proto::ChannelHeader*>(bytes.data()); }
  proto::RingConsumer reply_reader() {
    return proto::RingConsumer(&header()->reply, bytes.data() + geometry.reply.offset, geometry.reply.size);
  }
  bool guest_woken() const {
    uint64_t n = 0;
    return read(notify_fd, &n, sizeof n) == sizeof n;
  }
  proto::ChannelGeometry geometry{};
  std::vector<uint8_t> bytes;
  int notify_fd;
};

proto::ReplyHeader reply_of(uint64_t seq, size_t payload) {
  return {static_cast<uint32_t>(sizeof(proto::ReplyHeader) + payload), 1, 0, seq, 0, 0};
}

}  // namespace

TEST_CASE("a reply is written whole and padded, and wakes a guest that sleeps", "[executor][output]") {
  Region region;
  GuestOutput output(region.bytes.data(), region.geometry, region.notify_fd);
  const std::vector<uint8_t> payload = {1, 2, 3};
  REQUIRE(output.write_reply(reply_of(7, payload.size()), payload) == GuestOutput::Room::Ready);
  REQUIRE_FALSE(region.guest_woken());  // the guest said nothing of sleeping

  auto reader = region.reply_reader();
  REQUIRE(*reader.available() == proto::padded_size(sizeof(proto::ReplyHeader) + 3));
  proto::ReplyHeader h{};
  reader.read(&h, sizeof h);
  REQUIRE(h.seq == 7);
  uint8_t got[3];
  reader.read(got, 3, sizeof h);
  REQUIRE(std::memcmp(got, payload.data(), 3) == 0);

  region.header()->reply.consumer_waiting.store(1);
  REQUIRE(output.write_reply(reply_of(8, 0), {}) == GuestOutput::Room::Ready);
  REQUIRE(region.guest_woken());
}

TEST_CASE("a consumer index the guest corrupted ends the wait at once", "[executor][output]") {
  Region region;
  GuestOutput output(region.bytes.data(), region.geometry, region.notify_fd);
  // Nearly fill the ring, so that the next reply has to read the guest's index.
  const std::vector<uint8_t> big(region.geometry.reply.size - 256);
  REQUIRE(output.write_reply(reply_of(1, big.size()), big) == GuestOutput::Room::Ready);
  region.header()->reply.head.store(1ull << 40);  // past anything vgpud wrote
  const std::vector<uint8_t> more(512);
  REQUIRE(output.write_reply(reply_of(2, more.size()), more) == GuestOutput::Room::Corrupt);
  REQUIRE(GuestOutput::failure(GuestOutput::Room::Corrupt, "reply") ==
          "reply ring index corrupted by the guest");
}

TEST_CASE("a wait for room in a full ring ends when the output stops", "[executor][output]") {
  Region region;
  GuestOutput output(region.bytes.data(), region.geometry, region.notify_fd);
  // Fill the download ring; the guest reads nothing.
  proto::RingSegments seg;
  REQUIRE(output.reserve_download(region.geometry.download.size, &seg) == GuestOutput::Room::Ready);
  REQUIRE(seg.size() == region.geometry.download.size);
  output.publish_download(region.geometry.download.size);

  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    output.stop();
  });
  REQUIRE(output.reserve_download(1, &seg) == GuestOutput::Room::Stopped);
  stopper.join();
  // Room that is there is still taken after stop: queued replies are still answered.
  region.header()->download.head.store(region.geometry.download.size);
  REQUIRE(output.reserve_download(1, &seg) == GuestOutput::Room::Ready);
}

TEST_CASE("closing the channel tells the guest and wakes it", "[executor][output]") {
  Region region;
  GuestOutput output(region.bytes.data(), region.geometry, region.notify_fd);
  output.close_for_guest();
  REQUIRE(region.header()->host_closed.load() == 1);
  REQUIRE(region.guest_woken());
}
