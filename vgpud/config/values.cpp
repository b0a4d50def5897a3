#include "vgpud/config/values.h"

#include <array>
#include <cctype>
#include <charconv>
#include <limits>
#include <sys/un.h>

namespace vgpud::config {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Only plain decimal digits: from_chars alone would also take a leading '-' for signed types and
// stops silently at the first non-digit, so check the whole text first.
bool parse_digits(std::string_view text, int base, uint64_t* value) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!is_digit(c) || c - '0' >= base) return false;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value, base);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

vgpu::Result<uint64_t, std::string> parse_size(std::string_view text) {
  static const std::string kExpected = "expected a size like 64MiB";
  text = trim(text);
  size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits])) ++digits;
  if (digits == 0) return vgpu::Err{kExpected};
  uint64_t number = 0;
  if (!parse_digits(text.substr(0, digits), 10, &number)) return vgpu::Err{std::string("size is too large")};

  std::string_view unit = trim(text.substr(digits));
  struct Unit {
    std::string_view name;
    unsigned shift;
  };
  static constexpr std::array<Unit, 10> kUnits{{
      {"", 0}, {"K", 10}, {"KiB", 10}, {"M", 20}, {"MiB", 20},
      {"G", 30}, {"GiB", 30}, {"T", 40}, {"TiB", 40}, {"B", 0},
  }};
  for (const Unit& candidate : kUnits) {
    if (candidate.name != unit) continue;
    if (number > (std::numeric_limits<uint64_t>::max() >> candidate.shift)) {
      return vgpu::Err{std::string("size is too large")};
    }
    return number << candidate.shift;
  }
  if (unit == "KB" || unit == "MB" || unit == "GB" || unit == "TB" || unit == "kB") {
    std::string binary(1, static_cast<char>(std::toupper(static_cast<unsigned char>(unit[0]))));
    return vgpu::Err{kExpected + " (" + std::string(unit) + " is ambiguous; use " + binary + "iB)"};
  }
  return vgpu::Err{kExpected};
}

vgpu::Result<uint64_t, std::string> parse_uint(std::string_view text, uint64_t min, uint64_t max) {
  std::string expected = "expected an integer from " + std::to_string(min) + " to " + std::to_string(max);
  uint64_t value = 0;
  if (!parse_digits(trim(text), 10, &value) || value < min || value > max) return vgpu::Err{expected};
  return value;
}

vgpu::Result<uint32_t, std::string> parse_mode(std::string_view text) {
  static const std::string kExpected = "expected an octal file mode like \"0660\" (at most 0777)";
  text = trim(text);
  if (text.starts_with("0o") || text.starts_with("0O")) text.remove_prefix(2);
  uint64_t value = 0;
  if (!parse_digits(text, 8, &value) || value > 0777) return vgpu::Err{kExpected};
  return static_cast<uint32_t>(value);
}

vgpu::Result<std::string, std::string> parse_gpu(std::string_view text) {
  static const std::string kExpected =
      "expected a GPU index like 0 or a UUID like \"GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\"";
  text = trim(text);
  uint64_t index = 0;
  if (!text.empty() && is_digit(text[0])) {
    // 1024 is far above any host's GPU count; the bound only keeps the number sane.
    if (!parse_digits(text, 10, &index) || index >= 1024) return vgpu::Err{kExpected};
    return std::to_string(index);
  }
  // GPU-8-4-4-4-12 hex digits.
  static constexpr std::string_view kPrefix = "GPU-";
  static constexpr std::array<size_t, 5> kGroups{8, 4, 4, 4, 12};
  if (!text.starts_with(kPrefix)) return vgpu::Err{kExpected};
  std::string normalized(kPrefix);
  std::string_view rest = text.substr(kPrefix.size());
  for (size_t group = 0; group < kGroups.size(); ++group) {
    if (group > 0) {
      if (rest.empty() || rest[0] != '-') return vgpu::Err{kExpected};
      normalized += '-';
      rest.remove_prefix(1);
    }
    if (rest.size() < kGroups[group]) return vgpu::Err{kExpected};
    for (size_t i = 0; i < kGroups[group]; ++i) {
      if (!is_hex(rest[i])) return vgpu::Err{kExpected};
      normalized += static_cast<char>(std::tolower(static_cast<unsigned char>(rest[i])));
    }
    rest.remove_prefix(kGroups[group]);
  }
  if (!rest.empty()) return vgpu::Err{kExpected};
  return normalized;
}

vgpu::Status<std::string> check_tenant_name(std::string_view name) {
  static const std::string kExpected = "expected 1 to 64 characters from a-z A-Z 0-9 _ . -";
  if (name.empty() || name.size() > 64) return vgpu::Err{kExpected};
  for (char c : name) {
    bool ok = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '.' ||
              c == '-';
    if (!ok) return vgpu::Err{kExpected};
  }
  if (name == "." || name == "..") return vgpu::Err{std::string("\".\" and \"..\" are not tenant names")};
  return {};
}

vgpu::Status<std::string> check_socket_path(std::string_view path) {
  if (path.empty() || path[0] != '/') return vgpu::Err{std::string("expected an absolute path")};
  if (path.find('\0') != std::string_view::npos) return vgpu::Err{std::string("path contains a NUL byte")};
  // sun_path needs room for the terminating NUL.
  constexpr size_t kMax = sizeof(sockaddr_un{}.sun_path) - 1;
  if (path.size() > kMax) {
    return vgpu::Err{"path is longer than " + std::to_string(kMax) + " bytes, the limit for a UNIX socket"};
  }
  return {};
}

}  // namespace vgpud::config
