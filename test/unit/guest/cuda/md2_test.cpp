#include "guest/cuda/md2.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

using vgpu::cuda::Md2;
using vgpu::cuda::md2;

namespace {

std::string hex(const Md2::Digest& d) {
  std::string s;
  char byte[3];
  for (uint8_t b : d) {
    std::snprintf(byte, sizeof byte, "%02x", b);
    s += byte;
  }
  return s;
}

std::string one_shot(const std::string& message) {
  return hex(md2(message.data(), message.size()));
}

// The same message fed `chunk` bytes at a time.
std::string streamed(const std::string& message, std::size_t chunk) {
  Md2 h;
  for (std::size_t at = 0; at < message.size(); at += chunk) {
    h.update(message.data() + at, std::min(chunk, message.size() - at));
  }
  return hex(h.finish());
}

// RFC 1319, appendix A.5 ("Test suite").
const std::pair<std::string, std::string> kRfcVectors[] = {
    {"", "8350e5a3e24c153df2275c9f80692773"},
    {"a", "32ec01ec4a6dac72c0ab96fb34c0b5d1"},
    {"abc", "da853b0d3f88d99b30283a69e6ded6bb"},
    {"message digest", "ab4f496bfb2a530b219ff33031fe06b0"},
    {"abcdefghijklmnopqrstuvwxyz", "4e8ddff3650292ab5a4108c3aa47940b"},
    {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
     "da33def2a42df13975352846c30338cd"},
    {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
     "d5976f79d83d3a0dc9806c3c66f3efd8"},
};

}  // namespace

TEST_CASE("md2 gives RFC 1319's digests", "[cuda][md2]") {
  for (const auto& [message, digest] : kRfcVectors) {
    INFO("message \"" << message << "\"");
    CHECK(one_shot(message) == digest);
  }
}

TEST_CASE("md2 gives the same digest however the message is split", "[cuda][md2]") {
  for (const auto& [message, digest] : kRfcVectors) {
    for (std::size_t chunk : {1, 3, 7, 15, 16, 17, 33}) {
      INFO("message \"" << message << "\" in chunks of " << chunk);
      CHECK(streamed(message, chunk) == digest);
    }
  }
  // Empty updates change nothing.
  Md2 h;
  h.update("ab", 2);
  h.update(nullptr, 0);
  h.update("c", 1);
  CHECK(hex(h.finish()) == "da853b0d3f88d99b30283a69e6ded6bb");
}

TEST_CASE("md2 pads a message of whole blocks with a full block", "[cuda][md2]") {
  // 16 and 32 bytes: the padding is a whole block of 16s, unlike 15 or 17 bytes; every length
  // must still give a distinct digest, and the object is ready for a new message after finish.
  Md2 h;
  std::string seen[4];
  const std::size_t lengths[] = {15, 16, 17, 32};
  for (int i = 0; i < 4; ++i) {
    const std::string message(lengths[i], 'x');
    h.update(message.data(), message.size());
    seen[i] = hex(h.finish());
    CHECK(seen[i] == one_shot(message));
  }
  CHECK(seen[0] != seen[1]);
  CHECK(seen[1] != seen[2]);
  CHECK(seen[2] != seen[3]);
  CHECK(hex(h.finish()) == "8350e5a3e24c153df2275c9f80692773");  // nothing since: ""
}
