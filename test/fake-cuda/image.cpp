// fake-cuda (test double, never ships): parser of the fake module image format.
#include "image.h"

#include <charconv>
#include <set>

namespace vgpu::fake {
namespace {

bool fail(std::string* error, std::size_t line_no, std::string_view why) {
  if (error) {
    *error = "line " + std::to_string(line_no) + ": " + std::string(why);
  }
  return false;
}

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

bool parse_size(std::string_view s, std::size_t& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 10);
  return ec == std::errc() && end == s.data() + s.size();
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 4096) return false;
  for (char c : name) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

bool is_pow2(std::size_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Natural alignment: min(size, 8), rounded down to a power of two (alignments are powers of
// two; for the usual sizes 1, 2, 4, 8, 16, ... this is exactly min(size, 8)).
std::size_t default_align(std::size_t size) {
  std::size_t a = size < 8 ? size : 8;
  std::size_t p = 1;
  while (p * 2 <= a) p *= 2;
  return p;
}

bool parse_params(std::string_view list, ImageKernel& k, std::string* error, std::size_t line_no) {
  std::size_t offset = 0;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view item = list.substr(pos, comma - pos);
    ImageParam p;
    std::size_t colon = item.find(':');
    if (!parse_size(item.substr(0, colon), p.size) || p.size == 0) {
      return fail(error, line_no, "bad parameter size '" + std::string(item) + "'");
    }
    if (colon != std::string_view::npos) {
      if (!parse_size(item.substr(colon + 1), p.align) || !is_pow2(p.align) || p.align > 256) {
        return fail(error, line_no, "bad parameter alignment '" + std::string(item) + "'");
      }
    } else {
      p.align = default_align(p.size);
    }
    if (p.size > kMaxImageParamBytes) return fail(error, line_no, "parameter too large");
    offset = (offset + p.align - 1) / p.align * p.align;
    p.offset = offset;
    offset += p.size;
    if (offset > kMaxImageParamBytes) return fail(error, line_no, "parameters exceed 32764 bytes");
    k.params.push_back(p);
    pos = comma + 1;
  }
  k.param_bytes = offset;
  return true;
}

}  // namespace

bool image_has_magic(const char* image) {
  if (image == nullptr) return false;
  for (std::size_t i = 0; i < kImageMagic.size(); ++i) {
    if (image[i] != kImageMagic[i]) return false;  // stops at the NUL as well
  }
  char next = image[kImageMagic.size()];
  return next == '\0' || next == '\n' || next == '\r';
}

std::optional<Image> parse_image(std::string_view text, std::string* error) {
  Image image;
  std::set<std::string, std::less<>> kernel_names;
  std::set<std::string, std::less<>> global_names;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  bool saw_magic = false;
  while (pos < text.size() || !saw_magic) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!saw_magic) {
      if (line != kImageMagic) {
        fail(error, line_no, "image does not start with 'FAKECUBIN 1'");
        return std::nullopt;
      }
      saw_magic = true;
      continue;
    }
    auto words = split_words(line);
    if (words.empty() || words[0].front() == '#') continue;
    if (words[0] == "kernel") {
      if (words.size() < 2 || words.size() > 3 || !valid_name(words[1])) {
        fail(error, line_no, "expected 'kernel <name> [<sizes>]'");
        return std::nullopt;
      }
      ImageKernel k;
      k.name = std::string(words[1]);
      if (words.size() == 3 && !parse_params(words[2], k, error, line_no)) return std::nullopt;
      if (!kernel_names.insert(k.name).second) {
        fail(error, line_no, "duplicate kernel '" + k.name + "'");
        return std::nullopt;
      }
      image.kernels.push_back(std::move(k));
    } else if (words[0] == "global" || words[0] == "managed") {
      ImageGlobal g;
      g.managed = words[0] == "managed";
      if (words.size() != 3 || !valid_name(words[1]) || !parse_size(words[2], g.size) ||
          g.size == 0 || g.size > kMaxImageGlobalBytes) {
        fail(error, line_no, "expected '" + std::string(words[0]) + " <name> <size 1..256MiB>'");
        return std::nullopt;
      }
      g.name = std::string(words[1]);
      if (!global_names.insert(g.name).second) {
        fail(error, line_no, "duplicate global '" + g.name + "'");
        return std::nullopt;
      }
      image.globals.push_back(std::move(g));
    } else {
      fail(error, line_no, "unknown directive '" + std::string(words[0]) + "'");
      return std::nullopt;
    }
  }
  return image;
}

}  // namespace vgpu::fake
