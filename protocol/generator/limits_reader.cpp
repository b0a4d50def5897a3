// Reads the integer constants of protocol/include/vgpu/protocol/limits.h, so that calls.yaml can
// size arrays and bound checks with them by name. A tiny expression evaluator is enough: the file
// holds plain `inline constexpr uint32_t kName = 32 * 1024;` lines.
#include <algorithm>
#include <cctype>
#include <iterator>
#include <limits>
#include <sstream>

#include "protocol/generator/model.h"

namespace vgpu::callgen {
namespace {

class Evaluator {
 public:
  Evaluator(const std::string& text, const std::map<std::string, int64_t>& known, std::string where)
      : s_(text), known_(known), where_(std::move(where)) {}

  int64_t run() {
    const int64_t v = shift();
    skip_space();
    if (pos_ != s_.size()) fail("unexpected `" + s_.substr(pos_) + "`");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) { throw GenError(where_ + ": " + what + " in `" + s_ + "`"); }
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool eat(const std::string& op) {
    skip_space();
    if (s_.compare(pos_, op.size(), op) != 0) return false;
    pos_ += op.size();
    return true;
  }
  int64_t checked(__int128 v) {
    if (v > std::numeric_limits<int64_t>::max() || v < std::numeric_limits<int64_t>::min())
      fail("value out of range");
    return static_cast<int64_t>(v);
  }
  int64_t shift_count() {
    const int64_t n = sum();
    if (n < 0 || n > 63) fail("shift out of range");
    return n;
  }
  int64_t shift() {
    int64_t v = sum();
    for (;;) {
      if (eat("<<")) v = checked(static_cast<__int128>(v) << shift_count());
      else if (eat(">>")) v = v >> shift_count();
      else return v;
    }
  }
  int64_t sum() {
    int64_t v = product();
    for (;;) {
      if (eat("+")) v = checked(static_cast<__int128>(v) + product());
      else if (eat("-")) v = checked(static_cast<__int128>(v) - product());
      else return v;
    }
  }
  int64_t product() {
    int64_t v = atom();
    for (;;) {
      if (eat("*")) {
        v = checked(static_cast<__int128>(v) * atom());
      } else if (eat("/")) {
        const int64_t d = atom();
        if (d == 0) fail("division by zero");
        v /= d;
      } else {
        return v;
      }
    }
  }
  int64_t atom() {
    skip_space();
    if (eat("(")) {
      const int64_t v = shift();
      if (!eat(")")) fail("missing )");
      return v;
    }
    if (eat("-")) return -atom();
    size_t end = pos_;
    while (end < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[end])) || s_[end] == '_')) ++end;
    std::string word = s_.substr(pos_, end - pos_);
    if (word.empty()) fail("expected a number or a name");
    pos_ = end;
    if (std::isdigit(static_cast<unsigned char>(word[0]))) {
      while (!word.empty() && (word.back() == 'u' || word.back() == 'U' || word.back() == 'l' || word.back() == 'L'))
        word.pop_back();
      size_t used = 0;
      const unsigned long long v = std::stoull(word, &used, 0);
      if (used != word.size() || v > static_cast<unsigned long long>(std::numeric_limits<int64_t>::max()))
        fail("bad number `" + word + "`");
      return static_cast<int64_t>(v);
    }
    auto it = known_.find(word);
    if (it == known_.end()) fail("unknown name `" + word + "`");
    return it->second;
  }

  std::string s_;
  const std::map<std::string, int64_t>& known_;
  std::string where_;
  size_t pos_ = 0;
};

}  // namespace

int64_t evaluate_limit_expression(const std::string& expr, const std::map<std::string, int64_t>& known,
                                  const std::string& where) {
  return Evaluator(expr, known, where).run();
}

std::map<std::string, int64_t> read_limits(const std::string& text, const std::string& path) {
  // `inline constexpr <integer type> kName = <expr>;` (std::regex would do, but trips GCC 12's
  // -Wmaybe-uninitialized under the sanitizers).
  static const std::string types[] = {"uint8_t", "uint16_t", "uint32_t", "uint64_t", "int32_t", "int64_t", "size_t"};
  std::map<std::string, int64_t> out;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::istringstream words(line);
    std::string inline_word, constexpr_word, type, name, equals;
    words >> inline_word >> constexpr_word >> type >> name >> equals;
    if (inline_word != "inline" || constexpr_word != "constexpr" || equals != "=" || name.size() < 2 ||
        name[0] != 'k' || std::find(std::begin(types), std::end(types), type) == std::end(types))
      continue;
    std::string expr;
    std::getline(words, expr);
    const size_t semicolon = expr.find(';');
    if (semicolon == std::string::npos) throw GenError(path + ":" + std::to_string(number) + ": expected `;`");
    out[name] = evaluate_limit_expression(expr.substr(0, semicolon), out, path + ":" + std::to_string(number));
  }
  if (out.empty()) throw GenError(path + ":1: no `inline constexpr` constants found");
  return out;
}

}  // namespace vgpu::callgen
