#include "guest/cuda/md2.h"

#include <algorithm>
#include <cstring>

namespace vgpu::cuda {
namespace {

// RFC 1319 section 3.2: "a 256-byte random permutation constructed from the digits of pi".
// The RFC publishes the permutation itself (not how it was drawn from pi), so it is written out
// here as the RFC lists it; md2_test.cpp checks it through the RFC's test vectors.
// clang-format off
constexpr uint8_t kPiSubstitution[256] = {
    41,  46,  67,  201, 162, 216, 124, 1,   61,  54,  84,  161, 236, 240, 6,   19,
    98,  167, 5,   243, 192, 199, 115, 140, 152, 147, 43,  217, 188, 76,  130, 202,
    30,  155, 87,  60,  253, 212, 224, 22,  103, 66,  111, 24,  138, 23,  229, 18,
    190, 78,  196, 214, 218, 158, 222, 73,  160, 251, 245, 142, 187, 47,  238, 122,
    169, 104, 121, 145, 21,  178, 7,   63,  148, 194, 16,  137, 11,  34,  95,  33,
    128, 127, 93,  154, 90,  144, 50,  39,  53,  62,  204, 231, 191, 247, 151, 3,
    255, 25,  48,  179, 72,  165, 181, 209, 215, 94,  146, 42,  172, 86,  170, 198,
    79,  184, 56,  210, 150, 164, 125, 182, 118, 252, 107, 226, 156, 116, 4,   241,
    69,  157, 112, 89,  100, 113, 135, 32,  134, 91,  207, 101, 230, 45,  168, 2,
    27,  96,  37,  173, 174, 176, 185, 246, 28,  70,  97,  105, 52,  64,  126, 15,
    85,  71,  163, 35,  221, 81,  175, 58,  195, 92,  249, 206, 186, 197, 234, 38,
    44,  83,  13,  110, 133, 40,  132, 9,   211, 223, 205, 244, 65,  129, 77,  82,
    106, 220, 55,  200, 108, 193, 171, 250, 36,  225, 123, 8,   12,  189, 177, 74,
    120, 136, 149, 139, 227, 99,  232, 109, 233, 203, 213, 254, 59,  0,   29,  57,
    242, 239, 183, 14,  102, 88,  208, 228, 166, 119, 114, 248, 235, 117, 75,  10,
    49,  68,  80,  180, 143, 237, 31,  26,  219, 153, 141, 51,  159, 17,  131, 20,
};
// clang-format on

constexpr int kRounds = 18;  // RFC 1319 section 3.4

}  // namespace

void Md2::compress(const uint8_t* block) noexcept {
  // The state is three 16-byte thirds: the previous digest, the block, and their XOR.
  for (std::size_t j = 0; j < kBlockSize; ++j) {
    state_[kBlockSize + j] = block[j];
    state_[2 * kBlockSize + j] = static_cast<uint8_t>(block[j] ^ state_[j]);
  }
  uint8_t t = 0;
  for (int round = 0; round < kRounds; ++round) {
    for (uint8_t& x : state_) {
      x ^= kPiSubstitution[t];
      t = x;
    }
    t = static_cast<uint8_t>(t + round);
  }
}

void Md2::add_to_checksum(const uint8_t* block) noexcept {
  // RFC 1319 as corrected by its errata: each checksum byte is XORed with the substitution, not
  // replaced by it (the RFC's reference code does the XOR; its prose said "set").
  for (std::size_t j = 0; j < kBlockSize; ++j) {
    checksum_[j] ^= kPiSubstitution[block[j] ^ last_checksum_byte_];
    last_checksum_byte_ = checksum_[j];
  }
}

void Md2::process(const uint8_t* block) noexcept {
  add_to_checksum(block);
  compress(block);
}

void Md2::update(const void* data, std::size_t size) noexcept {
  if (size == 0) return;  // data may be null then
  const auto* bytes = static_cast<const uint8_t*>(data);
  if (pending_size_ > 0) {
    const std::size_t take = std::min(size, kBlockSize - pending_size_);
    std::memcpy(pending_ + pending_size_, bytes, take);
    pending_size_ += take;
    bytes += take;
    size -= take;
    if (pending_size_ < kBlockSize) return;
    process(pending_);
    pending_size_ = 0;
  }
  for (; size >= kBlockSize; bytes += kBlockSize, size -= kBlockSize) process(bytes);
  if (size > 0) std::memcpy(pending_, bytes, size);
  pending_size_ = size;
}

Md2::Digest Md2::finish() noexcept {
  // Padding is always present: 1 to 16 bytes, each holding the padding's length.
  const auto pad = static_cast<uint8_t>(kBlockSize - pending_size_);
  std::memset(pending_ + pending_size_, pad, pad);
  process(pending_);
  // The checksum is the last block; it is compressed but not itself checksummed.
  compress(checksum_);
  Digest digest;
  std::memcpy(digest.data(), state_, kDigestSize);
  *this = Md2{};
  return digest;
}

Md2::Digest md2(const void* data, std::size_t size) noexcept {
  Md2 h;
  h.update(data, size);
  return h.finish();
}

}  // namespace vgpu::cuda
