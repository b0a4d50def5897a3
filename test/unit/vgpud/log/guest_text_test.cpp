#include <catch2/catch.hpp>

#include <string>

#include "vgpud/log/guest_text.h"

using vgpud::log::guest_text;
using namespace std::string_literals;

TEST_CASE("guest_text keeps printable ASCII as it is", "[log][guest_text]") {
  CHECK(guest_text("") == "");
  CHECK(guest_text("vector_add") == "vector_add");
  CHECK(guest_text("python3 train.py --lr=0.1 [gpu 0] {x}") == "python3 train.py --lr=0.1 [gpu 0] {x}");
}

TEST_CASE("guest_text escapes what could forge a line or drive a terminal", "[log][guest_text]") {
  // A newline would start a line that passes for vgpud's own.
  CHECK(guest_text("x\nI [vgpud/main] vgpud stopped") == R"(x\x0aI [vgpud/main] vgpud stopped)");
  CHECK(guest_text("a\rb") == R"(a\x0db)");
  CHECK(guest_text("\x1b[2J\x1b[31mred") == R"(\x1b[2J\x1b[31mred)");
  CHECK(guest_text("tab\there") == R"(tab\x09here)");
  CHECK(guest_text("a\0b"s) == R"(a\x00b)");
  CHECK(guest_text("\x7f") == R"(\x7f)");
}

TEST_CASE("guest_text escapes backslashes and quotes, so the result reads back unambiguously",
          "[log][guest_text]") {
  // A literal "\x0a" from the guest must not read as an escaped newline.
  CHECK(guest_text(R"(\x0a)") == R"(\x5cx0a)");
  // A name in quotes cannot close them and append words of its own.
  CHECK(guest_text("x' (claimed pid 1) attached") == R"(x\x27 (claimed pid 1) attached)");
  CHECK(guest_text("say \"hi\"") == R"(say \x22hi\x22)");
}

TEST_CASE("guest_text escapes every byte of 0x80 and above, UTF-8 included", "[log][guest_text]") {
  CHECK(guest_text("\xff\x80") == R"(\xff\x80)");
  CHECK(guest_text("caf\xc3\xa9") == R"(caf\xc3\xa9)");
  // C1 controls such as U+009B (CSI), which some terminals act on.
  CHECK(guest_text("\xc2\x9b" "31m") == R"(\xc2\x9b31m)");
  // Every byte value comes out as printable ASCII.
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  const std::string out = guest_text(all, all.size());
  for (char c : out) {
    CHECK(static_cast<unsigned char>(c) >= 0x20);
    CHECK(static_cast<unsigned char>(c) < 0x7f);
  }
}

TEST_CASE("guest_text keeps at most max_bytes of its input and marks the cut",
          "[log][guest_text]") {
  const std::string long_name(1000, 'k');
  CHECK(guest_text(long_name) == std::string(vgpud::log::kGuestTextMaxBytes, 'k') + "\u2026");
  CHECK(guest_text(std::string(64, 'k')) == std::string(64, 'k'));  // exactly the cap: no mark
  CHECK(guest_text("abcdef", 3) == "abc\u2026");
  // The cap counts input bytes: escapes make the output longer, never unbounded.
  const std::string newlines(1000, '\n');
  const std::string out = guest_text(newlines);
  CHECK(out.size() == 4 * vgpud::log::kGuestTextMaxBytes + std::string("\u2026").size());
  CHECK(out.rfind(R"(\x0a\x0a)", 0) == 0);
}
