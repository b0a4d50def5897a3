// Making a string a guest sent safe to put in one log line.
//
// Guests choose the bytes of some strings vgpud logs (HELLO's process name, kernel and global
// names). Written as they are, a newline forges whole lines ("I [vgpud/main] vgpud stopped"),
// an ESC drives the terminal of whoever reads the log, and a quote ends the quotation early
// and lets the rest pass for vgpud's own words. guest_text() keeps printable ASCII and writes
// every other byte as \xNN:
//   - control bytes (newline, CR, ESC, ...), DEL and bytes >= 0x80 (so no UTF-8 either: what a
//     guest calls a character is not vgpud's concern, and a log reader sees exact bytes);
//   - backslash, so that every backslash in the result starts an escape and the original
//     bytes can be read back without ambiguity;
//   - ' and ", so that a quoted name cannot close its quotes.
// Only the first max_bytes bytes of the input are kept; "…" (U+2026) follows when some were
// cut. The guest cannot write that mark itself, since its bytes >= 0x80 are escaped.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace vgpud::log {

inline constexpr size_t kGuestTextMaxBytes = 64;

// The result is a plain std::string: pass it as a fmt/spdlog argument, or as a detail string.
// It is at most 4 * max_bytes + 3 bytes long.
std::string guest_text(std::string_view text, size_t max_bytes = kGuestTextMaxBytes);

}  // namespace vgpud::log
