// SHA-256 against the standard test vectors (FIPS 180-4's examples and NIST's one million
// 'a'), the padding's edge lengths, and messages fed in pieces.
#include "vgpu/common/sha256.h"

#include "common/src/sha256_blocks.h"

#include <time.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

using vgpu::Sha256;

namespace {

std::string hex(const vgpu::Sha256Digest& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : digest) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

std::span<const uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::string digest_of(std::string_view text) { return hex(Sha256::of(bytes_of(text))); }

}  // namespace

TEST_CASE("SHA-256 of the standard test vectors", "[common][sha256]") {
  CHECK(digest_of("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(digest_of("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // 448 bits: the padding needs a block of its own.
  CHECK(digest_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(digest_of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
                  "klmnopqrlmnopqrs"
                  "mnopqrstnopqrstu") ==
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  CHECK(digest_of(std::string(1'000'000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("SHA-256 where the padding changes blocks", "[common][sha256]") {
  // 55 bytes leave room for the length in the last block, 56 do not; 64 fill one exactly.
  CHECK(digest_of(std::string(55, 'a')) ==
        "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  CHECK(digest_of(std::string(56, 'a')) ==
        "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  CHECK(digest_of(std::string(63, 'a')) ==
        "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34");
  CHECK(digest_of(std::string(64, 'a')) ==
        "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST_CASE("SHA-256 of a message fed in pieces is that of the whole", "[common][sha256]") {
  std::vector<uint8_t> message(1000);
  for (size_t i = 0; i < message.size(); ++i) message[i] = static_cast<uint8_t>(i * 7 + 3);
  const auto whole = Sha256::of(message);
  for (size_t piece : {1, 3, 63, 64, 65, 200, 999}) {
    Sha256 hash;
    for (size_t at = 0; at < message.size(); at += piece)
      hash.update(std::span(message).subspan(at, std::min(piece, message.size() - at)));
    CHECK(hash.finish() == whole);
  }
}

TEST_CASE("SHA-256's two compression functions agree", "[common][sha256]") {
  namespace detail = vgpu::sha256_detail;
  if (!detail::has_sha_extensions()) {
    WARN("this CPU has no SHA extensions: only the portable code ran");
    return;
  }
  std::vector<uint8_t> blocks(64 * 37);
  uint32_t x = 12345;
  for (uint8_t& b : blocks) {  // xorshift: every bit pattern, not a repeated byte
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<uint8_t>(x);
  }
  for (size_t count : {1, 2, 5, 37}) {
    uint32_t portable[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                            0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    uint32_t extensions[8];
    std::copy(std::begin(portable), std::end(portable), extensions);
    detail::compress_portable(portable, blocks.data(), count);
    detail::compress_sha_extensions(extensions, blocks.data(), count);
    CHECK(std::equal(std::begin(portable), std::end(portable), extensions));
  }
}

// Not run by default: `vgpu_unit_tests "[.sha256-speed]"` prints the rate on 64 MiB, by the
// wall clock and by this thread's CPU time (which a busy machine does not inflate).
TEST_CASE("SHA-256 speed on 64 MiB", "[.sha256-speed]") {
  std::vector<uint8_t> buffer(64 << 20, 0x5a);
  timespec cpu_start{}, cpu_end{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_start);
  const auto start = std::chrono::steady_clock::now();
  const auto digest = Sha256::of(buffer);
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_end);
  const double cpu =
      (cpu_end.tv_sec - cpu_start.tv_sec) + (cpu_end.tv_nsec - cpu_start.tv_nsec) / 1e9;
  std::printf("SHA-256 of 64 MiB: %.3f s wall (%.0f MB/s), %.3f s CPU (%.0f MB/s) [%02x...]\n",
              wall.count(), buffer.size() / wall.count() / 1e6, cpu, buffer.size() / cpu / 1e6,
              digest[0]);
  CHECK(cpu > 0);
}
