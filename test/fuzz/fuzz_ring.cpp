// A ring whose peer index is hostile: the consumer either reports corruption or reads only
// inside the data area (ASan checks every access).
#include <cstdint>
#include <cstring>
#include <vector>

#include "vgpu/protocol/ring.h"

using namespace vgpu::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 24) return 0;
  uint64_t head, tail, want;
  std::memcpy(&head, data, 8);
  std::memcpy(&tail, data + 8, 8);
  std::memcpy(&want, data + 16, 8);
  constexpr uint64_t kCapacity = 4096;
  std::vector<uint8_t> ring(kCapacity);
  RingControl control{};
  control.head.store(head);
  control.tail.store(tail);
  RingConsumer consumer(&control, ring.data(), kCapacity);
  auto ready = consumer.available();
  if (ready) {
    if (*ready > kCapacity) __builtin_trap();
    const uint64_t n = want % (*ready + 1);
    std::vector<uint8_t> out(n);
    consumer.read(out.data(), n);
    consumer.consume(n);
  }
  RingProducer producer(&control, ring.data(), kCapacity);
  auto space = producer.free_space();
  if (space) {
    if (*space > kCapacity) __builtin_trap();
    const uint64_t n = want % (*space + 1);
    std::vector<uint8_t> in(n, 0x5a);
    producer.write(in.data(), n);
    producer.publish();
  }
  return 0;
}
