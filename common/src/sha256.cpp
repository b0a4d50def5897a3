// SHA-256 as FIPS 180-4 defines it: section 4.1.2 (functions), 4.2.2 (constants), 5.1.1
// (padding), 5.3.3 (initial hash value) and 6.2.2 (the hash computation). Written for
// clarity first; the compiler turns the rounds into straight-line code. Where the CPU has the
// SHA extensions, whole blocks go through them instead (sha256_x86.cpp).
#include "vgpu/common/sha256.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "common/src/sha256_blocks.h"

namespace vgpu {

namespace {

using sha256_detail::kBlockBytes;
using sha256_detail::kRoundConstants;

// The first 32 bits of the fractional parts of the square roots of the first 8 primes (5.3.3).
constexpr std::array<uint32_t, 8> kInitialHash = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                                  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

// The six logical functions of 4.1.2.
constexpr uint32_t choose(uint32_t x, uint32_t y, uint32_t z) { return (x & y) ^ (~x & z); }
constexpr uint32_t majority(uint32_t x, uint32_t y, uint32_t z) {
  return (x & y) ^ (x & z) ^ (y & z);
}
constexpr uint32_t big_sigma0(uint32_t x) {
  return std::rotr(x, 2) ^ std::rotr(x, 13) ^ std::rotr(x, 22);
}
constexpr uint32_t big_sigma1(uint32_t x) {
  return std::rotr(x, 6) ^ std::rotr(x, 11) ^ std::rotr(x, 25);
}
constexpr uint32_t small_sigma0(uint32_t x) {
  return std::rotr(x, 7) ^ std::rotr(x, 18) ^ (x >> 3);
}
constexpr uint32_t small_sigma1(uint32_t x) {
  return std::rotr(x, 17) ^ std::rotr(x, 19) ^ (x >> 10);
}

// Words are big-endian in the message and in the digest (3.1).
uint32_t load_big_endian(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}
void store_big_endian(uint32_t v, uint8_t* p) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// One 512-bit block (6.2.2, steps 1 to 4).
void compress_block(uint32_t* state, const uint8_t* block) {
  uint32_t schedule[64];
  for (int t = 0; t < 16; ++t) schedule[t] = load_big_endian(block + 4 * t);
  for (int t = 16; t < 64; ++t)
    schedule[t] = small_sigma1(schedule[t - 2]) + schedule[t - 7] + small_sigma0(schedule[t - 15]) +
                  schedule[t - 16];

  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
  for (int t = 0; t < 64; ++t) {
    const uint32_t t1 = h + big_sigma1(e) + choose(e, f, g) + kRoundConstants[t] + schedule[t];
    const uint32_t t2 = big_sigma0(a) + majority(a, b, c);
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
  state[4] += e;
  state[5] += f;
  state[6] += g;
  state[7] += h;
}

using Compress = void (*)(uint32_t*, const uint8_t*, size_t);

// Chosen once per process.
Compress compress_for_this_cpu() {
  static const Compress chosen = sha256_detail::has_sha_extensions()
                                     ? sha256_detail::compress_sha_extensions
                                     : sha256_detail::compress_portable;
  return chosen;
}

}  // namespace

void sha256_detail::compress_portable(uint32_t state[8], const uint8_t* blocks, size_t count) {
  for (; count > 0; --count, blocks += kBlockBytes) compress_block(state, blocks);
}

Sha256::Sha256() : state_(kInitialHash) {}

void Sha256::compress(const uint8_t* blocks, size_t count) {
  compress_for_this_cpu()(state_.data(), blocks, count);
}

void Sha256::update(std::span<const uint8_t> bytes) {
  message_bytes_ += bytes.size();
  const uint8_t* p = bytes.data();
  size_t left = bytes.size();
  // Complete a partial block first; whole blocks are then hashed where they lie.
  if (pending_used_ > 0) {
    const size_t n = std::min(left, kBlockBytes - pending_used_);
    std::memcpy(pending_.data() + pending_used_, p, n);
    pending_used_ += n;
    p += n;
    left -= n;
    if (pending_used_ < kBlockBytes) return;
    compress(pending_.data(), 1);
    pending_used_ = 0;
  }
  const size_t whole = left / kBlockBytes;
  if (whole > 0) compress(p, whole);
  p += whole * kBlockBytes;
  left -= whole * kBlockBytes;
  std::memcpy(pending_.data(), p, left);
  pending_used_ = left;
}

// Padding (5.1.1): a 1 bit, zeros up to 56 bytes into a block, then the length in bits as a
// 64-bit big-endian number.
Sha256Digest Sha256::finish() {
  const uint64_t message_bits = message_bytes_ * 8;
  uint8_t padding[2 * kBlockBytes] = {0x80};
  const size_t padding_bytes = (pending_used_ < 56 ? 56 : 56 + kBlockBytes) - pending_used_;
  update({padding, padding_bytes});
  uint8_t length[8];
  store_big_endian(static_cast<uint32_t>(message_bits >> 32), length);
  store_big_endian(static_cast<uint32_t>(message_bits), length + 4);
  update(length);
  Sha256Digest digest;
  for (int i = 0; i < 8; ++i) store_big_endian(state_[i], digest.data() + 4 * i);
  return digest;
}

Sha256Digest Sha256::of(std::span<const uint8_t> bytes) {
  Sha256 hash;
  hash.update(bytes);
  return hash.finish();
}

}  // namespace vgpu
