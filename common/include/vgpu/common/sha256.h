// SHA-256 (FIPS 180-4, section 6.2), which names a module image by its content: the guest
// offers an image's digest before uploading it, and vgpud files the images it received under
// the digest it computed itself (docs/protocol.md, "Module cache").
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace vgpu {

using Sha256Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();

  // Adds bytes to the message; may be called any number of times.
  void update(std::span<const uint8_t> bytes);
  // Pads the message and returns its digest; the object is spent afterwards.
  Sha256Digest finish();

  // The digest of one whole message.
  static Sha256Digest of(std::span<const uint8_t> bytes);

 private:
  void compress(const uint8_t* blocks, size_t count);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> pending_{};  // a partial block, pending_used_ bytes of it
  size_t pending_used_ = 0;
  uint64_t message_bytes_ = 0;
};

}  // namespace vgpu
