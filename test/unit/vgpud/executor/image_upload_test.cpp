#include <catch2/catch.hpp>

#include <atomic>
#include <numeric>
#include <vector>

#include "vgpu/protocol/limits.h"
#include "vgpu/protocol/ring.h"
#include "vgpud/executor/image_upload.h"

using vgpud::BudgetRef;
using vgpud::ImageUpload;
namespace proto = vgpu::proto;

namespace {

struct UploadRing {
  UploadRing() : data(1 << 16), producer(&control, data.data(), data.size()), consumer(&control, data.data(), data.size()) {}
  void send(size_t n, uint8_t first) {
    std::vector<uint8_t> bytes(n);
    std::iota(bytes.begin(), bytes.end(), first);
    producer.write(bytes.data(), n);
    producer.publish();
  }
  proto::RingControl control{};
  std::vector<uint8_t> data;
  proto::RingProducer producer;
  proto::RingConsumer consumer;
};

}  // namespace

TEST_CASE("an image is assembled from its chunks and charged until it is freed", "[executor][upload]") {
  std::atomic<uint64_t> used{0};
  UploadRing ring;
  {
    ImageUpload upload(BudgetRef{&used, nullptr, 0});
    ring.send(100, 0);
    REQUIRE(upload.append(ring.consumer, 100));
    ring.send(50, 100);
    REQUIRE(upload.append(ring.consumer, 50));
    REQUIRE(*ring.consumer.available() == 0);  // each chunk consumed
    REQUIRE(used.load() >= 150);
    {
      vgpud::UploadedImage image = upload.take();
      REQUIRE(image.bytes().size() == 150);
      for (size_t i = 0; i < 150; ++i) REQUIRE(image.bytes()[i] == static_cast<uint8_t>(i));
      REQUIRE(used.load() >= 150);  // still held while it is loaded
    }
    REQUIRE(used.load() == 0);
    ring.send(10, 0);
    REQUIRE(upload.append(ring.consumer, 10));
    REQUIRE(used.load() > 0);
  }
  REQUIRE(used.load() == 0);  // an image never loaded is given back when the channel ends
}

TEST_CASE("an image over the tenant's limit is dropped whole", "[executor][upload]") {
  std::atomic<uint64_t> used{0};
  UploadRing ring;
  ImageUpload upload(BudgetRef{&used, nullptr, 1000});
  ring.send(600, 0);
  REQUIRE(upload.append(ring.consumer, 600));
  ring.send(600, 0);
  REQUIRE_FALSE(upload.append(ring.consumer, 600));
  REQUIRE(*ring.consumer.available() == 0);  // consumed all the same, to stay in step
  REQUIRE(used.load() == 0);
  REQUIRE(upload.take().bytes().empty());
}
