// MD2, the message digest of RFC 1319 (16-byte blocks, 16-byte digest). Long broken as a
// cryptographic hash and used nowhere else in vgpu: it is here only because NVIDIA's runtime
// checks its driver with a keyed MD2 (integrity.h), and the driver shim must answer that check.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

namespace vgpu::cuda {

class Md2 {
 public:
  static constexpr std::size_t kBlockSize = 16;
  static constexpr std::size_t kDigestSize = 16;
  using Digest = std::array<uint8_t, kDigestSize>;

  // Appends `size` bytes to the message; any split of a message gives the same digest.
  void update(const void* data, std::size_t size) noexcept;
  // Pads, appends the checksum and returns the digest. The object starts a new, empty message
  // afterwards.
  Digest finish() noexcept;

 private:
  // RFC 1319 3.4: mixes one 16-byte block into the 48-byte state.
  void compress(const uint8_t* block) noexcept;
  // RFC 1319 3.2: the running checksum over the (padded) message, block by block.
  void add_to_checksum(const uint8_t* block) noexcept;
  void process(const uint8_t* block) noexcept;

  uint8_t state_[48] = {};
  uint8_t checksum_[kBlockSize] = {};
  uint8_t last_checksum_byte_ = 0;  // RFC 1319's L, carried from block to block
  uint8_t pending_[kBlockSize] = {};
  std::size_t pending_size_ = 0;
};

// The digest of one whole message.
Md2::Digest md2(const void* data, std::size_t size) noexcept;

}  // namespace vgpu::cuda
