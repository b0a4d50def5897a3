#include "vgpud/log/guest_text.h"

namespace vgpud::log {

namespace {

bool kept_as_is(unsigned char c) {
  return c >= 0x20 && c < 0x7f && c != '\\' && c != '\'' && c != '"';
}

}  // namespace

std::string guest_text(std::string_view text, size_t max_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  const bool cut = text.size() > max_bytes;
  if (cut) text = text.substr(0, max_bytes);
  std::string out;
  out.reserve(text.size() + (cut ? 3 : 0));
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (kept_as_is(c)) {
      out.push_back(ch);
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  if (cut) out += "\u2026";
  return out;
}

}  // namespace vgpud::log
